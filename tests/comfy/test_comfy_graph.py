"""The graph compiler (comfy.graph): core-node graphs → the A1111 body a1111 builds the job from;
graphs the jobs cannot paint refused with ComfyUI's error shapes, naming the node and the input."""

from __future__ import annotations

import base64
import copy
import io
import json

import pytest
from PIL import Image

from comfy.graph import GraphError, Library, compile_graph
from testkit import comfy_workflows as workflows


def no_uploads(name: str) -> bytes:
    raise LookupError(name)


def refused(graph, load=no_uploads, library: Library | None = None) -> dict:
    with pytest.raises(GraphError) as caught:
        compile_graph(graph, load, library)
    return caught.value.answer()


def rgba(alpha: int = 255, hole: bool = False) -> bytes:
    picture = Image.new("RGBA", (32, 32), (10, 200, 30, alpha))
    if hole:
        picture.paste((0, 0, 0, 0), (8, 8, 16, 16))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def test_open_webuis_default_workflow_is_a_txt2img_body():
    compiled = compile_graph(workflows.OPEN_WEBUI_DEFAULT, no_uploads)
    assert compiled.body == {
        "override_settings": {"sd_model_checkpoint": "model.safetensors"},
        "prompt": "Prompt",
        "negative_prompt": "",
        "seed": 0,
        "steps": 20,
        "cfg_scale": 8.0,
        "sampler_name": "Euler",
        "scheduler": "normal",
        "width": 512,
        "height": 512,
        "batch_size": 1,
    }
    assert not compiled.img2img and compiled.outputs == ["9"] and compiled.sampler == "3"


def test_sillytavern_placeholders_arrive_as_numbers_and_big_seeds_wrap():
    body = json.loads(workflows.sillytavern(seed=2**53 - 1, steps=4, scale=6.5, sampler="dpmpp_2m", scheduler="karras", model="m",
                                            width=64, height=96, prompt="p", negative_prompt="n"))  # fmt: skip
    compiled = compile_graph(body["prompt"], no_uploads)
    assert compiled.body["seed"] == (2**53 - 1) % 2**32
    assert (compiled.body["sampler_name"], compiled.body["scheduler"], compiled.body["height"]) == ("DPM++ 2M", "karras", 96)


def test_numbers_sent_as_text_are_read_and_nonsense_names_its_node():
    graph = copy.deepcopy(workflows.OPEN_WEBUI_DEFAULT)
    graph["3"]["inputs"]["steps"] = "12"
    assert compile_graph(graph, no_uploads).body["steps"] == 12
    graph["3"]["inputs"]["steps"] = "many"
    answer = refused(graph)
    assert answer["error"]["type"] == "prompt_outputs_failed_validation"
    assert answer["node_errors"]["3"]["class_type"] == "KSampler"
    assert answer["node_errors"]["3"]["errors"][0]["extra_info"]["input_name"] == "steps"
    assert answer["node_errors"]["3"]["dependent_outputs"] == ["9"]
    graph["3"]["inputs"].update(steps=20, sampler_name="res_multistep")
    assert "Value not in list" in refused(graph)["node_errors"]["3"]["errors"][0]["message"]


def test_unknown_class_missing_class_and_no_output_are_comfyuis_errors():
    answer = refused({**workflows.OPEN_WEBUI_DEFAULT, "50": {"class_type": "SwarmKSampler", "inputs": {}}})
    assert answer == {
        "error": {"type": "invalid_prompt", "message": "Cannot execute because node SwarmKSampler does not exist.",
                  "details": "Node ID '#50'", "extra_info": {}},
        "node_errors": {},
    }  # fmt: skip
    assert refused({"1": {"inputs": {}}})["error"]["message"] == "Cannot execute because a node is missing the class_type property."
    graph = {key: value for key, value in workflows.OPEN_WEBUI_DEFAULT.items() if key != "9"}
    assert refused(graph)["error"]["type"] == "prompt_no_outputs"


