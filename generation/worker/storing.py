"""A generated picture stored: its file (safety check, watermark, JPEG with its metadata) rendered,
then its row written with its verdict, so no picture is usable unchecked.

Two steps, so a caller that stores several pictures together (generation.worker.call_finishing: one
transaction per gathered call) renders them first and holds its transaction only over the rows;
``store_generated_image`` does both for one picture. Pictures finished on the card
(card_finishing.render_on_card) come as the same ``Rendered`` and are saved the same way.
"""

from __future__ import annotations

from dataclasses import asdict

from garden.models import Image
from garden.services import create_image
from generation import served_names
from generation.backends import hires
from generation.imagefile import encode_jpeg, finish_jpeg
from generation.lineage import image_lineage
from generation.models import GenerationJob
from generation.planning import ImageSpec, image_key
from generation.worker.rendered import Rendered
from safety import images as safety_images

# The job's options every picture's parameters carry (the hashes: which files painted it).
PARAMETER_OPTIONS = ("init_image", "denoising_strength", "vae", "model_hash", "lora_hashes", "origin")


def generation_parameters(*, job: GenerationJob, spec: ImageSpec, description: dict) -> dict:
    """What is embedded in the file (EXIF) so a picture found alone says how to make it again."""
    return {
        **served_names.description(description),  # the model's name, never its path on this server
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "seed": spec.seed,
        "width": spec.width,
        "height": spec.height,
        "steps": job.steps,
        "guidance": job.guidance,
        "job": str(job.pk),
        "index": spec.index,
        "orientation": spec.orientation,
        **({"lineage": job.options["lineage"][spec.index]} if "lineage" in (job.options or {}) else {}),
        **{name: job.options[name] for name in PARAMETER_OPTIONS if name in (job.options or {})},
        **hires_parameters(job.options, spec.width, spec.height),
    }


def hires_parameters(options: dict | None, width: int, height: int) -> dict:
    """``{"hires": {first_width, first_height, upscaler, steps, denoising}}`` for a picture painted in two passes."""
    fix = hires.for_picture(options, width, height)
    if fix is None:
        return {}
    return {"hires": asdict(fix)}


def store_generated_image(
    *, job: GenerationJob, spec: ImageSpec, picture, description: dict, diffusers_nsfw: bool | None = None, quick: bool = False
) -> tuple[Image, bytes | None]:
    """The stored image and the JPEG bytes written (None when an earlier attempt stored it)."""
    existing = stored_image(job=job, spec=spec)
    if existing is not None:
        return existing, None
    rendered = render_generated_image(
        job=job, spec=spec, picture=picture, description=description, diffusers_nsfw=diffusers_nsfw, quick=quick
    )
    return save_rendered_image(job=job, spec=spec, rendered=rendered, description=description), rendered.content


def stored_image(*, job: GenerationJob, spec: ImageSpec) -> Image | None:
    """The picture's row when an earlier attempt stored it (it lost its lease after storing)."""
    return Image.objects.with_key(image_key(job=job, spec=spec)).first()


def render_generated_image(
    *, job: GenerationJob, spec: ImageSpec, picture, description: dict, diffusers_nsfw: bool | None = None, quick: bool = False
) -> Rendered:
    """The picture checked and encoded; writes nothing. The safety check runs on a thread of its own
    while the file is encoded (onnxruntime and the encoder release the GIL). ``quick`` (live jobs):
    a JPEG without the optimized Huffman pass (slightly larger, faster)."""
    parameters = generation_parameters(job=job, spec=spec, description=description)
    checking = safety_images.check_beside(picture, diffusers_nsfw=diffusers_nsfw)
    content = encode_jpeg(picture, parameters, optimize=not quick)
    verdict = checking.result()  # before the picture is stored as usable
    return Rendered(content, verdict, key=image_key(job=job, spec=spec), parameters=parameters)


def save_rendered_image(*, job: GenerationJob, spec: ImageSpec, rendered: Rendered, description: dict) -> Image:
    """The file and its row, with the verdict (garden.services.create_image)."""
    parameters, verdict = rendered.parameters, rendered.verdict
    return create_image(
        key=rendered.key,
        content=finish_jpeg(rendered.content, parameters) if rendered.bare else rendered.content,
        width=spec.width,
        height=spec.height,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        seed=spec.seed,
        generator=description.get("generator", job.backend),
        model_id=description.get("model_id", job.model_id),
        steps=job.steps,
        guidance=job.guidance,
        parameters=parameters,
        parents=(image_lineage(parameters) or {}).get("parents", ()),
        live=job.live,  # a picture painted for the visitor in front of the kiosk (docs/live.md)
        **verdict.image_fields(),
    )
