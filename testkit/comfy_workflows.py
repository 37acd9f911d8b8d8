"""The clients' default workflows, exactly as their sources build them (docs/comfyui.md#clients).

- Open WebUI: ``backend/open_webui/config.py`` ``COMFYUI_DEFAULT_WORKFLOW`` (@ 02530d5; the same 7
  nodes in every version read), sent as it is when the admin maps no node (the stored map is ``[]``);
  the admin page's default map rewrites prompt → ``text``, model → ``ckpt_name``, width, height,
  steps and seed (``Images.svelte`` ``requiredWorkflowNodes``).
- SillyTavern: ``default/content/Default_Comfy_Workflow.json`` (1.19.0's has the same 7 nodes and
  placeholders), each ``"%name%"`` replaced by the JSON of its value (``stable-diffusion.js``), posted
  as a text body ``{"prompt": …}`` with no ``client_id``.
- SwarmUI's core fallback (``WorkflowGenerator.cs`` @ 062407c): KSamplerAdvanced with a step window,
  LoraLoader, CLIPSetLastLayer, VAEEncode from an uploaded LoadImage.
"""

from __future__ import annotations

import copy
import json

OPEN_WEBUI_DEFAULT = {
    "3": {
        "inputs": {
            "seed": 0,
            "steps": 20,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
        "class_type": "KSampler",
        "_meta": {"title": "KSampler"},
    },
    "4": {"inputs": {"ckpt_name": "model.safetensors"}, "class_type": "CheckpointLoaderSimple", "_meta": {"title": "Load Checkpoint"}},
    "5": {
        "inputs": {"width": 512, "height": 512, "batch_size": 1},
        "class_type": "EmptyLatentImage",
        "_meta": {"title": "Empty Latent Image"},
    },
    "6": {"inputs": {"text": "Prompt", "clip": ["4", 1]}, "class_type": "CLIPTextEncode", "_meta": {"title": "CLIP Text Encode (Prompt)"}},
    "7": {"inputs": {"text": "", "clip": ["4", 1]}, "class_type": "CLIPTextEncode", "_meta": {"title": "CLIP Text Encode (Prompt)"}},
    "8": {"inputs": {"samples": ["3", 0], "vae": ["4", 2]}, "class_type": "VAEDecode", "_meta": {"title": "VAE Decode"}},
    "9": {"inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}, "class_type": "SaveImage", "_meta": {"title": "Save Image"}},
}

SILLYTAVERN_DEFAULT = """{
    "3": {"class_type": "KSampler", "inputs": {"cfg": "%scale%", "denoise": 1, "latent_image": ["5", 0], "model": ["4", 0],
          "negative": ["7", 0], "positive": ["6", 0], "sampler_name": "%sampler%", "scheduler": "%scheduler%",
          "seed": "%seed%", "steps": "%steps%"}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "%model%"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"batch_size": 1, "height": "%height%", "width": "%width%"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["4", 1], "text": "%prompt%"}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["4", 1], "text": "%negative_prompt%"}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "SillyTavern", "images": ["8", 0]}}
}"""


def open_webui(*, prompt: str, model: str, width: int, height: int, steps: int, seed: int) -> dict:
    """Open WebUI's default workflow with the admin page's default node map applied."""
    graph = copy.deepcopy(OPEN_WEBUI_DEFAULT)
    graph["6"]["inputs"]["text"] = prompt
    graph["4"]["inputs"]["ckpt_name"] = model
    graph["5"]["inputs"].update(width=width, height=height)
    graph["3"]["inputs"].update(steps=steps, seed=seed)
    return graph


def sillytavern(**values) -> str:
    """SillyTavern's text body: its workflow's placeholders replaced by their values' JSON."""
    workflow = SILLYTAVERN_DEFAULT
    for name, value in values.items():
        workflow = workflow.replace(f'"%{name}%"', json.dumps(value))
    return json.dumps({"prompt": json.loads(workflow)})


def swarm_img2img(*, image: str, model: str, lora: str | None = None, steps: int = 4, start: int = 2) -> dict:
    """SwarmUI's core img2img: KSamplerAdvanced starting late over VAEEncode(LoadImage), CLIP skip 2, a LoRA."""
    model_link, clip_link = ["4", 0], ["4", 1]
    graph: dict = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": model}},
        "10": {"class_type": "LoadImage", "inputs": {"image": image}},
        "11": {"class_type": "VAEEncode", "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}},
    }
    if lora:
        graph["20"] = {"class_type": "LoraLoader", "inputs": {"model": model_link, "clip": clip_link, "lora_name": lora,
                                                              "strength_model": 0.5, "strength_clip": 0.5}}  # fmt: skip
        model_link, clip_link = ["20", 0], ["20", 1]
    graph["21"] = {"class_type": "CLIPSetLastLayer", "inputs": {"clip": clip_link, "stop_at_clip_layer": -2}}
    graph["6"] = {"class_type": "CLIPTextEncode", "inputs": {"text": "a red flower", "clip": ["21", 0]}}
    graph["7"] = {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["21", 0]}}
    graph["3"] = {
        "class_type": "KSamplerAdvanced",
        "inputs": {
            "model": model_link, "add_noise": "enable", "noise_seed": 7, "steps": steps, "cfg": 7.0, "sampler_name": "euler",
            "scheduler": "normal", "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["11", 0],
            "start_at_step": start, "end_at_step": 10000, "return_with_leftover_noise": "disable", "control_after_generate": "fixed",
        },
    }  # fmt: skip
    graph["8"] = {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}
    graph["9"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "SwarmUI", "images": ["8", 0]}}
    return graph


