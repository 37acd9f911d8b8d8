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
