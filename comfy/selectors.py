"""The door's reads, in ComfyUI's shapes: ``/object_info``, ``/history``, ``/queue``, ``/view``,
``/system_stats``. Nothing answered names a server path or a host: models by their library names,
pictures by ComfyUI-style file names that only the caller's own prompts resolve."""

from __future__ import annotations

import platform
import re
from pathlib import PurePath

from a1111 import catalog, quarantine
from comfy import nodes
from comfy.models import ComfyPrompt
from garden.models import Image
from generation.models import GenerationJob
from library import selectors as library

VERSION = "0.3.60"  # the ComfyUI API this door follows (docs/comfyui.md)
FILE_NAME = re.compile(r"^ComfyUI_(\d{5,})_(\d{2,})_\.(png|jpg|jpeg|webp)$")
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


def upscalers() -> dict[str, int]:
    """The library's upscalers by name, each with its scale (4 when its scan read none, as A1111 answers)."""
    return {entry.name: (entry.details or {}).get("scale") or 4 for entry in library.upscalers()}


def controlnets() -> list[str]:
    """The configured ControlNets as the A1111 API lists them (``"<name> [lineart]"``: the kind picks the detector)."""
    return catalog.controlnet_models()


def _choices() -> dict[tuple[str, str], list[str]]:
    """The library's names for each choice input the library fills."""
    checkpoints = [model["model_name"] for model in catalog.sd_models()]
    vaes = [vae["model_name"] for vae in catalog.sd_vaes()]
    loras = [lora["name"] for lora in catalog.loras()]
    return {
        ("CheckpointLoaderSimple", "ckpt_name"): checkpoints,
        ("VAELoader", "vae_name"): vaes,
        ("LoraLoader", "lora_name"): loras,
        ("LoraLoaderModelOnly", "lora_name"): loras,
        ("UpscaleModelLoader", "model_name"): list(upscalers()),
        ("ControlNetLoader", "control_net_name"): controlnets(),
        ("LoadImage", "image"): [],
        ("LoadImageMask", "image"): [],
    }


def object_info(class_type: str | None = None) -> dict:
    """ComfyUI's node declarations, the library's names in its choice lists."""
    choices = _choices()
    answer = {}
    for name, node in nodes.NODES.items():
        if class_type is not None and name != class_type:
            continue
        required = {}
        for input_name, spec in node["required"].items():
            if spec[0] == nodes.LIBRARY:
                spec = [choices.get((name, input_name), []), *spec[1:]]
            required[input_name] = spec
        answer[name] = {
            "input": {"required": required, "optional": node.get("optional", {}), "hidden": {}},
            "input_order": {"required": list(required), **({"optional": list(node["optional"])} if node.get("optional") else {})},
            "output": node["output"],
            "output_is_list": [False] * len(node["output"]),
            "output_name": node["output_name"],
            "name": name,
            "display_name": name,
            "description": "",
            "python_module": node.get("python_module", "nodes"),
            "category": node["category"],
            "output_node": node["output_node"],
        }
    return answer


def system_stats(queue_workers: list[dict]) -> dict:
    """ComfyUI's ``/system_stats``: this door's versions and the GPU workers' devices (by name, no host)."""
    devices = [
        {"name": worker.get("device") or "cuda", "type": "cuda", "index": index, "vram_total": worker.get("vram_total", 0),
         "vram_free": worker.get("vram_free", 0), "torch_vram_total": 0, "torch_vram_free": 0}
        for index, worker in enumerate(queue_workers)
    ]  # fmt: skip
    system = {
        "os": "posix",
        "ram_total": 0,
        "ram_free": 0,
        "comfyui_version": VERSION,
        "python_version": platform.python_version(),
        "pytorch_version": "",
        "embedded_python": False,
        "argv": ["main.py"],
    }
    return {"system": system, "devices": devices}


def _file_name(prompt: ComfyPrompt, index: int, key: str) -> str:
    extension = PurePath(key).suffix.lstrip(".").lower() or "png"
    return f"ComfyUI_{prompt.number:05}_{index:02}_.{extension}"


