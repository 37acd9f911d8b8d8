"""The graph compiler (comfy.graph): core-node graphs → the A1111 body a1111 builds the job from;
graphs the jobs cannot paint refused with ComfyUI's error shapes, naming the node and the input."""

from __future__ import annotations

import base64
import copy
import io
import json

import pytest
from PIL import Image

from comfy.graph import GraphError, compile_graph
from tests.comfy import workflows


def no_uploads(name: str) -> bytes:
    raise LookupError(name)


def refused(graph, load=no_uploads) -> dict:
    with pytest.raises(GraphError) as caught:
        compile_graph(graph, load)
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


def test_an_upscale_after_decoding_is_refused_naming_its_node():
    graph = copy.deepcopy(workflows.OPEN_WEBUI_DEFAULT)
    graph["40"] = {"class_type": "ImageScale", "inputs": {"image": ["8", 0], "upscale_method": "lanczos", "width": 1024, "height": 1024,
                                                          "crop": "disabled"}}  # fmt: skip
    graph["9"]["inputs"]["images"] = ["40", 0]
    answer = refused(graph)
    assert answer["node_errors"]["9"]["errors"][0]["type"] == "return_type_mismatch"
