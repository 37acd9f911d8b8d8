"""An API-format ComfyUI graph → the A1111 body the a1111 app already turns into a job.

ComfyUI runs any graph of nodes; the venue runs jobs. So a graph is read backwards from its output
node (``SaveImage``/``PreviewImage``) the way its core nodes connect, and what it asks for becomes
the A1111 fields a1111.txt2img and a1111.parsing read (prompts, sampler, model, LoRA tags, CLIP
skip, VAE, hires, denoising, mask): one validation, one job builder for both APIs. ``fields`` keeps,
for each A1111 field, the node input it came from, so a 400 names the node as ComfyUI does.

A graph that does not fit (an unknown class, a shape the jobs cannot paint) raises GraphError with
ComfyUI's own error body (``execution.py`` ``validate_prompt``).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image as PILImage

from comfy import nodes

SEED_SPACE = 2**32  # ComfyUI seeds are 64-bit; the venue's are 32-bit (same seed in, same picture out)
SAMPLERS = {"KSampler", "KSamplerAdvanced"}
UPSCALE_METHODS = {"nearest-exact": "Nearest", "lanczos": "Lanczos"}  # ComfyUI's → A1111's (pixel resampling)
LATENT_METHODS = {
    "nearest-exact": "Latent (nearest-exact)",
    "bilinear": "Latent",
    "area": "Latent (antialiased)",
    "bicubic": "Latent (bicubic)",
    "bislerp": "Latent",
}


class GraphError(Exception):
    """ComfyUI's 400: ``{error: {type, message, details, extra_info}, node_errors}``."""

    def __init__(self, error: dict, node_errors: dict | None = None) -> None:
        super().__init__(error["message"])
        self.error, self.node_errors = error, node_errors or {}

    def answer(self) -> dict:
        return {"error": self.error, "node_errors": self.node_errors}


def _error(kind: str, message: str, details: str = "", extra: dict | None = None) -> dict:
    return {"type": kind, "message": message, "details": details, "extra_info": extra or {}}


@dataclass
class Compiled:
    """What a graph asks for: ``img2img`` (a retouch job) or not, the A1111 body, and where each field came from."""

    body: dict
    img2img: bool
    outputs: list[str]  # the output nodes' ids
    sampler: str  # the (last) sampler node's id: progress events name it
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)  # A1111 field → (node id, input name)

    def node_error(self, a1111_field: str, message: str, graph: dict) -> GraphError:
        """A JobParameterError's field as ComfyUI's node error on the input it came from."""
        node_id, name = self.fields.get(a1111_field) or self.fields.get(a1111_field.split(".")[0]) or (self.sampler, a1111_field)
        return _node_error(graph, node_id, name, message, self.outputs)


def _node_error(graph: dict, node_id: str, name: str, message: str, outputs: list[str], kind: str = "value_not_valid") -> GraphError:
    class_type = graph.get(node_id, {}).get("class_type", "")
    detail = {"type": kind, "message": message, "details": f"{name}: {message}", "extra_info": {"input_name": name}}
    node_errors = {node_id: {"errors": [detail], "dependent_outputs": outputs, "class_type": class_type}}
    return GraphError(_error("prompt_outputs_failed_validation", "Prompt outputs failed validation"), node_errors)


class _Reader:
    """Walks one graph: links, inputs, and errors that name their node."""

    def __init__(self, graph: dict, load_image: Callable[[str], bytes]) -> None:
        self.graph, self.load_image = graph, load_image
        self.outputs: list[str] = []
        self.fields: dict[str, tuple[str, str]] = {}
        self.used: list[str] = []

    def fail(self, node_id: str, name: str, message: str, kind: str = "value_not_valid") -> GraphError:
        return _node_error(self.graph, node_id, name, message, self.outputs, kind)

    def node(self, node_id: str) -> dict:
        if node_id not in self.used:
            self.used.append(node_id)
        return self.graph[node_id]

    def source(self, node_id: str, name: str, *classes: str) -> tuple[str, int, str]:
        """(the linked node's id, its output index, its class) for input ``name``, one of ``classes``."""
        value = self.node(node_id)["inputs"].get(name)
        if value is None:
            raise self.fail(node_id, name, "Required input is missing", "required_input_missing")
        if not (isinstance(value, list) and len(value) == 2 and str(value[0]) in self.graph and isinstance(value[1], int)):
            raise self.fail(node_id, name, "Expected a link [node id, output index]", "bad_linked_input")
        linked = str(value[0])
        class_type = self.graph[linked]["class_type"]
        if class_type not in classes:
            shown = ", ".join(classes)
            raise self.fail(node_id, name, f"{class_type} cannot feed {name} here (the venue's jobs take {shown})", "return_type_mismatch")
        self.node(linked)
        return linked, value[1], class_type

    def value(self, node_id: str, name: str, field_name: str | None = None):
        """An input's own value (its declared default when left out); ``field_name``: the A1111 field it fills."""
        inputs = self.node(node_id)["inputs"]
        class_type = self.graph[node_id]["class_type"]
        spec = nodes.input_spec(class_type, name)
        value = inputs.get(name, spec[1].get("default") if len(spec) > 1 else None)
        if value is None:
            raise self.fail(node_id, name, "Required input is missing", "required_input_missing")
        if isinstance(value, list):
            raise self.fail(node_id, name, "This input takes a value here, not a link", "bad_linked_input")
        value = nodes.checked(spec, value, lambda message: self.fail(node_id, name, message))
        if field_name:
            self.fields[field_name] = (node_id, name)
        return value


