"""The door's writes: a graph queued as a job, an uploaded picture kept, history forgotten, jobs cancelled.

A prompt becomes the job the A1111 API would make of the same request (comfy.graph compiles it to
an A1111 body; a1111.txt2img and a1111.parsing build the job), or, for an uploaded picture only
upscaled, an upscale job (retouch.upscale), so it runs on the same queue and workers with the same
prompt screening, image check and provenance marks. Each caller's history is
bounded: past GARDEN_COMFY_HISTORY_SIZE finished prompts, the oldest are forgotten; so are its
uploads, by count (GARDEN_COMFY_UPLOADS_KEPT) and age (GARDEN_COMFY_UPLOAD_HOURS).
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from PIL import Image as PILImage

from a1111 import catalog, controlled, options, parsing, txt2img
from comfy import graph as graphs
from comfy import selectors
from comfy.auth import Caller
from comfy.models import ComfyPrompt
from generation import services as jobs
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest
from retouch.services import create_retouch_job
from retouch.uploads import UploadMissing, delete_uploads, read_upload, upload_storage, write_upload
from retouch.upscale import UPSCALE, UpscaleOptions, create_upscale_job

UPLOADS = "comfy"  # the callers' uploads in the private upload storage (retouch.uploads): comfy/<caller's digest>/<name>
UPLOAD_NAME = re.compile(r"^[\w.\- ()]{1,120}$")
PICTURE_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
ORIGIN = "comfy"  # generation.requests.ORIGINS: the door's jobs and pictures say where they came from


class BadRequest(Exception):
    """A request ComfyUI answers 400 with a message (not a graph's error)."""


def _owner(caller: Caller) -> str:
    # Per caller (a digest of its identity, not the identity itself), so one cannot load another's picture.
    return hashlib.sha256(caller.identity.encode()).hexdigest()[:16]


def _upload_key(caller: Caller, name: str) -> str:
    return f"{UPLOADS}/{_owner(caller)}/{name}"


def upload_image(caller: Caller, *, content: bytes, name: str, overwrite: bool) -> dict:
    """``POST /upload/image``: the picture checked and kept for the caller's LoadImage nodes."""
    if len(content) > settings.GARDEN_COMFY_MAX_UPLOAD_BYTES:
        raise BadRequest(f"The image is larger than {settings.GARDEN_COMFY_MAX_UPLOAD_BYTES} bytes.")
    try:
        with PILImage.open(io.BytesIO(content)) as picture:
            picture.verify()
            kind = picture.format
    except Exception:
        raise BadRequest("Not a picture (PNG, JPEG or WebP).") from None
    if kind not in PICTURE_FORMATS:
        raise BadRequest("Not a picture (PNG, JPEG or WebP).")
    name = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] or f"upload.{PICTURE_FORMATS[kind]}"
    if not UPLOAD_NAME.match(name):
        name = f"{uuid.uuid4().hex[:12]}.{PICTURE_FORMATS[kind]}"
    if not overwrite:  # ComfyUI numbers a name that is taken: "name (1).png"
        stem, dot, ext = name.rpartition(".")
        number = 1
        while _exists(caller, name):
            name = f"{stem or ext} ({number}){dot}{ext if stem else ''}"
            number += 1
    key = _upload_key(caller, name)
    write_upload(key=key, content=content)
    purge_uploads(owner=_owner(caller), keep=key)
    return {"name": name, "subfolder": "", "type": "input"}


def purge_uploads(*, owner: str | None = None, keep: str = "") -> int:
    """Delete uploads past GARDEN_COMFY_UPLOAD_HOURS, and each caller's beyond its newest
    GARDEN_COMFY_UPLOADS_KEPT (``owner``: one caller's folder; ``keep``: the one just written).
    A job compiled from an upload holds its own copy, so nothing queued loses its picture. How many went."""
    storage = upload_storage()
    deadline = timezone.now() - timedelta(hours=settings.GARDEN_COMFY_UPLOAD_HOURS)
    try:
        owners = [owner] if owner else storage.listdir(UPLOADS)[0]
    except FileNotFoundError:  # nothing uploaded yet
        return 0
    gone = []
    for folder in owners:
        try:
            names = storage.listdir(f"{UPLOADS}/{folder}")[1]
        except FileNotFoundError:
            continue
        dated = sorted(
            ((storage.get_modified_time(f"{UPLOADS}/{folder}/{name}"), f"{UPLOADS}/{folder}/{name}") for name in names), reverse=True
        )
        for number, (modified, key) in enumerate(dated):
            if key != keep and (number >= settings.GARDEN_COMFY_UPLOADS_KEPT or modified < deadline):
                gone.append(key)
    delete_uploads(gone)
    return len(gone)


def _exists(caller: Caller, name: str) -> bool:
    try:
        read_upload(_upload_key(caller, name))
    except UploadMissing:
        return False
    return True


def uploaded(caller: Caller, name: str) -> bytes:
    """The caller's uploaded picture (LookupError when there is none)."""
    if not isinstance(name, str) or not UPLOAD_NAME.match(name.removesuffix(" [input]")):
        raise LookupError(name)
    try:
        return read_upload(_upload_key(caller, name.removesuffix(" [input]")))
    except UploadMissing:
        raise LookupError(name) from None


