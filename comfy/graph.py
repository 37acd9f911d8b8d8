"""An API-format ComfyUI graph → the A1111 body the a1111 app already turns into a job.

ComfyUI runs any graph of nodes; the venue runs jobs. So a graph is read backwards from its output
node (``SaveImage``/``PreviewImage``) the way its core nodes connect, and what it asks for becomes
the A1111 fields a1111.txt2img, a1111.parsing and a1111.controlled read (prompts, sampler, model,
LoRA tags, CLIP skip, VAE, hires, denoising, mask, ControlNet units): one validation, one job
builder for both APIs. ``fields`` keeps, for each A1111 field, the node input it came from, so a 400
names the node as ComfyUI does. Upscales of pixels are comfy.pixels', ControlNet comfy.control's.

A graph that does not fit (an unknown class, a shape the jobs cannot paint) raises GraphError with
ComfyUI's own error body (``execution.py`` ``validate_prompt``).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image as PILImage

from comfy import control, nodes, pixels
from comfy.reading import GraphError, Library, Reader, error, input_error

__all__ = ["Compiled", "GraphError", "Library", "check", "compile_graph"]

SEED_SPACE = 2**32  # ComfyUI seeds are 64-bit; the venue's are 32-bit (same seed in, same picture out)
SAMPLERS = {"KSampler", "KSamplerAdvanced"}
LATENT_METHODS = {
    "nearest-exact": "Latent (nearest-exact)",
    "bilinear": "Latent",
    "area": "Latent (antialiased)",
    "bicubic": "Latent (bicubic)",
    "bislerp": "Latent",
}


@dataclass
class Compiled:
    """What a graph asks for: ``img2img`` (a retouch job) or not, an ``upscale`` job or not, the
    A1111 body (or the upscale job's fields), and where each field came from."""

    body: dict
    img2img: bool
    outputs: list[str]  # the output nodes' ids
    sampler: str  # the (last) sampler node's id: progress events name it
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)  # A1111 field → (node id, input name)
    upscale: bool = False  # an uploaded picture upscaled: the body is an upscale job's (retouch.upscale), not A1111's

    @property
    def retouch(self) -> bool:
        """Painted by the retouch engine: img2img, or txt2img with ControlNet units (a1111.controlled)."""
        return self.img2img or "alwayson_scripts" in self.body

    def node_error(self, a1111_field: str, message: str, graph: dict) -> GraphError:
        """A JobParameterError's field as ComfyUI's node error on the input it came from (its longest known prefix)."""
        found, name = None, a1111_field
        while found is None and name:
            found = self.fields.get(name)
            name = name.rpartition(".")[0]
        node_id, input_name = found or (self.sampler, a1111_field)
        return input_error(graph, node_id, input_name, message, self.outputs)


def check(graph) -> list[str]:
    """ComfyUI's first checks (every node's class exists; some output): the output nodes' ids."""
    if not isinstance(graph, dict):
        raise GraphError(error("invalid_prompt", "Cannot execute because the prompt is not an object of nodes."))
    for node_id, node in graph.items():
        if not isinstance(node, dict) or "class_type" not in node:
            raise GraphError(
                error("invalid_prompt", "Cannot execute because a node is missing the class_type property.", f"Node ID '#{node_id}'")
            )
        if node["class_type"] not in nodes.NODES:
            message = f"Cannot execute because node {node['class_type']} does not exist."
            raise GraphError(error("invalid_prompt", message, f"Node ID '#{node_id}'"))
        if not isinstance(node.get("inputs", {}), dict):
            raise GraphError(error("invalid_prompt", "Cannot execute because a node's inputs are not an object.", f"Node ID '#{node_id}'"))
        node.setdefault("inputs", {})
    outputs = [node_id for node_id, node in graph.items() if nodes.NODES[node["class_type"]].get("output_node")]
    if not outputs:
        raise GraphError(error("prompt_no_outputs", "Prompt has no outputs"))
    return outputs


