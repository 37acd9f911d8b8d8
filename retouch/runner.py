"""The worker side of a retouch job: read the private uploads, repaint, composite, store the results.

Called by ``generation.worker.runner.execute_job`` (claim, lease, cancellation and failure
handling are the same as for text-to-image jobs). Each result is a pool Image (a lossless PNG)
linked to its job and to its garden source, with every parameter in its EXIF and on its row.
A retried attempt skips the results an earlier attempt stored (their keys are fixed), so a batch
of frames resumes where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.utils import timezone
from PIL import Image as PILImage

from garden.models import Image
from garden.services import create_image, read_file
from generation import backends, planning, served_names
from generation.backends import BackendError
from generation.imagefile import encode_png, watermark_wanted
from generation.models import GenerationJob
from generation.worker.attempt import Attempt
from generation.worker.toolbox import StepReporter, fetch_reporter, library_errors, library_files, make_thumbnail
from library import selectors as library
from provenance import c2pa, watermark
from retouch import edges, frames, imaging, model_folders
from retouch.planning import retouch_units
from retouch.uploads import read_upload
from safety import images as safety_images


@dataclass
class _Picture:
    rgb: PILImage.Image
    alpha: PILImage.Image | None
    mask: np.ndarray | None
    # The source file as read (stored picture, upload or archive member): the C2PA ingredient of
    # the edits when signing is configured, else None (not kept).
    content: bytes | None = None


class _Inputs:
    """The job's pictures, read from storage once and decoded when needed."""

    def __init__(self, job: GenerationJob) -> None:
        self.job = job
        self.options = job.retouch_job.options
        self.uploads: dict[str, str] = job.retouch_job.uploads
        self.source_image = Image.objects.with_id(self.options["image_id"]).first() if self.options.get("image_id") else None
        if self.options.get("image_id") and self.source_image is None:
            raise BackendError(f"The source image {self.options['image_id']} was deleted before the job ran.")
        self._frames: frames.zipfile.ZipFile | None = None
        self._masks: frames.zipfile.ZipFile | None = None
        self._members: dict[str, frames.Member] = {}
        self._mask_for: dict[str, frames.Member] = {}
        self._single_mask: np.ndarray | None = None
        self._edge_maps: dict[int, PILImage.Image] = {}
        self._reference: PILImage.Image | None = None

    def _open(self, content: bytes, what: str) -> PILImage.Image:
        try:
            return imaging.open_image(content, max_pixels=settings.GARDEN_RETOUCH_MAX_PIXELS, what=what)
        except imaging.InvalidImage as exc:
            raise BackendError(exc.message) from None

    def _mask(self, content: bytes, size: tuple[int, int]) -> np.ndarray:
        return imaging.mask_array(self._open(content, "mask"), size, invert=self.options.get("invert_mask", False))

    def source(self) -> _Picture:
        content = read_file(self.source_image.key) if self.source_image is not None else read_upload(self.uploads["source"])
        rgb, alpha = imaging.as_rgb(self._open(content, "image"))
        mask = self._mask(read_upload(self.uploads["mask"]), rgb.size) if "mask" in self.uploads else None
        return _Picture(rgb, alpha, mask, content if c2pa.configured() is not None else None)

    def frame(self, name: str) -> _Picture:
        if self._frames is None:
            limits = {"max_files": settings.GARDEN_RETOUCH_MAX_FRAMES, "max_bytes": settings.GARDEN_RETOUCH_MAX_ZIP_BYTES}
            self._frames = frames.open_archive(read_upload(self.uploads["frames"]), what="frames archive")
            members = frames.list_members(self._frames, what="frames archive", **limits)
            self._members = {member.name: member for member in members}
            if "masks" in self.uploads:
                self._masks = frames.open_archive(read_upload(self.uploads["masks"]), what="masks archive")
                self._mask_for = frames.pair_masks(members, frames.list_members(self._masks, what="masks archive", **limits))
        limit = settings.GARDEN_RETOUCH_MAX_ZIP_BYTES
        content = frames.read_member(self._frames, self._members[name], limit=limit)
        rgb, alpha = imaging.as_rgb(self._open(content, name))
        if self._masks is not None:
            mask = self._mask(frames.read_member(self._masks, self._mask_for[name], limit=limit), rgb.size)
        elif "mask" in self.uploads:
            if self._single_mask is None:
                self._single_mask = self._mask(read_upload(self.uploads["mask"]), rgb.size)
            mask = self._single_mask
        else:
            mask = None
        return _Picture(rgb, alpha, mask, content if c2pa.configured() is not None else None)

    def edge_map(self, number: int) -> PILImage.Image:
        """The edited edge map as uploaded (at its own size; RGB, as ControlNets take it)."""
        if number not in self._edge_maps:
            self._edge_maps[number] = self._open(read_upload(self.uploads[f"control-{number}"]), "edge image").convert("RGB")
        return self._edge_maps[number]

    def reference(self, picture: PILImage.Image) -> PILImage.Image:
        if "reference" not in self.uploads:
            return picture  # the source (or this frame) itself
        if self._reference is None:
            self._reference = self._open(read_upload(self.uploads["reference"]), "reference").convert("RGB")
        return self._reference