def _default_checkpoint(body: dict, retouch: bool) -> None:
    """The venue's own model under the name /object_info lists it: the job names no model."""
    overrides = body["override_settings"]
    name = overrides.get("sd_model_checkpoint")
    if retouch:
        if name and options.is_retouch_model(name):
            del overrides["sd_model_checkpoint"]
        return
    listed = catalog.sd_models()
    if len(listed) == 1 and listed[0]["filename"] in ("", settings.GARDEN_DIFFUSION_MODEL) and name == listed[0]["model_name"]:
        del overrides["sd_model_checkpoint"]


def submit(caller: Caller, body: dict) -> dict:
    """``POST /prompt``: the graph compiled and queued; ComfyUI's answer, or graphs.GraphError."""
    graph = body.get("prompt")
    library = graphs.Library(upscalers=selectors.upscalers, controlnets=selectors.controlnets)
    compiled = graphs.compile_graph(graph, lambda name: uploaded(caller, name), library)
    prompt_id = body.get("prompt_id") or str(uuid.uuid4())
    if not isinstance(prompt_id, str) or len(prompt_id) > 100:
        raise BadRequest("prompt_id must be text of at most 100 characters.")
    client_id = body.get("client_id") or ""
    extra = body.get("extra_data") if isinstance(body.get("extra_data"), dict) else {}
    if not compiled.upscale:
        _default_checkpoint(compiled.body, compiled.retouch)
    try:
        with transaction.atomic():
            if ComfyPrompt.objects.filter(identity=caller.identity, prompt_id=prompt_id).exists():
                raise BadRequest(f"prompt_id {prompt_id!r} was used already.")
            job = _create_job(caller, compiled)
            number = (ComfyPrompt.objects.aggregate(top=Max("number"))["top"] or 0) + 1
            ComfyPrompt.objects.create(
                job=job,
                identity=caller.identity,
                prompt_id=prompt_id,
                client_id=str(client_id)[:100],
                number=number,
                graph=graph,
                extra_data=extra,
                outputs=compiled.outputs,
            )
    except JobParameterError as exc:
        named = txt2img.client_named(exc) if not (compiled.retouch or compiled.upscale) else exc
        first, message = next(iter((named.fields or {"prompt": str(exc)}).items()))
        raise compiled.node_error(first, str(message), graph) from None
    _bound_history(caller.identity)
    return {"prompt_id": prompt_id, "number": number, "node_errors": {}}


def _create_job(caller: Caller, compiled: graphs.Compiled) -> GenerationJob:
    """The A1111 API's job for the body (or the upscale job an upscale-only graph is), marked as the
    door's (``origin``: the job list, the admin and each picture say so)."""
    if compiled.upscale:
        fields = compiled.body
        options = UpscaleOptions(**{name: fields.get(name) for name in ("upscaler", "scale", "width", "height")})
        job_request = JobRequest(kind=UPSCALE, origin=ORIGIN, kind_options=options)
        return create_upscale_job(created_by=caller.user, request=job_request, image=fields["image"])
    if compiled.retouch:  # img2img, or txt2img with ControlNet units: the retouch engine paints both
        job_request, uploads = parsing.img2img_request(compiled.body) if compiled.img2img else controlled.request(compiled.body)
        return create_retouch_job(created_by=caller.user, request=replace(job_request, origin=ORIGIN), uploads=uploads)
    job_request, _ = txt2img.txt2img_request(compiled.body)
    return jobs.create_job(created_by=caller.user, request=replace(job_request, origin=ORIGIN))


def _bound_history(identity: str) -> None:
    keep = settings.GARDEN_COMFY_HISTORY_SIZE
    finished = ComfyPrompt.objects.filter(identity=identity, forgotten=False).exclude(job__in=GenerationJob.objects.in_flight())
    old = list(finished.order_by("-number").values_list("pk", flat=True)[keep:])
    if old:
        ComfyPrompt.objects.filter(pk__in=old).update(forgotten=True)


def forget(caller: Caller, *, prompt_ids: list[str] | None = None, everything: bool = False) -> int:
    """``POST /history`` delete/clear: the entries leave the caller's history (the pictures stay the venue's)."""
    mine = ComfyPrompt.objects.filter(identity=caller.identity, forgotten=False).exclude(job__in=GenerationJob.objects.in_flight())
    if not everything:
        mine = mine.filter(prompt_id__in=[str(value) for value in prompt_ids or []])
    return mine.update(forgotten=True)


def cancel(caller: Caller, *, prompt_ids: list[str] | None = None, running: bool | None = None) -> int:
    """Cancel the caller's prompts: these ids, or all its queued ones (``running`` False: ``/queue``
    clear), or its running ones (``running`` True: ``/interrupt``). How many were cancelled."""
    mine = ComfyPrompt.objects.filter(identity=caller.identity, job__in=GenerationJob.objects.in_flight())
    if prompt_ids is not None:
        mine = mine.filter(prompt_id__in=[str(value) for value in prompt_ids])
    if running is not None:
        jobs_wanted = GenerationJob.objects.running() if running else GenerationJob.objects.queued()
        mine = mine.filter(job__in=jobs_wanted)
    cancelled = 0
    with transaction.atomic():
        for prompt in mine.select_related("job"):
            jobs.cancel_job(job=prompt.job)
            cancelled += 1
    return cancelled