def _status(prompt: ComfyPrompt, job: GenerationJob) -> dict:
    stamp = int(job.finished_at.timestamp() * 1000) if job.finished_at else 0
    started = {"prompt_id": prompt.prompt_id, "timestamp": stamp}
    messages = [["execution_start", started], ["execution_cached", {"nodes": [], **started}]]
    if job.status == GenerationJob.Status.SUCCEEDED:
        messages.append(["execution_success", started])
        return {"status_str": "success", "completed": True, "messages": messages}
    if job.status == GenerationJob.Status.CANCELLED:
        messages.append(["execution_interrupted", {**started, "node_id": "", "node_type": "", "executed": []}])
    else:
        messages.append(["execution_error", error_event(prompt, job)])
    return {"status_str": "error", "completed": False, "messages": messages}


def error_event(prompt: ComfyPrompt, job: GenerationJob, node_id: str = "") -> dict:
    return {
        "prompt_id": prompt.prompt_id,
        "node_id": node_id,
        "node_type": prompt.graph.get(node_id, {}).get("class_type", "") if node_id else "",
        "executed": [],
        "exception_message": job.error or job.status,
        "exception_type": "JobFailed",
        "traceback": [],
        "current_inputs": {},
        "current_outputs": {},
    }


def entry(prompt: ComfyPrompt, job: GenerationJob, keys: list[str]) -> dict:
    """One history entry (ComfyUI's ``PromptQueue.task_done``): the prompt, its outputs, its status."""
    images = [{"filename": _file_name(prompt, index, key), "subfolder": "", "type": "output"} for index, key in enumerate(keys)]
    outputs = {node_id: {"images": images} for node_id in prompt.outputs} if images else {}
    return {
        "prompt": [prompt.number, prompt.prompt_id, prompt.graph, prompt.extra_data, prompt.outputs],
        "outputs": outputs,
        "status": _status(prompt, job),
        "meta": {
            node_id: {"node_id": node_id, "display_node": node_id, "parent_node": None, "real_node_id": node_id} for node_id in outputs
        },
    }


def history(identity: str, *, prompt_id: str | None = None, max_items: int | None = None) -> dict:
    """The caller's finished prompts, oldest first (ComfyUI's order), two queries in all."""
    found = (
        ComfyPrompt.objects.filter(identity=identity, forgotten=False, job__in=GenerationJob.objects.finished())
        .select_related("job")
        .only("number", "prompt_id", "graph", "extra_data", "outputs", "job__status", "job__error", "job__finished_at")
        .order_by("-number")
    )
    if prompt_id is not None:
        found = found.filter(prompt_id=prompt_id)
    prompts = list(found[:max_items] if max_items else found)
    keys: dict = {}
    through = GenerationJob.images.through.objects.filter(generationjob_id__in=[prompt.job_id for prompt in prompts])
    for job_id, key in through.order_by("image_id").values_list("generationjob_id", "image__key"):
        keys.setdefault(job_id, []).append(key)
    return {prompt.prompt_id: entry(prompt, prompt.job, keys.get(prompt.job_id, [])) for prompt in reversed(prompts)}


def _item(prompt: ComfyPrompt) -> list:
    return [prompt.number, prompt.prompt_id, prompt.graph, prompt.extra_data, prompt.outputs]


def queue(identity: str) -> dict:
    """The caller's running and pending prompts, as ComfyUI's ``/queue`` lists them."""
    active = ComfyPrompt.objects.filter(identity=identity, job__in=GenerationJob.objects.in_flight())
    active = list(active.select_related("job").order_by("number"))
    running = [_item(prompt) for prompt in active if prompt.job.status == GenerationJob.Status.RUNNING]
    pending = [_item(prompt) for prompt in active if prompt.job.status == GenerationJob.Status.QUEUED]
    return {"queue_running": running, "queue_pending": pending}


def queue_remaining(identity: str) -> int:
    return ComfyPrompt.objects.filter(identity=identity, job__in=GenerationJob.objects.in_flight()).count()


def picture(identity: str, filename: str) -> tuple[bytes, str] | None:
    """``/view``: one of the caller's pictures (blurred when the image check flagged it) and its type; None: not the caller's."""
    match = FILE_NAME.match(filename or "")
    if match is None:
        return None
    prompt = ComfyPrompt.objects.filter(identity=identity, number=int(match.group(1))).select_related("job").first()
    if prompt is None:
        return None
    images: list[Image] = list(prompt.job.images.order_by("pk"))  # history's order
    index = int(match.group(2))
    if index >= len(images):
        return None
    image = images[index]
    if _file_name(prompt, index, image.key) != filename:
        return None
    contents, _ = quarantine.answer_pictures([image])
    return contents[0], CONTENT_TYPES[match.group(3)]