def retouch_all(*, job: GenerationJob, attempt: Attempt, timings: dict) -> None:
    """Paint and store the job's results, writing its row only through its ``attempt``."""
    files = library_files(job)  # the job's model, LoRA files and the prompt's textual inversions, looked up now
    engine = _engine(job, files)
    options = job.retouch_job.options
    controlnets = controlnet_folders(job, [unit["type"] for unit in options["controls"]])
    started = time.perf_counter()
    engine.load()
    timings["load"] = round(time.perf_counter() - started, 3)
    attempt.note(model_id=engine.model_id, scheduler=engine.scheduler_name)
    inputs = _Inputs(job)
    steps_run = options["steps_run"]
    done_keys = set(job.images.values_list("key", flat=True))
    single = None
    for number, unit in enumerate(retouch_units(job, options)):
        todo = [spec for spec in unit.specs if planning.image_key(job=job, spec=spec) not in done_keys]
        if not todo:  # stored by an earlier attempt
            continue
        on_step = StepReporter(attempt, base=number * steps_run, steps=steps_run)
        on_step(0)
        if unit.frame:
            picture = inputs.frame(unit.frame)
        else:
            single = single or inputs.source()
            picture = single
        rect = _rect(options, picture)
        started = time.perf_counter()
        mark = None  # the box carrying the watermark (only what was repainted), if any
        if picture.mask is not None and not picture.mask[rect[1] : rect[1] + rect[3], rect[0] : rect[0] + rect[2]].any():
            results = [picture.rgb] * len(todo)  # nothing to repaint in this frame: it passes through
            on_step(steps_run)
        else:
            results, mark = _repaint(engine, job, inputs, picture, rect, [spec.seed for spec in todo], on_step, controlnets, files)
        timings["generate"] = round(timings.get("generate", 0.0) + time.perf_counter() - started, 3)
        # On the finished pictures (what is stored), by the model's own checker when it ships one.
        nsfw = engine.safety_flags(results)
        for spec, result, flag in zip(todo, results, nsfw, strict=True):
            started = time.perf_counter()
            if picture.alpha is not None:
                result = result.copy()
                result.putalpha(picture.alpha)
            parameters = retouch_parameters(job=job, spec=spec, engine=engine, rect=rect, frame=unit.frame, source=inputs.source_image)
            parameters[watermark.REGION_PARAMETER] = list(mark) if mark else None
            image, content = store_retouched_image(
                job=job,
                spec=spec,
                picture=result,
                parameters=parameters,
                source=inputs.source_image,
                diffusers_nsfw=flag,
                ingredient=picture.content,
            )
            stored = time.perf_counter()
            make_thumbnail(image=image, content=content)
            timings["store"] = round(timings.get("store", 0.0) + stored - started, 3)
            timings["thumbnails"] = round(timings.get("thumbnails", 0.0) + time.perf_counter() - stored, 3)
            job.images.add(image)
            attempt.note(images_done=job.images.count(), progress_at=timezone.now())