def test_lora_clip_skip_vae_and_sdxl_text():
    graph = copy.deepcopy(workflows.OPEN_WEBUI_DEFAULT)
    graph["20"] = {"class_type": "LoraLoader", "inputs": {"model": ["4", 0], "clip": ["4", 1], "lora_name": "petals",
                                                          "strength_model": 0.6, "strength_clip": 0.6}}  # fmt: skip
    graph["21"] = {"class_type": "CLIPSetLastLayer", "inputs": {"clip": ["20", 1], "stop_at_clip_layer": -2}}
    graph["22"] = {"class_type": "VAELoader", "inputs": {"vae_name": "sharp-vae"}}
    graph["6"] = {"class_type": "CLIPTextEncodeSDXL", "inputs": {"clip": ["21", 0], "text_g": "moss", "text_l": "moss", "width": 1024,
                  "height": 1024, "crop_w": 0, "crop_h": 0, "target_width": 1024, "target_height": 1024}}  # fmt: skip
    graph["7"]["inputs"]["clip"] = ["21", 0]
    graph["3"]["inputs"]["model"] = ["20", 0]
    graph["8"]["inputs"]["vae"] = ["22", 0]
    body = compile_graph(graph, no_uploads).body
    assert body["prompt"] == "moss <lora:petals:0.6>"
    assert body["override_settings"] == {"sd_model_checkpoint": "model.safetensors", "CLIP_stop_at_last_layers": 2, "sd_vae": "sharp-vae"}
    graph["20"]["inputs"]["strength_clip"] = 1.0
    assert refused(graph)["node_errors"]["20"]["errors"][0]["extra_info"]["input_name"] == "strength_clip"


def test_hires_is_a_latent_upscale_between_two_samplers():
    graph = copy.deepcopy(workflows.OPEN_WEBUI_DEFAULT)
    graph["30"] = {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["3", 0], "upscale_method": "nearest-exact", "scale_by": 2.0}}
    graph["31"] = {"class_type": "KSampler", "inputs": {**graph["3"]["inputs"], "latent_image": ["30", 0], "steps": 10, "denoise": 0.5}}
    graph["8"]["inputs"]["samples"] = ["31", 0]
    body = compile_graph(graph, no_uploads).body
    assert body["enable_hr"] and body["hr_scale"] == 2.0 and body["hr_upscaler"] == "Latent (nearest-exact)"
    assert (body["steps"], body["hr_second_pass_steps"], body["denoising_strength"], body["width"]) == (20, 10, 0.5, 512)


def test_swarm_step_window_is_a_denoising_strength_and_a_refiner_split_is_refused():
    graph = workflows.swarm_img2img(image="in.png", model="m", steps=10, start=3)
    compiled = compile_graph(graph, lambda name: rgba())
    assert compiled.img2img and compiled.body["denoising_strength"] == 0.7
    assert base64.b64decode(compiled.body["init_images"][0]) == rgba() and compiled.body["width"] == 32
    graph["3"]["inputs"]["end_at_step"] = 6
    assert refused(graph, lambda name: rgba())["node_errors"]["3"]["errors"][0]["extra_info"]["input_name"] == "end_at_step"
    assert refused(workflows.swarm_img2img(image="missing.png", model="m"))["node_errors"]["10"]["class_type"] == "LoadImage"


def test_inpaint_takes_the_mask_from_transparency():
    graph = workflows.swarm_img2img(image="in.png", model="m")
    graph["12"] = {"class_type": "SetLatentNoiseMask", "inputs": {"samples": ["11", 0], "mask": ["10", 1]}}
    graph["3"]["inputs"]["latent_image"] = ["12", 0]
    body = compile_graph(graph, lambda name: rgba(hole=True)).body
    mask = Image.open(io.BytesIO(base64.b64decode(body["mask"])))
    assert mask.getpixel((10, 10)) == 255 and mask.getpixel((0, 0)) == 0 and body["inpainting_fill"] == 1
    answer = refused(graph, lambda name: rgba())  # nothing transparent: nothing to repaint
    assert "mask is empty" in answer["node_errors"]["10"]["errors"][0]["message"]