def check(graph) -> list[str]:
    """ComfyUI's first checks (every node's class exists; some output): the output nodes' ids."""
    if not isinstance(graph, dict):
        raise GraphError(_error("invalid_prompt", "Cannot execute because the prompt is not an object of nodes."))
    for node_id, node in graph.items():
        if not isinstance(node, dict) or "class_type" not in node:
            raise GraphError(
                _error("invalid_prompt", "Cannot execute because a node is missing the class_type property.", f"Node ID '#{node_id}'")
            )
        if node["class_type"] not in nodes.NODES:
            message = f"Cannot execute because node {node['class_type']} does not exist."
            raise GraphError(_error("invalid_prompt", message, f"Node ID '#{node_id}'"))
        if not isinstance(node.get("inputs", {}), dict):
            raise GraphError(_error("invalid_prompt", "Cannot execute because a node's inputs are not an object.", f"Node ID '#{node_id}'"))
        node.setdefault("inputs", {})
    outputs = [node_id for node_id, node in graph.items() if nodes.NODES[node["class_type"]].get("output_node")]
    if not outputs:
        raise GraphError(_error("prompt_no_outputs", "Prompt has no outputs"))
    return outputs


def compile_graph(graph, load_image: Callable[[str], bytes]) -> Compiled:
    """The graph's job as an A1111 body. ``load_image``: the caller's uploaded picture by its name
    (LoadImage's ``image``), raising LookupError when there is none."""
    reader = _Reader(graph, load_image)
    reader.outputs = check(graph)
    sources = set()
    for output in reader.outputs:
        sources.add(tuple(graph[output]["inputs"].get("images") or ()))
    if len(sources) != 1:
        raise reader.fail(reader.outputs[-1], "images", "Every output must save the same pictures here (one job per prompt)")
    body: dict = {"override_settings": {}}
    decoder, _, _ = reader.source(reader.outputs[0], "images", "VAEDecode")
    for output in reader.outputs[1:]:
        reader.node(output)
    sampler = _decoded(reader, decoder, body)
    return Compiled(body=body, img2img="init_images" in body, outputs=reader.outputs, sampler=sampler, fields=reader.fields)


def _decoded(reader: _Reader, decoder: str, body: dict) -> str:
    """VAEDecode(samples ← a sampler, vae): the sampler's job; its id."""
    sampler, _, _ = reader.source(decoder, "samples", *SAMPLERS)
    vae, index, class_type = reader.source(decoder, "vae", "CheckpointLoaderSimple", "VAELoader")
    if class_type == "VAELoader":
        body["override_settings"]["sd_vae"] = reader.value(vae, "vae_name", "override_settings.sd_vae")
    elif index != 2:
        raise reader.fail(decoder, "vae", "Link the checkpoint's VAE output (2)")
    _sampled(reader, sampler, body, final=True)
    return sampler