def _engine(job: GenerationJob, files: dict):
    """The retouch models' engine, or, for a job naming a library model, an engine of the job's own
    on that model's text-to-image pipeline (the worker's LRU: loaded once for both kinds of job).
    Not kept after the job: holding it would keep weights the LRU later drops in memory."""
    from retouch.engine import RetouchEngine, get_engine  # torch: worker processes only

    if "model_path" not in files:
        return get_engine()
    source = backends.get_backend(
        backends.DIFFUSERS,
        model=files.pop("model_path"),
        label=job.model,
        dtype=files.pop("model_dtype", ""),
        offload=files.pop("model_offload", ""),
    )
    return RetouchEngine(settings=settings, source=source)


def controlnet_folders(job: GenerationJob, kinds: list[str]) -> dict[str, str]:
    """The folders on this host of the ControlNets the job's controls need, fetched through the
    library's door when their settings name library entries (the job's stage says *fetching*
    meanwhile); a store away is a wait, an entry gone fails the job naming the setting."""
    folders: dict[str, str] = {}
    with library_errors():
        for kind in sorted(set(kinds) & set(model_folders.CONTROLNET_SETTINGS)):
            setting = model_folders.CONTROLNET_SETTINGS[kind]
            try:
                folders[kind] = model_folders.folder(setting, lambda name: fetch_reporter(job, name))
            except library.UnknownEntry as exc:  # UnusableEntry too: the library's reason, with the setting
                raise BackendError(f"{setting}: {exc}") from None
    return folders


def _rect(options: dict, picture: _Picture) -> imaging.Rect:
    """The job's rectangle; frames follow their own mask when the rectangle is not fixed."""
    if options.get("fixed_rect", True) or picture.mask is None:
        return tuple(options["rect"])
    box = imaging.bounding_box(picture.mask)
    margin = options["padding"] + imaging.feather_reach(options["mask_blur"])
    return tuple(options["rect"]) if box is None else imaging.padded(box, margin, picture.rgb.size)


def _repaint(
    engine,
    job: GenerationJob,
    inputs: _Inputs,
    picture: _Picture,
    rect,
    seeds: list[int],
    on_step,
    controlnets: dict[str, str],
    files: dict,
) -> tuple[list[PILImage.Image], imaging.Rect | None]:
    """The finished pictures, and the box their watermark is in (None: unmarked, too small or off)."""
    from retouch.engine import ControlInput, PaintRequest

    options = job.retouch_job.options
    longest = max(settings.GARDEN_MAX_WIDTH, settings.GARDEN_MAX_HEIGHT)
    work = (
        tuple(options["work"])
        if tuple(rect) == tuple(options["rect"])
        else imaging.working_size(rect[2], rect[3], shortest=options["work_size"], longest_limit=longest)
    )
    prepared = imaging.prepare(
        picture.rgb, picture.mask, rect, work=work, blur=options["mask_blur"], fill=options["masked_content"], seed=seeds[0]
    )
    controls = []
    for number, unit in enumerate(options["controls"]):
        if unit["has_image"]:
            edge_map = edge_map_crop(inputs.edge_map(number), picture.rgb.size, rect, prepared.size)
        else:
            edge_map = edges.detect(unit["type"], prepared.crop, low=unit["low"], high=unit["high"]).resize(
                prepared.size, PILImage.Resampling.LANCZOS
            )
        controls.append(ControlInput(unit["type"], edge_map.convert("RGB"), unit["scale"], unit["start"], unit["end"], unit["mode"]))
    reference = options.get("reference")
    request = PaintRequest(
        init=prepared.init,
        mask=prepared.model_mask,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        steps=job.steps,
        strength=options["strength"],
        guidance=job.guidance,
        seeds=seeds,
        noise_multiplier=options["noise_multiplier"],
        sampler=options["sampler"],
        eta=options.get("eta") or 0.0,  # jobs stored before img2img took eta have none
        clip_skip=options.get("clip_skip", 1),  # jobs stored before CLIP skip existed have none
        loras=tuple((lora["name"], float(lora["weight"])) for lora in job.loras or ()),
        lora_paths=files.get("lora_paths", {}),
        embeddings=files.get("embeddings", []),
        controls=controls,
        controlnet_folders=controlnets,
        reference=inputs.reference(picture.rgb) if reference else None,
        reference_scale=reference["scale"] if reference else 0.0,
    )
    painted = engine.paint(request, on_step=on_step)
    ring_width = max(8, int(2 * options["mask_blur"]) + 4)
    # Only the repainted pixels carry the mark: outside the feathered mask the source stays exact.
    mark = imaging.mark_box(prepared, options["opacity"]) if watermark_wanted() else None
    finished = [
        imaging.finish(
            picture.rgb, image, prepared, opacity=options["opacity"], color_match=options["color_match"], ring_width=ring_width, mark=mark
        )
        for image in painted
    ]
    return finished, mark