def test_an_upscale_of_the_finished_picture_is_refused_naming_its_node():
    graph = copy.deepcopy(workflows.OPEN_WEBUI_DEFAULT)
    graph["40"] = {"class_type": "ImageScale", "inputs": {"image": ["8", 0], "upscale_method": "lanczos", "width": 1024, "height": 1024,
                                                          "crop": "disabled"}}  # fmt: skip
    graph["9"]["inputs"]["images"] = ["40", 0]
    error = refused(graph)["node_errors"]["40"]
    assert error["class_type"] == "ImageScale" and error["errors"][0]["type"] == "custom_validation_failed"
    assert "hires fix" in error["errors"][0]["message"]
    graph["41"] = {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "tiny-x2"}}
    graph["42"] = {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["41", 0], "image": ["8", 0]}}
    graph["9"]["inputs"]["images"] = ["42", 0]
    assert refused(graph)["node_errors"]["42"]["errors"][0]["extra_info"]["input_name"] == "upscale_model"


LIBRARY = Library(upscalers=lambda: {"tiny-x2": 2}, controlnets=lambda: ["lines [lineart]"])


def test_swarms_refiner_upscale_with_a_model_is_the_hires_fix_with_that_upscaler():
    graph = workflows.swarm_upscale(model="m", method="model-tiny-x2", steps=4, control=0.5, upscale=2.0)
    body = compile_graph(graph, no_uploads, LIBRARY).body
    assert (body["enable_hr"], body["hr_upscaler"], body["hr_resize_x"], body["hr_resize_y"]) == (True, "tiny-x2", 128, 128)
    # The refiner window runs steps 2..4 of 4: denoising 0.5, two steps run; the first pass's settings are the job's.
    assert (body["denoising_strength"], body["hr_second_pass_steps"], body["steps"], body["seed"], body["width"]) == (0.5, 2, 4, 7, 64)
    graph["27"]["inputs"]["model_name"] = "4x-NoSuch"
    error = refused(graph, lambda name: b"")["node_errors"]["27"]
    assert error["class_type"] == "UpscaleModelLoader"
    assert error["errors"][0] == {
        "type": "value_not_in_list", "message": "Value not in list", "details": "model_name: '4x-NoSuch' not in []",
        "extra_info": {"input_name": "model_name", "input_config": None, "received_value": "4x-NoSuch"},
    }  # fmt: skip


def test_pixel_upscales_between_the_passes_take_the_workers_resamplers():
    graph = workflows.swarm_upscale(model="m", method="pixel-lanczos", upscale=1.5)
    body = compile_graph(graph, no_uploads).body
    assert (body["hr_upscaler"], body["hr_resize_x"], body["hr_resize_y"]) == ("Lanczos", 96, 96)
    graph["26"] = {"class_type": "ImageScaleBy", "inputs": {"image": ["24", 0], "upscale_method": "nearest-exact", "scale_by": 2.0}}
    body = compile_graph(graph, no_uploads).body
    assert (body["hr_upscaler"], body["hr_scale"]) == ("Nearest", 2.0) and "hr_resize_x" not in body
    graph["26"]["inputs"]["upscale_method"] = "bicubic"
    assert refused(graph)["node_errors"]["26"]["errors"][0]["extra_info"]["input_name"] == "upscale_method"
    graph["26"]["inputs"].update(upscale_method="lanczos", scale_by=1.0)
    assert "not enlarged" in refused(graph)["node_errors"]["26"]["errors"][0]["message"]
    # The model alone: its own scale.
    graph["27"] = {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "tiny-x2"}}
    graph["26"] = {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["27", 0], "image": ["24", 0]}}
    body = compile_graph(graph, no_uploads, LIBRARY).body
    assert (body["hr_upscaler"], body["hr_scale"]) == ("tiny-x2", 2)


def test_a_resize_by_before_img2img_sets_its_size():
    graph = workflows.swarm_img2img(image="in.png", model="m")
    graph["12"] = {"class_type": "ImageScaleBy", "inputs": {"image": ["10", 0], "upscale_method": "lanczos", "scale_by": 1.5}}
    graph["11"]["inputs"]["pixels"] = ["12", 0]
    body = compile_graph(graph, lambda name: rgba()).body
    assert (body["width"], body["height"]) == (48, 48)