def _sampled(reader: _Reader, sampler: str, body: dict, *, final: bool) -> None:
    """A KSampler or KSamplerAdvanced: its settings, its conditioning and model, then its latent."""
    class_type = reader.graph[sampler]["class_type"]
    seed_name = "noise_seed" if class_type == "KSamplerAdvanced" else "seed"
    steps = reader.value(sampler, "steps", "steps")
    settings = {
        "seed": reader.value(sampler, seed_name, "seed") % SEED_SPACE,
        "steps": steps,
        "cfg_scale": reader.value(sampler, "cfg", "cfg_scale"),
        "sampler_name": nodes.SAMPLER_NAMES[reader.value(sampler, "sampler_name", "sampler_name")],
        "scheduler": reader.value(sampler, "scheduler", "scheduler"),
    }
    denoise = _denoise(reader, sampler, class_type, steps)
    positive = _text(reader, sampler, "positive")
    negative = _text(reader, sampler, "negative")
    latent, _, latent_class = reader.source(
        sampler,
        "latent_image",
        "EmptyLatentImage",
        "VAEEncode",
        "VAEEncodeForInpaint",
        "SetLatentNoiseMask",
        "LatentUpscaleBy",
        "LatentUpscale",
    )
    if latent_class in ("LatentUpscaleBy", "LatentUpscale"):  # hires: this sampler is the second pass
        if not final:
            raise reader.fail(sampler, "latent_image", "One hires pass is supported")
        _hires(reader, sampler, latent, latent_class, body, steps, denoise)
        return
    _model(reader, sampler, body, positive, negative)
    body.update(settings)
    if latent_class == "EmptyLatentImage":
        if denoise < 1:
            raise reader.fail(sampler, "denoise", "An empty latent is painted at full denoise (1.0); use VAEEncode for img2img")
        body["width"] = reader.value(latent, "width", "width")
        body["height"] = reader.value(latent, "height", "height")
        body["batch_size"] = reader.value(latent, "batch_size", "batch_size")
        return
    body["denoising_strength"] = denoise
    reader.fields["denoising_strength"] = (sampler, "denoise")
    _source(reader, latent, latent_class, body)


def _denoise(reader: _Reader, sampler: str, class_type: str, steps: int) -> float:
    if class_type == "KSampler":
        return reader.value(sampler, "denoise", "denoising_strength")
    # KSamplerAdvanced's step window: SwarmUI starts img2img late (start_at_step) and ends at ``steps``.
    start = reader.value(sampler, "start_at_step")
    end = reader.value(sampler, "end_at_step")
    if end < steps:
        raise reader.fail(sampler, "end_at_step", "A window that stops before the last step (a refiner's split) is not supported here")
    if reader.value(sampler, "add_noise") != "enable":
        raise reader.fail(sampler, "add_noise", "Sampling without added noise is not supported here")
    if start >= steps:
        raise reader.fail(sampler, "start_at_step", "start_at_step must be below steps")
    return (steps - start) / steps


def _text(reader: _Reader, sampler: str, name: str) -> tuple[str, str]:
    """(the prompt, the CLIP link's node id) of a conditioning input."""
    encoder, _, class_type = reader.source(sampler, name, "CLIPTextEncode", "CLIPTextEncodeSDXL")
    field_name = "prompt" if name == "positive" else "negative_prompt"
    if class_type == "CLIPTextEncode":
        text = reader.value(encoder, "text", field_name)
    else:  # SDXL's two encoders: the venue's pipelines take one prompt for both
        text = reader.value(encoder, "text_g", field_name)
        other = reader.value(encoder, "text_l")
        if other.strip() and other.strip() != text.strip():
            raise reader.fail(encoder, "text_l", "text_l must be empty or the same as text_g here (one prompt for both encoders)")
    clip, _, _ = reader.source(encoder, "clip", "CheckpointLoaderSimple", "LoraLoader", "CLIPSetLastLayer")
    return text, clip


def _model(reader: _Reader, sampler: str, body: dict, positive: tuple[str, str], negative: tuple[str, str]) -> None:
    """The model chain (LoRAs over a checkpoint) and the CLIP chain (CLIP skip over the same)."""
    node, _, class_type = reader.source(sampler, "model", "CheckpointLoaderSimple", "LoraLoader", "LoraLoaderModelOnly")
    tags = []
    while class_type != "CheckpointLoaderSimple":
        weight = reader.value(node, "strength_model")
        if class_type == "LoraLoader" and reader.value(node, "strength_clip") != weight:
            raise reader.fail(node, "strength_clip", "strength_clip must equal strength_model here (one weight per LoRA)")
        tags.append(f"<lora:{reader.value(node, 'lora_name', 'prompt')}:{weight:g}>")
        node, _, class_type = reader.source(node, "model", "CheckpointLoaderSimple", "LoraLoader", "LoraLoaderModelOnly")
    checkpoint = node
    body["override_settings"]["sd_model_checkpoint"] = reader.value(checkpoint, "ckpt_name", "override_settings.sd_model_checkpoint")
    for (text, clip), field_name in ((positive, "prompt"), (negative, "negative_prompt")):
        skip = _clip_skip(reader, clip, checkpoint)
        if skip is not None:
            body["override_settings"]["CLIP_stop_at_last_layers"] = skip
        body[field_name] = text
    body["prompt"] = " ".join([body["prompt"], *reversed(tags)]).strip()