def swarm_upscale(*, model: str, method: str = "pixel-lanczos", steps: int = 4, control: float = 0.5, upscale: float = 2.0,
                  width: int = 64, height: int = 64) -> dict:  # fmt: skip
    """SwarmUI's core txt2img with "Refiner Upscale" (``WorkflowGeneratorSteps.cs`` @ 062407c, the
    refiner step, method PostApply): the base KSamplerAdvanced (10) in full, VAEDecode (24), then
    ``pixel-<method>``: ImageScale (26), or ``model-<name>``: UpscaleModelLoader (27) +
    ImageUpscaleWithModel (28) + ImageScale lanczos (26) to the size; VAEEncode (25) and the refiner
    KSamplerAdvanced (23) from ``round(steps × (1 − control))`` with seed + 1; VAEDecode (8), SaveImage (9).
    The size is ``round(side × upscale)`` floored to a multiple of 16, as Swarm computes it."""
    sized = {"width": round(width * upscale) // 16 * 16, "height": round(height * upscale) // 16 * 16, "crop": "disabled"}

    def sampler(latent: list, seed: int, start: int) -> dict:
        return {"class_type": "KSamplerAdvanced", "inputs": {
            "model": ["4", 0], "add_noise": "enable", "noise_seed": seed, "steps": steps, "cfg": 7.0, "sampler_name": "euler",
            "scheduler": "normal", "positive": ["6", 0], "negative": ["7", 0], "latent_image": latent, "start_at_step": start,
            "end_at_step": 10000, "return_with_leftover_noise": "disable", "control_after_generate": "fixed"}}  # fmt: skip

    graph: dict = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": model}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": width, "height": height, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red flower", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "10": sampler(["5", 0], 7, 0),
        "24": {"class_type": "VAEDecode", "inputs": {"samples": ["10", 0], "vae": ["4", 2]}},
    }
    if method.startswith("pixel-"):
        graph["26"] = {"class_type": "ImageScale", "inputs": {"image": ["24", 0], "upscale_method": method.removeprefix("pixel-"), **sized}}
    else:
        graph["27"] = {"class_type": "UpscaleModelLoader", "inputs": {"model_name": method.removeprefix("model-")}}
        graph["28"] = {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["27", 0], "image": ["24", 0]}}
        graph["26"] = {"class_type": "ImageScale", "inputs": {"image": ["28", 0], "upscale_method": "lanczos", **sized}}
    graph["25"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["26", 0], "vae": ["4", 2]}}
    graph["23"] = sampler(["25", 0], 8, round(steps * (1 - control)))
    graph["8"] = {"class_type": "VAEDecode", "inputs": {"samples": ["23", 0], "vae": ["4", 2]}}
    graph["9"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "SwarmUI", "images": ["8", 0]}}
    return graph