def test_controlnet_is_an_a1111_unit_with_its_hint_picture():
    graph = workflows.with_controlnet(workflows.OPEN_WEBUI_DEFAULT, model="lines [lineart]", image="edges.png")
    compiled = compile_graph(graph, lambda name: rgba(), LIBRARY)
    (unit,) = compiled.body["alwayson_scripts"]["ControlNet"]["args"]
    assert compiled.retouch and not compiled.img2img
    assert base64.b64decode(unit.pop("input_image")) == rgba()
    assert unit == {"module": "none", "model": "lines [lineart]", "weight": 0.8, "guidance_start": 0.0, "guidance_end": 0.9}
    assert compiled.body["prompt"] == "Prompt"  # the prompts read through the apply node
    assert compiled.node_error("alwayson_scripts.ControlNet.args[0].input_image", "bad", graph).node_errors["61"]
    # Not a configured ControlNet: ComfyUI's value_not_in_list on the loader.
    graph["60"]["inputs"]["control_net_name"] = "control_v11p_sd15_openpose.pth"
    error = refused(graph, lambda name: rgba(), LIBRARY)["node_errors"]["60"]
    assert error["class_type"] == "ControlNetLoader" and error["errors"][0]["type"] == "value_not_in_list"
    assert "control_net_name: 'control_v11p_sd15_openpose.pth' not in ['lines [lineart]']" in error["errors"][0]["details"]


def test_the_older_controlnet_apply_and_a_strength_of_zero():
    graph = workflows.with_controlnet(workflows.OPEN_WEBUI_DEFAULT, model="lines [lineart]", image="edges.png", strength=0)
    assert "alwayson_scripts" not in compile_graph(graph, lambda name: rgba(), LIBRARY).body  # ComfyUI: unchanged conditioning
    graph["62"] = {"class_type": "ControlNetApply", "inputs": {"conditioning": ["6", 0], "control_net": ["60", 0], "image": ["61", 0],
                                                               "strength": 1.5}}  # fmt: skip
    graph["3"]["inputs"].update(positive=["62", 0], negative=["7", 0])
    (unit,) = compile_graph(graph, lambda name: rgba(), LIBRARY).body["alwayson_scripts"]["ControlNet"]["args"]
    assert (unit["weight"], unit["guidance_start"], unit["guidance_end"]) == (1.5, 0.0, 1.0)


def test_an_upscale_only_graph_compiles_onto_the_upscale_kind():
    upload = rgba()
    graph = workflows.swarm_upscale_only(image="photo.png", method="model-tiny-x2", upscale=2.0)
    compiled = compile_graph(graph, lambda name: upload, LIBRARY)
    assert compiled.upscale and not compiled.retouch and compiled.sampler == "26"
    assert {name: compiled.body[name] for name in ("upscaler", "width", "height")} == {"upscaler": "tiny-x2", "width": 128, "height": 128}
    assert compiled.body["image"] == upload and compiled.fields["upscaler"] == ("27", "model_name")
    del graph["26"]  # the model's own scale
    graph["9"]["inputs"]["images"] = ["28", 0]
    assert compile_graph(graph, lambda name: upload, LIBRARY).body["scale"] == 2
    graph = workflows.swarm_upscale_only(image="photo.png", method="pixel-nearest-exact")
    graph["26"] = {"class_type": "ImageScaleBy", "inputs": {"image": ["15", 0], "upscale_method": "nearest-exact", "scale_by": 1.5}}
    body = compile_graph(graph, lambda name: upload).body
    assert (body["upscaler"], body["scale"]) == ("Nearest", 1.5)


def test_an_upscale_only_graph_the_kind_cannot_take_is_refused_naming_the_node():
    graph = workflows.swarm_upscale_only(image="photo.png", method="model-tiny-x2")
    graph["29"] = {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["27", 0], "image": ["28", 0]}}
    graph["26"]["inputs"]["image"] = ["29", 0]  # two model upscales
    error = refused(graph, lambda name: rgba(), LIBRARY)["node_errors"]["29"]
    assert error["class_type"] == "ImageUpscaleWithModel" and "one model upscale" in error["errors"][0]["message"]
    graph = workflows.swarm_upscale_only(image="photo.png", method="pixel-bicubic")
    assert refused(graph, lambda name: rgba())["node_errors"]["26"]["errors"][0]["extra_info"]["input_name"] == "upscale_method"
    graph = workflows.swarm_upscale_only(image="photo.png", method="pixel-lanczos")
    graph["26"]["inputs"]["crop"] = "center"
    assert refused(graph, lambda name: rgba())["node_errors"]["26"]["errors"][0]["extra_info"]["input_name"] == "crop"
