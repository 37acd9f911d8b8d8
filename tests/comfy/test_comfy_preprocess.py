"""ControlNet preprocessor nodes (comfy.preprocess): each one's edge map is the project's detector
(retouch.edges) at the node's thresholds and resolution, handed to the unit as its finished map;
SwarmUI's preprocessor step (built from the door's own /object_info) compiles; what is not mapped
is refused naming the node."""

from __future__ import annotations

import base64
import io

import numpy
import pytest
from PIL import Image, ImageDraw, ImageFilter

from comfy.graph import GraphError, Library, compile_graph
from comfy.selectors import object_info
from retouch import edges
from testkit import comfy_workflows as workflows

LIBRARY = Library(controlnets=lambda: ["lines [lineart]", "edges [canny]"])


def photo(size=(48, 32)) -> bytes:
    """A picture with edges in both directions and a diagonal (where L1 and L2 gradients differ)."""
    picture = Image.new("RGB", size, (30, 60, 90))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((8, 6, 30, 24), fill=(230, 210, 40))
    draw.line((0, 31, 47, 0), fill=(250, 250, 250), width=2)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def opened() -> Image.Image:
    return Image.open(io.BytesIO(photo())).convert("RGB")


def preprocessed(class_type: str, **inputs) -> tuple[dict, dict]:
    """(the graph, its one ControlNet unit) with ``class_type`` between the upload and the apply node."""
    graph = workflows.with_controlnet(workflows.OPEN_WEBUI_DEFAULT, model="edges [canny]", image="photo.png")
    graph["63"] = {"class_type": class_type, "inputs": {"image": ["61", 0], **inputs}}
    graph["62"]["inputs"]["image"] = ["63", 0]
    return graph, compile_graph(graph, lambda name: photo(), LIBRARY).body["alwayson_scripts"]["ControlNet"]["args"][0]


def edge_map(unit: dict) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(unit["input_image"])))


def drawn(picture: Image.Image) -> float:
    """The share of the map's pixels that are lines (not black)."""
    return float((numpy.asarray(picture.convert("L")) > 0).mean())


def same(first: Image.Image, second: Image.Image) -> bool:
    return first.size == second.size and first.convert("L").tobytes() == second.convert("L").tobytes()


def test_controlnet_aux_canny_is_the_projects_canny_at_its_thresholds_and_resolution():
    _, unit = preprocessed("CannyEdgePreprocessor", low_threshold=40, high_threshold=120, resolution=64)
    assert unit["module"] == "none" and unit["model"] == "edges [canny]"
    # controlnet_aux scales the shorter side to ``resolution`` and answers the map at that size.
    expected = edges.canny(edges.scaled_for_detection(opened(), 64), low=40, high=120)
    assert edge_map(unit).size == (96, 64) and same(edge_map(unit), expected)
    assert 0 < drawn(edge_map(unit)) < 0.5
    # OpenCV links with the smaller threshold whichever input holds it: so does the door.
    assert same(edge_map(preprocessed("CannyEdgePreprocessor", low_threshold=120, high_threshold=40, resolution=64)[1]), expected)


def test_comfyuis_core_canny_blurs_as_kornia_and_scales_its_thresholds():
    _, unit = preprocessed("Canny", low_threshold=0.2, high_threshold=0.5)
    blurred = opened().convert("L").filter(ImageFilter.GaussianBlur(1.0))
    assert same(edge_map(unit), edges.canny(blurred, low=0.2 * 255, high=0.5 * 255))
    assert edge_map(unit).size == (48, 32) and 0 < drawn(edge_map(unit)) < 0.5  # no resolution: the picture's own size
    with pytest.raises(GraphError) as caught:
        preprocessed("Canny", low_threshold=0.6, high_threshold=0.3)
    (error,) = caught.value.node_errors["63"]["errors"]
    assert caught.value.node_errors["63"]["class_type"] == "Canny" and error["extra_info"]["input_name"] == "high_threshold"