def swarm_upscale_only(*, image: str, method: str = "pixel-lanczos", upscale: float = 2.0, width: int = 64, height: int = 64) -> dict:
    """SwarmUI's upscale step with Refiner Control 0 (``WorkflowGeneratorSteps.cs`` @ 062407c: no
    refiner sampler, ``FinalImageOut`` the upscaled picture) on an uploaded picture (Swarm's node 15,
    Image Load) in place of the decoded painting: ``pixel-<method>``: ImageScale (26), or
    ``model-<name>``: UpscaleModelLoader (27) + ImageUpscaleWithModel (28) + ImageScale lanczos (26),
    to ``round(side × upscale)`` floored to a multiple of 16; SaveImage (9)."""
    sized = {"width": round(width * upscale) // 16 * 16, "height": round(height * upscale) // 16 * 16, "crop": "disabled"}
    graph: dict = {"15": {"class_type": "LoadImage", "inputs": {"image": image}}}
    if method.startswith("pixel-"):
        graph["26"] = {"class_type": "ImageScale", "inputs": {"image": ["15", 0], "upscale_method": method.removeprefix("pixel-"), **sized}}
    else:
        graph["27"] = {"class_type": "UpscaleModelLoader", "inputs": {"model_name": method.removeprefix("model-")}}
        graph["28"] = {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["27", 0], "image": ["15", 0]}}
        graph["26"] = {"class_type": "ImageScale", "inputs": {"image": ["28", 0], "upscale_method": "lanczos", **sized}}
    graph["9"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "SwarmUI", "images": ["26", 0]}}
    return graph


def with_controlnet(graph: dict, *, model: str, image: str, strength: float = 0.8, sampler: str = "3") -> dict:
    """ComfyUI's core ControlNet (``nodes.py`` ControlNetLoader, ControlNetApplyAdvanced), as SwarmUI's
    core fallback wires it (``WorkflowGeneratorSteps.cs`` @ 062407c, nodes ControlNetLoader and
    ControlNetApplyAdvanced over the prompts): the hint picture a LoadImage of an upload."""
    graph = copy.deepcopy(graph)
    inputs = graph[sampler]["inputs"]
    graph["60"] = {"class_type": "ControlNetLoader", "inputs": {"control_net_name": model}}
    graph["61"] = {"class_type": "LoadImage", "inputs": {"image": image}}
    graph["62"] = {"class_type": "ControlNetApplyAdvanced", "inputs": {
        "positive": inputs["positive"], "negative": inputs["negative"], "control_net": ["60", 0], "image": ["61", 0],
        "strength": strength, "start_percent": 0.0, "end_percent": 0.9}}  # fmt: skip
    inputs.update(positive=["62", 0], negative=["62", 1])
    return graph


def with_swarm_preprocessor(graph: dict, object_info: dict, preprocessor: str, *, width: int, height: int) -> dict:
    """SwarmUI's ControlNet preprocessor step (``WorkflowGenerator.cs`` ``CreatePreprocessor`` and
    ``WorkflowGeneratorSteps.cs`` @ 062407c) on a ``with_controlnet`` graph: the node built from the
    door's own ``/object_info`` entry (``image`` linked, ``resolution`` the painting's side rounded to
    64, every other input its declared default), then ``ResizeImageMaskNode`` to a multiple of 8,
    lanczos, into the apply node's ``image``."""
    graph = copy.deepcopy(graph)
    inputs: dict = {"image": ["61", 0]}
    declared = object_info[preprocessor]["input"]
    for name, spec in {**declared["required"], **declared.get("optional", {})}.items():
        if name == "resolution":
            inputs[name] = round((width * height) ** 0.5 / 64) * 64
        elif len(spec) == 2 and isinstance(spec[1], dict) and "default" in spec[1]:
            inputs[name] = spec[1]["default"]
    graph["63"] = {"class_type": preprocessor, "inputs": inputs}
    graph["64"] = {"class_type": "ResizeImageMaskNode", "inputs": {
        "input": ["63", 0], "resize_type": "scale to multiple", "resize_type.multiple": 8, "scale_method": "lanczos"}}  # fmt: skip
    graph["62"]["inputs"]["image"] = ["64", 0]
    return graph