def compile_graph(graph, load_image: Callable[[str], bytes], library: Library | None = None) -> Compiled:
    """The graph's job as an A1111 body. ``load_image``: the caller's uploaded picture by its name
    (LoadImage's ``image``), raising LookupError when there is none; ``library``: the upscalers'
    and ControlNets' names, read when a graph loads one."""
    reader = Reader(graph, load_image, library or Library())
    reader.outputs = check(graph)
    sources = set()
    for output in reader.outputs:
        sources.add(tuple(graph[output]["inputs"].get("images") or ()))
    if len(sources) != 1:
        raise reader.fail(reader.outputs[-1], "images", "Every output must save the same pictures here (one job per prompt)")
    saved = pixels.walk(reader, reader.outputs[0], "images")
    if saved.source_class == "LoadImage" and saved.scalers:  # an uploaded picture upscaled: an upscale job
        return _upscale(reader, saved)
    body: dict = {"override_settings": {}}
    pixels.refuse_finished_upscale(reader, saved)
    if saved.source_class != "VAEDecode":
        raise reader.fail(reader.outputs[0], "images", f"{saved.source_class} cannot feed images here (the venue's jobs take VAEDecode)",
                          "return_type_mismatch")  # fmt: skip
    for output in reader.outputs[1:]:
        reader.node(output)
    units: dict[str, dict] = {}
    sampler = _decoded(reader, saved.source, body, units)
    control.apply(reader, units, body)
    return Compiled(body=body, img2img="init_images" in body, outputs=reader.outputs, sampler=sampler, fields=reader.fields)


def _upscale(reader: Reader, saved: pixels.Pixels) -> Compiled:
    """An upscale-only graph: the upscale job's fields, the picture under ``image``."""
    body = pixels.upscale_only(reader, saved)
    body["image"] = reader.picture(saved.source, "image")
    for output in reader.outputs[1:]:
        reader.node(output)
    last, _ = saved.scalers[-1]
    return Compiled(body=body, img2img=False, outputs=reader.outputs, sampler=last, fields=reader.fields, upscale=True)


def _decoded(reader: Reader, decoder: str, body: dict, units: dict[str, dict]) -> str:
    """VAEDecode(samples ← a sampler, vae): the sampler's job; its id."""
    sampler, _, _ = reader.source(decoder, "samples", *SAMPLERS)
    _vae(reader, decoder, body)
    _sampled(reader, sampler, body, units, final=True)
    return sampler


def _vae(reader: Reader, decoder: str, body: dict) -> None:
    vae, index, class_type = reader.source(decoder, "vae", "CheckpointLoaderSimple", "VAELoader")
    if class_type == "VAELoader":
        body["override_settings"]["sd_vae"] = reader.value(vae, "vae_name", "override_settings.sd_vae")
    elif index != 2:
        raise reader.fail(decoder, "vae", "Link the checkpoint's VAE output (2)")


def _sampled(reader: Reader, sampler: str, body: dict, units: dict[str, dict], *, final: bool) -> None:
    """A KSampler or KSamplerAdvanced: its settings, its conditioning and model, then its latent."""
    class_type = reader.class_of(sampler)
    seed_name = "noise_seed" if class_type == "KSamplerAdvanced" else "seed"
    steps = reader.value(sampler, "steps", "steps")
    settings = {
        "seed": reader.value(sampler, seed_name, "seed") % SEED_SPACE,
        "steps": steps,
        "cfg_scale": reader.value(sampler, "cfg", "cfg_scale"),
        "sampler_name": nodes.SAMPLER_NAMES[reader.value(sampler, "sampler_name", "sampler_name")],
        "scheduler": reader.value(sampler, "scheduler", "scheduler"),
    }
    denoise, run = _denoise(reader, sampler, class_type, steps)
    positive = _text(reader, sampler, "positive", units)
    negative = _text(reader, sampler, "negative", units)
    latents = ("EmptyLatentImage", "VAEEncode", "VAEEncodeForInpaint", "SetLatentNoiseMask", "LatentUpscaleBy", "LatentUpscale")
    latent, _, latent_class = reader.source(sampler, "latent_image", *latents)
    between = pixels.walk(reader, latent, "pixels") if latent_class == "VAEEncode" else None
    if latent_class in ("LatentUpscaleBy", "LatentUpscale") or (between is not None and between.source_class == "VAEDecode"):
        if not final:  # hires: this sampler is the second pass
            raise reader.fail(sampler, "latent_image", "One hires pass is supported")
        _hires(reader, sampler, latent, between, body, units, run, denoise)
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
    _source(reader, latent, latent_class, between, body)


def _denoise(reader: Reader, sampler: str, class_type: str, steps: int) -> tuple[float, int]:
    """(the denoising strength, the steps it runs): ComfyUI runs a KSampler's ``steps`` at any denoise."""
    if class_type == "KSampler":
        return reader.value(sampler, "denoise", "denoising_strength"), steps
    # KSamplerAdvanced's step window: SwarmUI starts img2img late (start_at_step) and ends at ``steps``.
    start = reader.value(sampler, "start_at_step")
    end = reader.value(sampler, "end_at_step")
    if end < steps:
        raise reader.fail(sampler, "end_at_step", "A window that stops before the last step (a refiner's split) is not supported here")
    if reader.value(sampler, "add_noise") != "enable":
        raise reader.fail(sampler, "add_noise", "Sampling without added noise is not supported here")
    if start >= steps:
        raise reader.fail(sampler, "start_at_step", "start_at_step must be below steps")
    return (steps - start) / steps, steps - start