def _clip_skip(reader: _Reader, clip: str, checkpoint: str) -> int | None:
    skip = None
    while True:
        class_type = reader.graph[clip]["class_type"]
        if class_type == "CheckpointLoaderSimple":
            if clip != checkpoint:
                raise reader.fail(clip, "ckpt_name", "The text encoders must come from the sampler's checkpoint")
            return skip
        if class_type == "CLIPSetLastLayer":
            skip = -reader.value(clip, "stop_at_clip_layer", "override_settings.CLIP_stop_at_last_layers")
        clip, _, _ = reader.source(clip, "clip", "CheckpointLoaderSimple", "LoraLoader", "CLIPSetLastLayer")


def _hires(reader: _Reader, second: str, latent: str, latent_class: str, body: dict, steps: int, denoise: float) -> None:
    """Hires fix: a first sampler, its latent upscaled, a second sampler (the settings are the first's)."""
    first, _, _ = reader.source(latent, "samples", *SAMPLERS)
    _sampled(reader, first, body, final=False)
    if "init_images" in body:
        raise reader.fail(first, "latent_image", "The hires fix starts from an empty latent here")
    method = reader.value(latent, "upscale_method")
    body.update(enable_hr=True, hr_upscaler=LATENT_METHODS[method], hr_second_pass_steps=steps, denoising_strength=denoise)
    reader.fields.update(
        hr_upscaler=(latent, "upscale_method"), denoising_strength=(second, "denoise"), hr_second_pass_steps=(second, "steps")
    )
    if latent_class == "LatentUpscaleBy":
        body["hr_scale"] = reader.value(latent, "scale_by", "hr_scale")
    else:
        body["hr_resize_x"] = reader.value(latent, "width", "hr_resize_x")
        body["hr_resize_y"] = reader.value(latent, "height", "hr_resize_y")


def _source(reader: _Reader, latent: str, latent_class: str, body: dict) -> None:
    """img2img and inpaint: the picture (and mask) a latent was encoded from."""
    if latent_class == "SetLatentNoiseMask":  # the original under the mask, noised
        mask = reader.source(latent, "mask", "LoadImage", "LoadImageMask")
        latent, _, _ = reader.source(latent, "samples", "VAEEncode")
        body["inpainting_fill"] = 1
    elif latent_class == "VAEEncodeForInpaint":  # the masked area greyed before encoding
        mask = reader.source(latent, "mask", "LoadImage", "LoadImageMask")
        body["inpainting_fill"] = 0
        body["mask_blur"] = min(64, reader.value(latent, "grow_mask_by"))
    else:
        mask = None
    picture, _, class_type = reader.source(latent, "pixels", "LoadImage", "ImageScale")
    if class_type == "ImageScale":  # the source resized first: img2img's own size
        body["width"] = reader.value(picture, "width", "width")
        body["height"] = reader.value(picture, "height", "height")
        if reader.value(picture, "crop") == "center":
            body["resize_mode"] = 1
        picture, _, _ = reader.source(picture, "image", "LoadImage")
    content = _picture(reader, picture)
    body["init_images"] = [base64.b64encode(content).decode()]
    body.setdefault("width", 0)
    if not body["width"]:
        with PILImage.open(io.BytesIO(content)) as opened:
            body["width"], body["height"] = opened.size
    body["inpaint_full_res"] = False
    if mask is not None:
        body["mask"] = base64.b64encode(_mask(reader, *mask)).decode()
        reader.fields["mask"] = (mask[0], "image")


def _picture(reader: _Reader, node_id: str) -> bytes:
    name = reader.value(node_id, "image", "init_images")
    try:
        return reader.load_image(name)
    except LookupError:
        raise reader.fail(
            node_id, "image", f"Invalid image file: {name} (upload it first: POST /upload/image)", "custom_validation_failed"
        ) from None


def _mask(reader: _Reader, node_id: str, index: int, class_type: str) -> bytes:
    """A1111's mask (white repaints) from LoadImage's MASK output (1: where the picture is
    transparent, as ComfyUI reads it) or LoadImageMask's channel."""
    content = _picture(reader, node_id)
    channel = reader.value(node_id, "channel") if class_type == "LoadImageMask" else "alpha"
    if class_type == "LoadImage" and index != 1:
        raise reader.fail(node_id, "image", "Link LoadImage's MASK output (1) as the mask")
    with PILImage.open(io.BytesIO(content)) as opened:
        rgba = opened.convert("RGBA")
    band = rgba.getchannel({"red": "R", "green": "G", "blue": "B", "alpha": "A"}[channel])
    # ComfyUI: a mask from alpha is 1 - alpha; from a colour channel the channel itself.
    mask = band.point(lambda v: 255 - v) if channel == "alpha" else band
    if mask.getbbox() is None:
        raise reader.fail(node_id, "image", "The mask is empty: nothing to repaint (transparent pixels mark the area)")
    buffer = io.BytesIO()
    mask.convert("L").save(buffer, "PNG")
    return buffer.getvalue()
