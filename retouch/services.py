"""Creating retouch jobs: check the uploaded pictures, store them privately, queue the job.

Everything a worker will need is checked here, in the web process, before anything is stored:
the source and mask decode completely (no truncated files, no decompression bombs), the mask is
not empty and fits the source, the rectangle lies inside it, archives are safe. Then the uploads
are written under the job's id in the private upload storage and the job row is saved with its
RetouchJob in one transaction; the Celery message carries only the id. A failed save removes the
uploads again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import cast

from django.conf import settings
from django.db import transaction
from PIL import Image as PILImage

from garden.models import Image
from garden.services import read_file
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest
from generation.services import jobs
from retouch import features, frames, imaging, planning
from retouch.models import RETOUCH_KINDS, RetouchJob, RetouchKind
from retouch.options import Geometry, Reference, RetouchOptions
from retouch.uploads import delete_uploads, upload_key, write_upload

EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


class UploadTooLarge(JobParameterError):
    """An upload over a size limit (pixels, frames, unpacked bytes)."""

    status_code = 413


@dataclass
class RetouchUploads:
    """The pictures that come with a retouch request (raw bytes, not yet trusted)."""

    image: bytes | None = None
    mask: bytes | None = None
    reference: bytes | None = None
    controls: dict[int, bytes] = field(default_factory=dict)  # edited edge maps, by control position
    frames: bytes | None = None  # retouch_batch: a zip of frames
    masks: bytes | None = None  # retouch_batch: a zip of masks paired by file name


@dataclass
class _Inspected:
    geometry: Geometry
    files: dict[str, bytes]  # upload role → bytes to store
    frames: list[list] = field(default_factory=list)  # [position, name] of the frames to retouch


def create_retouch_job(*, created_by=None, request: JobRequest, uploads: RetouchUploads, enqueue: bool = True) -> GenerationJob:
    """Validate the request and its pictures, store them privately, queue the job (202 for the API).

    Raises JobParameterError (400, naming each bad field) or UploadTooLarge (413) before anything
    is stored.
    """
    if request.kind not in RETOUCH_KINDS:
        raise JobParameterError(fields={"kind": f"kind must be one of {', '.join(RETOUCH_KINDS)}."})
    # JobRequest carries a registered kind's options untyped: a retouch kind's are ours.
    options = cast("RetouchOptions | None", request.kind_options) or RetouchOptions()
    options = replace(
        options,
        controls=tuple(replace(unit, has_image=number in uploads.controls) for number, unit in enumerate(options.controls)),
        reference=replace(options.reference or Reference(), has_image=True) if uploads.reference else options.reference,
    )
    features.require_for(options)  # 503 naming the setting before any picture is read
    unknown = sorted(set(uploads.controls) - set(range(len(options.controls))))
    if unknown:
        raise JobParameterError(fields={"controls": f"Edge images were sent for controls {unknown} that do not exist."})
    source = _garden_image(options.image_id) if options.image_id is not None else None
    if request.kind == RetouchKind.BATCH:
        inspected = _inspect_frames(options, uploads, has_garden_source=source is not None)
    else:
        inspected = _inspect_single(options, uploads, source)
    emotion = request.emotion or (source.search_key if source else "")
    valid = replace(request, emotion=emotion, kind_options=replace(options, geometry=inspected.geometry)).validate()

    job = jobs.new_job(valid=valid, created_by=created_by, enqueue=enqueue)
    if not valid.model:  # a library model's job has its folder from new_job
        job.model_id = settings.GARDEN_RETOUCH_INPAINT_MODEL or settings.GARDEN_DIFFUSION_MODEL
    stored = {role: upload_key(job_id=job.pk, name=name) for role, name in _names(inspected.files).items()}
    retouch = RetouchJob(
        job=job,
        options={**valid.kind_options, "source_key": source.key if source else "", "frames": _selected(inspected, valid.kind_options)},
        uploads=stored,
    )
    units = planning.retouch_units(job, retouch.options)
    job.images_total = sum(len(unit.specs) for unit in units)
    job.steps_total = len(units) * valid.kind_options["steps_run"]
    written: list[str] = []
    try:
        for role, key in stored.items():
            write_upload(key=key, content=inspected.files[role])
            written.append(key)
        with transaction.atomic():  # the job's message goes at the commit: the worker finds both rows
            job = jobs.save_job(job=job, enqueue=enqueue)
            retouch.save(force_insert=True)
        return job
    except Exception:  # storage or database: nothing may be left behind
        delete_uploads(written)
        raise


def _names(files: dict[str, bytes]) -> dict[str, str]:
    names = {}
    for role, content in files.items():
        kind = imaging.sniff(content)
        names[role] = f"{role}.{EXTENSIONS[kind]}" if kind else f"{role}.zip"
    return names


def _selected(inspected: _Inspected, retouch: dict) -> list[list]:
    if not inspected.frames:
        return []
    first, last = retouch["range"] or (1, len(inspected.frames))
    return [[position, name] for position, name in inspected.frames if first <= position <= last]


def _garden_image(image_id) -> Image:
    if isinstance(image_id, bool) or not isinstance(image_id, int):
        raise JobParameterError(fields={"image_id": "image_id must be the id of a garden image."})
    image = Image.objects.with_id(image_id).first()
    if image is None:
        raise JobParameterError(fields={"image_id": f"No garden image has the id {image_id}."})
    return image


def _bad(field_name: str, exc: imaging.InvalidImage | frames.InvalidArchive) -> JobParameterError:
    return (UploadTooLarge if exc.too_large else JobParameterError)(fields={field_name: exc.message})


def _picture(content: bytes, field_name: str) -> PILImage.Image:
    try:
        return imaging.open_image(content, max_pixels=settings.GARDEN_RETOUCH_MAX_PIXELS, what=field_name)
    except imaging.InvalidImage as exc:
        raise _bad(field_name, exc) from None


def _mask_box(content: bytes, size: tuple[int, int], *, invert: bool, field_name: str, allow_empty: bool = False):
    try:
        mask = imaging.mask_array(_picture(content, field_name), size, invert=invert)
    except imaging.InvalidImage as exc:
        raise _bad(field_name, exc) from None
    box = imaging.bounding_box(mask)
    if box is None and not allow_empty:
        raise JobParameterError(fields={field_name: f"The {field_name} is empty: paint the area to repaint (white or opaque)."})
    return box


def _check_extras(options: RetouchOptions, uploads: RetouchUploads, size: tuple[int, int]) -> dict[str, bytes]:
    """Edited edge maps (the source's aspect ratio) and a reference picture; their bytes to store."""
    files = {}
    for number, content in sorted(uploads.controls.items()):
        edges = _picture(content, f"controls[{number}].image")
        if abs(edges.width * size[1] - edges.height * size[0]) > max(size):
            raise JobParameterError(
                fields={f"controls[{number}].image": f"The edge image must have the source's shape ({size[0]}x{size[1]})."}
            )
        files[f"control-{number}"] = content
    if uploads.reference:
        _picture(uploads.reference, "reference")
        files["reference"] = uploads.reference
    return files


def _inspect_single(options: RetouchOptions, uploads: RetouchUploads, source: Image | None) -> _Inspected:
    if uploads.frames or uploads.masks:
        raise JobParameterError(fields={"frames": "Frames and mask archives are for retouch_batch jobs."})
    if source is not None and uploads.image:
        raise JobParameterError(fields={"image": "Give an image upload or an image_id, not both."})
    if source is None and not uploads.image:
        raise JobParameterError(fields={"image": "Give a source: an image upload or the id of a garden image."})
    files: dict[str, bytes] = {}
    if uploads.image:
        content = uploads.image
        files["source"] = content
    else:
        try:
            content = read_file(source.key)  # type: ignore[union-attr]
        except FileNotFoundError:
            raise JobParameterError(fields={"image_id": f"The file of garden image {options.image_id} is missing."}) from None
    picture = _picture(content, "image")
    box = None
    if uploads.mask:
        box = _mask_box(uploads.mask, picture.size, invert=options.invert_mask, field_name="mask")
        files["mask"] = uploads.mask
    files.update(_check_extras(options, uploads, picture.size))
    return _Inspected(geometry=Geometry(picture.width, picture.height, box), files=files)


def _inspect_frames(options: RetouchOptions, uploads: RetouchUploads, *, has_garden_source: bool) -> _Inspected:
    if uploads.image or has_garden_source:
        raise JobParameterError(fields={"image": "A retouch_batch job takes a zip of frames, not an image."})
    if not uploads.frames:
        raise JobParameterError(fields={"frames": "Give the frames: a zip of PNG, JPEG or WebP pictures."})
    limits = {"max_files": settings.GARDEN_RETOUCH_MAX_FRAMES, "max_bytes": settings.GARDEN_RETOUCH_MAX_ZIP_BYTES}
    try:
        frame_zip = frames.open_archive(uploads.frames, what="frames archive")
        members = frames.list_members(frame_zip, what="frames archive", **limits)
        mask_zip = frames.open_archive(uploads.masks, what="masks archive") if uploads.masks else None
        mask_members = frames.list_members(mask_zip, what="masks archive", **limits) if mask_zip else []
    except frames.InvalidArchive as exc:
        raise _bad("masks" if "masks" in exc.message else "frames", exc) from None
    if uploads.mask and mask_zip:
        raise JobParameterError(fields={"masks": "Give one mask for every frame, or a zip of masks, not both."})
    numbered = [[position, member.name] for position, member in enumerate(members, start=1)]
    valid_range = options.frame_range is None or (
        isinstance(options.frame_range, tuple) and len(options.frame_range) == 2 and all(isinstance(v, int) for v in options.frame_range)
    )
    selection = frames.select(members, options.frame_range if valid_range else (0, -1))
    pairs = frames.pair_masks([member for _, member in selection], mask_members)
    size, boxes = None, []
    per_frame_limit = settings.GARDEN_RETOUCH_MAX_ZIP_BYTES
    for _, member in selection:
        try:
            picture = _picture(frames.read_member(frame_zip, member, limit=per_frame_limit), f"frames: {member.name}")
            if mask_zip is not None:
                if member.name not in pairs:
                    raise JobParameterError(
                        fields={"masks": f"No mask for the frame {member.name!r} (masks pair with frames by file name)."}
                    )
                mask_bytes = frames.read_member(mask_zip, pairs[member.name], limit=per_frame_limit)
                boxes.append(
                    _mask_box(
                        mask_bytes,
                        picture.size,
                        invert=options.invert_mask,
                        field_name=f"masks: {pairs[member.name].name}",
                        allow_empty=True,
                    )
                )
        except frames.InvalidArchive as exc:
            raise _bad("frames", exc) from None
        if size is None:
            size = picture.size
        elif picture.size != size:
            raise JobParameterError(
                fields={"frames": f"Frame {member.name!r} is {picture.width}x{picture.height}; the first is {size[0]}x{size[1]}."}
            )
    if size is None:
        size = _picture(frames.read_member(frame_zip, members[0], limit=per_frame_limit), "frames").size
    files = {"frames": uploads.frames}
    if uploads.mask:
        boxes.append(_mask_box(uploads.mask, size, invert=options.invert_mask, field_name="mask"))
        files["mask"] = uploads.mask
    if mask_zip is not None:
        files["masks"] = uploads.masks  # type: ignore[assignment]
        if not any(boxes):
            raise JobParameterError(fields={"masks": "Every mask is empty: paint the area to repaint (white or opaque)."})
    files.update(_check_extras(options, uploads, size))
    present = [box for box in boxes if box is not None]
    geometry = Geometry(size[0], size[1], imaging.union_box(present) if present else None, frames=len(members))
    return _Inspected(geometry=geometry, files=files, frames=numbered)


def source_picture(*, content: bytes | None, image_id: int | None) -> PILImage.Image:
    """The picture an edge map or tags are asked for: an upload, or a garden image's file."""
    if content is None:
        image = _garden_image(image_id)
        try:
            content = read_file(image.key)
        except FileNotFoundError:
            raise JobParameterError(fields={"image_id": f"The file of garden image {image_id} is missing."}) from None
    return _picture(content, "image")


def edge_map_png(
    *, picture: PILImage.Image, detector: str, low: float = 100.0, high: float = 200.0, resolution: int | None = None
) -> bytes:
    """The edge map (white lines on black, PNG) the user can edit before a retouch; runs in the web tier."""
    from retouch import edges

    picture = edges.scaled_for_detection(picture.convert("RGB"), resolution)
    return imaging.encode_png(edges.detect(detector, picture, low=low, high=high))


def picture_tags(*, picture: PILImage.Image, threshold: float) -> dict:
    """WD14 tags and ratings of a picture; TaggerUnavailable (503) names the setting when there is none."""
    from retouch.tagger import get_tagger

    features.require("tags")
    return get_tagger().tag(picture, threshold=threshold)
