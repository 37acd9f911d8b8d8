"""A1111's answer envelope for text-to-image, its "infotext", and ``/sdapi/v1/png-info``.

A1111 writes each picture's parameters as one text ("infotext") into the PNG's ``parameters``
chunk, and answers ``info`` as a JSON string (``Processed.js()``). Our pool files carry their
parameters as JSON in EXIF (generation.imagefile); the PNGs we answer carry both, so a client's
png-info (ours or A1111's) reads them back.
"""

from __future__ import annotations

import io
import json
import re

from PIL import Image as PILImage
from PIL import PngImagePlugin

from a1111 import echo, fields, parsing, shorthash, txt2img
from generation import imagefile, served_names
from generation.imagefile import EXIF_IMAGE_DESCRIPTION, read_parameters
from generation.models import GenerationJob
from generation.requests import JobParameterError

# A1111's infotext "key: value" pairs (modules/infotext_utils.py re_param).
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SIZE = re.compile(r"^(\d+)x(\d+)$")


def infotext(*, prompt: str, negative: str, settings: dict) -> str:
    """``prompt\\nNegative prompt: …\\nSteps: 20, Sampler: Euler a, …`` (A1111's layout)."""
    line = ", ".join(f"{key}: {value}" for key, value in settings.items() if value not in (None, ""))
    negative_line = f"\nNegative prompt: {negative}" if negative else ""
    return f"{prompt}{negative_line}\n{line}"


def parse_infotext(text: str) -> dict:
    """A1111's ``parse_generation_parameters`` for the fields we write: Prompt, Negative prompt,
    each ``key: value`` of the last line (strings), ``Size`` split into ``Size-1``/``Size-2``."""
    *lines, last = text.strip().split("\n") if text.strip() else [""]
    if len(_PARAM.findall(last)) < 3:  # no parameters line: the whole text is the prompt
        lines.append(last)
        last = ""
    prompt: list[str] = []
    negative: list[str] = []
    into_negative = False
    for line in lines:
        if line.startswith("Negative prompt:"):
            into_negative, line = True, line[len("Negative prompt:") :].strip()
        (negative if into_negative else prompt).append(line)
    result = {"Prompt": "\n".join(prompt), "Negative prompt": "\n".join(negative)}
    for key, value in _PARAM.findall(last):
        value = value.strip()
        size = _SIZE.match(value)
        if size:
            result[f"{key}-1"], result[f"{key}-2"] = size.group(1), size.group(2)
        else:
            result[key] = value
    return result


def model_name(job: GenerationJob) -> str:
    """The library pipeline's name, else GARDEN_DIFFUSION_MODEL's hub id or folder name (never a path)."""
    return job.model or served_names.model_id(job.model_id)


# A1111's hires fix keys, in the order its infotext writes them (modules/processing.py).
HIRES_KEYS = ("Hires upscale", "Hires resize", "Hires steps", "Hires upscaler")


def image_settings(
    *, job: GenerationJob, seed: int, sampler: str, scheduler: str, subseed: int | None, styles: list[str], hires: dict | None = None
) -> dict:
    """A picture's infotext settings. ``hires`` (a1111.txt2img.hires_request's labels): ``Size`` is
    the first pass's, as A1111 writes it, and the hires keys follow."""
    options = job.options or {}
    strength = options.get("subseed_strength") or 0
    hires = hires or {}
    width, height = hires.get("first") or (job.width, job.height)
    return {
        "Steps": job.steps,
        "Sampler": sampler,
        "Schedule type": scheduler,
        "CFG scale": f"{job.guidance:g}",
        "Seed": seed,
        "Size": f"{width}x{height}",
        "Model": model_name(job),
        "VAE": options.get("vae"),
        "Denoising strength": hires.get("Denoising strength"),
        "Variation seed": subseed if strength else None,
        "Variation seed strength": f"{strength:g}" if strength else None,
        "Clip skip": options.get("clip_skip") if (options.get("clip_skip") or 1) > 1 else None,
        **{key: hires.get(key) for key in HIRES_KEYS},
        "Model hash": options.get("model_hash"),
        "Lora hashes": lora_hashes(job),
        "Styles array": json.dumps(styles) if styles else None,
        "Job": str(job.pk),
        "Version": "emotion-garden",
    }


def lora_hashes(job: GenerationJob) -> str | None:
    """A1111's ``Lora hashes``: ``name: short hash`` of each of the job's LoRAs (None: none hashed)."""
    hashes = (job.options or {}).get("lora_hashes") or {}
    return ", ".join(f"{lora['name']}: {hashes[lora['name']]}" for lora in job.loras or [] if lora["name"] in hashes) or None


def png_with_infotext(content: bytes, text: str) -> bytes:
    """The picture as PNG with A1111's ``parameters`` chunk, keeping its EXIF (our parameters) and
    its XMP digital source type (docs/provenance.md)."""
    with PILImage.open(io.BytesIO(content)) as picture:
        exif = picture.getexif()
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", text)
        buffer = io.BytesIO()
        picture.save(buffer, "PNG", exif=exif.tobytes() if exif else b"", **imagefile.xmp_save_options(picture, "PNG", pnginfo=info))
    return buffer.getvalue()