def test_the_lineart_preprocessors_are_the_standard_lineart():
    _, unit = preprocessed("LineartStandardPreprocessor", guassian_sigma=3.0, intensity_threshold=4, resolution=64)
    expected = edges.lineart_standard(edges.scaled_for_detection(opened(), 64), sigma=3.0, threshold=4)
    assert same(edge_map(unit), expected) and 0 < drawn(expected) < 1
    # The learned ones (realistic, coarse, anime) are painted with the standard lineart, as the A1111 API's modules are.
    standard = edges.lineart_standard(edges.scaled_for_detection(opened(), 128))
    for class_type, inputs in (("LineArtPreprocessor", {"coarse": "enable"}), ("AnimeLineArtPreprocessor", {})):
        assert same(edge_map(preprocessed(class_type, resolution=128, **inputs)[1]), standard), class_type


def test_swarmuis_preprocessor_step_from_the_doors_object_info_compiles(db):
    info = object_info()
    # SwarmUI lists as preprocessors the nodes in "image/preprocessors" or named "*Preprocessor" (ComfyUIBackendExtension.cs).
    listed = sorted(name for name, node in info.items() if node["category"] == "image/preprocessors" or name.endswith("Preprocessor"))
    assert listed == ["AnimeLineArtPreprocessor", "Canny", "CannyEdgePreprocessor", "LineArtPreprocessor", "LineartStandardPreprocessor"]
    resolution = info["CannyEdgePreprocessor"]["input"]["optional"]["resolution"]
    assert resolution == ["INT", {"default": 512, "min": 64, "max": 16384, "step": 64}]
    graph = workflows.with_controlnet(workflows.OPEN_WEBUI_DEFAULT, model="edges [canny]", image="photo.png")
    for preprocessor in listed:
        swarm = workflows.with_swarm_preprocessor(graph, info, preprocessor, width=512, height=512)
        (unit,) = compile_graph(swarm, lambda name: photo(), LIBRARY).body["alwayson_scripts"]["ControlNet"]["args"]
        assert min(edge_map(unit).size) == (32 if preprocessor == "Canny" else 512), preprocessor


def test_preprocessors_not_mapped_and_misplaced_ones_are_refused_naming_the_node():
    graph = workflows.with_controlnet(workflows.OPEN_WEBUI_DEFAULT, model="edges [canny]", image="photo.png")
    graph["63"] = {"class_type": "DepthAnythingV2Preprocessor", "inputs": {"image": ["61", 0], "resolution": 512}}
    graph["62"]["inputs"]["image"] = ["63", 0]
    with pytest.raises(GraphError) as caught:
        compile_graph(graph, lambda name: photo(), LIBRARY)
    assert caught.value.error["type"] == "invalid_prompt"
    assert caught.value.error["message"] == "Cannot execute because node DepthAnythingV2Preprocessor does not exist."
    # The map is made from an upload when the prompt is queued: a resized one is not taken (named at the preprocessor).
    graph["65"] = {"class_type": "ImageScale", "inputs": {"image": ["61", 0], "upscale_method": "lanczos", "width": 64, "height": 64,
                                                          "crop": "disabled"}}  # fmt: skip
    graph["63"] = {"class_type": "CannyEdgePreprocessor", "inputs": {"image": ["65", 0]}}
    with pytest.raises(GraphError) as caught:
        compile_graph(graph, lambda name: photo(), LIBRARY)
    assert caught.value.node_errors["63"]["errors"][0]["type"] == "return_type_mismatch"
    # SwarmUI's resize after the preprocessor is taken only as "scale to multiple".
    info = {"CannyEdgePreprocessor": {"input": {"required": {"image": ["IMAGE"]}, "optional": {"resolution": ["INT", {"default": 512}]}}}}
    graph = workflows.with_controlnet(workflows.OPEN_WEBUI_DEFAULT, model="edges [canny]", image="photo.png")
    graph = workflows.with_swarm_preprocessor(graph, info, "CannyEdgePreprocessor", width=64, height=64)
    graph["64"]["inputs"]["resize_type"] = "scale by multiplier"
    with pytest.raises(GraphError) as caught:
        compile_graph(graph, lambda name: photo(), LIBRARY)
    assert caught.value.node_errors["64"]["errors"][0]["extra_info"]["input_name"] == "resize_type"