def _text(reader: Reader, sampler: str, name: str, units: dict[str, dict]) -> tuple[str, str]:
    """(the prompt, the CLIP link's node id) of a conditioning input, ControlNets on the way kept in ``units``."""
    encoders = ("CLIPTextEncode", "CLIPTextEncodeSDXL", *control.APPLY)
    encoder, index, class_type = reader.source(sampler, name, *encoders)
    while class_type in control.APPLY:
        encoder, index, class_type = reader.source(encoder, control.follow(reader, encoder, index, class_type, units), *encoders)
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


def _model(reader: Reader, sampler: str, body: dict, positive: tuple[str, str], negative: tuple[str, str]) -> None:
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


def _clip_skip(reader: Reader, clip: str, checkpoint: str) -> int | None:
    skip = None
    while True:
        class_type = reader.class_of(clip)
        if class_type == "CheckpointLoaderSimple":
            if clip != checkpoint:
                raise reader.fail(clip, "ckpt_name", "The text encoders must come from the sampler's checkpoint")
            return skip
        if class_type == "CLIPSetLastLayer":
            skip = -reader.value(clip, "stop_at_clip_layer", "override_settings.CLIP_stop_at_last_layers")
        clip, _, _ = reader.source(clip, "clip", "CheckpointLoaderSimple", "LoraLoader", "CLIPSetLastLayer")


def _hires(
    reader: Reader, second: str, latent: str, between: pixels.Pixels | None, body: dict, units: dict, run: int, denoise: float
) -> None:
    """Hires fix: a first sampler, its latent upscaled (or its picture: comfy.pixels.hires), a second
    sampler (the settings are the first's; the second's denoise and the steps it runs)."""
    if between is not None:  # VAEDecode → upscale → VAEEncode: a pixel upscaler
        _vae(reader, between.source, body)
        first, _, _ = reader.source(between.source, "samples", *SAMPLERS)
    else:
        first, _, _ = reader.source(latent, "samples", *SAMPLERS)
    _sampled(reader, first, body, units, final=False)
    if "init_images" in body:
        raise reader.fail(first, "latent_image", "The hires fix starts from an empty latent here")
    body.update(enable_hr=True, hr_second_pass_steps=run, denoising_strength=denoise)
    reader.fields.update(denoising_strength=(second, "denoise"), hr_second_pass_steps=(second, "steps"), enable_hr=(second, "latent_image"))
    if between is not None:
        pixels.hires(reader, between, body)
        named = reader.fields.get("hr_scale") or reader.fields.get("hr_resize_x") or (second, "latent_image")
        if body.get("hr_scale") == 1 or (body.get("hr_resize_x"), body.get("hr_resize_y")) == (body["width"], body["height"]):
            raise reader.fail(*named, "The picture is not enlarged between the passes: nothing for the hires fix to do")
        return
    body["hr_upscaler"] = LATENT_METHODS[reader.value(latent, "upscale_method")]
    reader.fields["hr_upscaler"] = (latent, "upscale_method")
    if reader.class_of(latent) == "LatentUpscaleBy":
        body["hr_scale"] = reader.value(latent, "scale_by", "hr_scale")
    else:
        body["hr_resize_x"] = reader.value(latent, "width", "hr_resize_x")
        body["hr_resize_y"] = reader.value(latent, "height", "hr_resize_y")


def _source(reader: Reader, latent: str, latent_class: str, between: pixels.Pixels | None, body: dict) -> None:
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
    if between is None:
        between = pixels.walk(reader, latent, "pixels")
    if between.source_class != "LoadImage":
        raise reader.fail(latent, "pixels", "img2img starts from an uploaded picture (LoadImage) here", "return_type_mismatch")
    content = reader.picture(between.source, "init_images")
    with PILImage.open(io.BytesIO(content)) as opened:
        size = opened.size
    pixels.img2img_size(reader, between, body, size)
    body["init_images"] = [base64.b64encode(content).decode()]
    body["inpaint_full_res"] = False
    if mask is not None:
        body["mask"] = base64.b64encode(_mask(reader, *mask)).decode()
        reader.fields["mask"] = (mask[0], "image")


def _mask(reader: Reader, node_id: str, index: int, class_type: str) -> bytes:
    """A1111's mask (white repaints) from LoadImage's MASK output (1: where the picture is
    transparent, as ComfyUI reads it) or LoadImageMask's channel."""
    content = reader.picture(node_id)
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