def edge_map_crop(edge_map: PILImage.Image, source_size: tuple[int, int], rect, size: tuple[int, int]) -> PILImage.Image:
    """The rectangle of an edited edge map, at the working size, in one resampling step.

    The map may be smaller than the source (A1111 clients send it at the detector's resolution):
    the rectangle is mapped into the map's own pixels and cut and scaled at once, and a map that
    already is the rectangle at the working size reaches the ControlNet untouched, as drawn.
    """
    scale_x, scale_y = edge_map.width / source_size[0], edge_map.height / source_size[1]
    x, y, w, h = rect
    box = (x * scale_x, y * scale_y, (x + w) * scale_x, (y + h) * scale_y)
    if edge_map.size == size and box == (0, 0, edge_map.width, edge_map.height):
        return edge_map
    return edge_map.resize(size, PILImage.Resampling.LANCZOS, box=box)


def retouch_parameters(*, job: GenerationJob, spec, engine, rect, frame: str, source: Image | None) -> dict:
    """What the file's EXIF and the Image row keep: enough to make the picture again."""
    options = job.retouch_job.options
    names = (
        "strength",
        "steps_run",
        "mask_blur",
        "opacity",
        "color_match",
        "masked_content",
        "noise_multiplier",
        "invert_mask",
        "work_size",
        "clip_skip",
    )
    return {
        **served_names.description(engine.describe()),  # the model's name, never its path on this server
        **{name: options.get(name) for name in names},
        "kind": job.kind,
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "seed": spec.seed,
        "steps": job.steps,
        "guidance": job.guidance,
        "sampler": options.get("sampler") or engine.scheduler_name,
        "rect": list(rect),
        "controls": [
            {key: value for key, value in unit.items() if key != "has_image"} | {"edited": unit["has_image"]}
            for unit in options["controls"]
        ],
        "reference": options.get("reference"),
        "job": str(job.pk),
        "index": spec.index,
        "frame": frame,
        "source": source.key if source is not None else "upload",
        **({"origin": job.options["origin"]} if "origin" in (job.options or {}) else {}),  # an API client's (generation.requests.ORIGINS)
    }


def store_retouched_image(
    *,
    job: GenerationJob,
    spec,
    picture: PILImage.Image,
    parameters: dict,
    source: Image | None,
    diffusers_nsfw: bool | None = None,
    ingredient: bytes | None = None,
) -> tuple[Image, bytes | None]:
    """Store one edit. ``ingredient``: the source file's bytes, recorded as the parent ingredient of
    the C2PA manifest when signing is configured; without it the stored ``source`` is read for that
    (only then: unsigned edits cost no extra storage read). The picture comes with its watermark
    where it was repainted (``imaging.finish``): the encoder adds none over the whole picture."""
    key = planning.image_key(job=job, spec=spec)
    existing = Image.objects.with_key(key).first()
    if existing is not None:  # written by an attempt that lost its lease after storing it
        return existing, None
    verdict = safety_images.check_picture(picture, diffusers_nsfw=diffusers_nsfw)  # before the picture is stored as usable
    if ingredient is None and source is not None and c2pa.configured() is not None:
        ingredient = read_file(source.key)
    content = encode_png(picture, parameters, watermark=False, ingredient=ingredient)
    image = create_image(
        key=key,
        content=content,
        width=picture.width,
        height=picture.height,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        seed=spec.seed,
        generator=parameters.get("generator", job.backend),
        model_id=parameters.get("model_id", job.model_id),
        steps=job.steps,
        guidance=job.guidance,
        source=source,
        parameters=parameters,
        **verdict.image_fields(),
    )
    return image, content