def txt2img_answer(
    *, job: GenerationJob, body: dict, images: list[bytes], labels: dict, count: int, safety: list[dict] | None = None
) -> dict:
    """A1111's TextToImageResponse: ``images`` (base64 PNG, [] with ``send_images: false``), the
    request as ``parameters``, and ``info`` (Processed.js()) as a JSON string, for ``count`` images."""
    options = job.options or {}
    labels = {**labels, "sampler": txt2img.sampler_label(labels["sampler"])}  # the model's own: its A1111 name
    hires = labels.get("hires") or {}
    first_width, first_height = hires.get("first") or (job.width, job.height)  # A1111's width/height: the first pass's
    seeds = [job.seed + n for n in range(count)]
    subseed = options.get("subseed")
    subseeds = [subseed + n for n in range(count)] if isinstance(subseed, int) else [-1] * count
    styles = labels["styles"]
    texts = [
        infotext(
            prompt=job.prompt,
            negative=job.negative_prompt,
            settings=image_settings(
                job=job, seed=seed, sampler=labels["sampler"], scheduler=labels["scheduler"], subseed=sub, styles=styles, hires=hires
            ),
        )
        for seed, sub in zip(seeds, subseeds, strict=True)
    ]
    info = {
        "prompt": job.prompt,
        "all_prompts": [job.prompt] * count,
        "negative_prompt": job.negative_prompt,
        "all_negative_prompts": [job.negative_prompt] * count,
        "seed": job.seed,
        "all_seeds": seeds,
        "subseed": subseeds[0] if subseeds else -1,
        "all_subseeds": subseeds,
        "subseed_strength": options.get("subseed_strength") or 0,
        "width": first_width,
        "height": first_height,
        "sampler_name": labels["sampler"],
        "scheduler": labels["scheduler"],
        "cfg_scale": job.guidance,
        "steps": job.steps,
        "batch_size": body.get("batch_size") or 1,
        "restore_faces": False,
        "face_restoration_model": None,
        "sd_model_name": model_name(job),
        "sd_model_hash": shorthash.model_hash(job),
        "sd_vae_name": options.get("vae"),
        "sd_vae_hash": None,
        "seed_resize_from_w": -1,
        "seed_resize_from_h": -1,
        "denoising_strength": (options.get("hires") or {}).get("denoising"),
        "extra_generation_params": {
            **({"Lora hashes": lora_hashes(job)} if lora_hashes(job) else {}),
            **{key: hires[key] for key in HIRES_KEYS if hires.get(key) is not None},
            **({"Denoising strength": hires["Denoising strength"]} if hires else {}),
        },
        "index_of_first_image": 0,
        "infotexts": texts,
        "styles": styles,
        "job_timestamp": job.created_at.strftime("%Y%m%d%H%M%S"),
        "clip_skip": options.get("clip_skip") or 1,
        "is_using_inpainting_conditioning": False,
        "version": "emotion-garden",
        "job_id": str(job.pk),
        "safety": safety or [],  # each picture's image check (a1111.quarantine): flagged ones come blurred
        "warnings": fields.warnings(body, job),
    }
    pictures = [parsing.encode_base64(png_with_infotext(content, text)) for content, text in zip(images, texts, strict=False)]
    return {"images": pictures, "parameters": echo.txt2img_parameters(body), "info": json.dumps(info)}


def _infotext_from_ours(parameters: dict) -> str:
    """Our EXIF parameters (generation.worker.storing.generation_parameters) as A1111's infotext."""
    settings = {
        "Steps": parameters.get("steps"),
        "Sampler": txt2img.sampler_label(str(parameters.get("sampler") or parameters.get("scheduler") or "")),
        "CFG scale": parameters.get("guidance"),
        "Seed": parameters.get("seed"),
        "Size": f"{parameters['width']}x{parameters['height']}" if "width" in parameters and "height" in parameters else None,
        "Model": parameters.get("model") or served_names.model_id(str(parameters.get("model_id") or "")),
        "Model hash": parameters.get("model_hash"),
        "VAE": parameters.get("vae"),
        "Denoising strength": parameters.get("strength") or (parameters.get("hires") or {}).get("denoising"),
        "Hires steps": (parameters.get("hires") or {}).get("steps"),
        "Hires upscaler": (parameters.get("hires") or {}).get("upscaler"),
        "Job": parameters.get("job"),
    }
    return infotext(prompt=str(parameters.get("prompt") or ""), negative=str(parameters.get("negative_prompt") or ""), settings=settings)


def png_info(content: bytes) -> dict:
    """``/sdapi/v1/png-info``: {info (infotext), items (the file's other text fields, and ours as
    ``emotion_garden``), parameters (the infotext parsed)}; "" when the file says nothing."""
    try:
        with PILImage.open(io.BytesIO(content)) as picture:
            fields = {key: value for key, value in (picture.info or {}).items() if isinstance(key, str) and isinstance(value, str)}
            has_exif = bool(picture.getexif().get(EXIF_IMAGE_DESCRIPTION))
    except Exception:
        raise JobParameterError(fields={"image": "Not a picture (PNG, JPEG or WebP, base64)."}) from None
    text = fields.pop("parameters", "")
    ours = read_parameters(content) if has_exif else {}
    if not text and ours:
        text = _infotext_from_ours(ours)
    items = {**fields, **({"emotion_garden": ours} if ours else {})}
    return {"info": text, "items": items, "parameters": parse_infotext(text) if text else {}}
