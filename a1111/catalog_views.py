"""The rest of the A1111 API that Stable Diffusion clients call (webuiapi, SillyTavern, the A1111
plugins for Krita, Photoshop, GIMP and Blender; docs/a1111.md#clients): ``txt2img``, the lists
(checkpoints, samplers, schedulers, LoRAs, embeddings, styles…), ``progress``/``interrupt``/``skip``,
``interrogate``, ``png-info`` and the ControlNet extension's lists. Same authentication, body cap
and waiting rules as ``views.Img2ImgView``.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from a1111 import answers, catalog, controlled, echo, extras, parsing, quarantine, schemas, txt2img, waits
from a1111 import identity as callers
from a1111.views import A1111View, waiting
from config.api import json_object
from config.idempotency import idempotent
from generation import selectors, services
from generation.requests import JobParameterError
from library.models import LibraryScan
from library.services import follow as library_follow
from retouch.services import create_retouch_job, picture_tags
from retouch.tagger import DEFAULT_THRESHOLD

OK = {200: OpenApiTypes.OBJECT}
BOOLEANS = ("true", "false", "1", "0", "yes", "no", "on", "off")  # what FastAPI reads as a bool


class Txt2ImgView(A1111View):
    @extend_schema(
        request={"application/json": schemas.TXT2IMG},
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description='{"images": [base64 PNG], "parameters": {…}, "info": "<JSON>"}'),
            400: OpenApiResponse(description="Invalid or unsupported fields, named"),
            503: OpenApiResponse(description="The job failed, or GARDEN_A1111_MAX_WAITING requests already wait"),
            504: OpenApiResponse(description="Not done within GARDEN_A1111_WAIT_SECONDS: {job_id, status_url}"),
        },
        summary="A1111 txt2img, run as a generation job (answers when it is done)",
    )
    @idempotent(waits=True)  # an Idempotency-Key header: a retry gets the same job's answer
    def post(self, request):
        body = json_object(request)
        caller, task = callers.of(request), callers.task_id(body)
        if controlled.units(body):  # ControlNet units: img2img's path from a blank canvas
            return self._with_controls(request, body, caller, task)
        job_request, labels = txt2img.txt2img_request(body, chosen=callers.choice(caller))
        with waiting.hold():  # 503 when too many requests of this process already wait
            try:
                job = services.create_job(created_by=request.user, request=job_request)
            except JobParameterError as exc:
                raise txt2img.client_named(exc, labels) from None
            callers.record(job, caller, task)
            job = waits.wait(job)
        failed = waits.outcome(request, job)
        if failed is not None:
            return failed
        send = body.get("send_images", True) is not False
        images, verdicts = quarantine.answer_pictures(selectors.job_images(job), send=send)
        if not labels["sampler"]:
            labels = {**labels, "sampler": job.scheduler or "default"}
        return Response(answers.txt2img_answer(job=job, body=body, images=images, labels=labels, count=job.images_total, safety=verdicts))

    def _with_controls(self, request, body: dict, caller: str, task: str):
        job_request, uploads = controlled.request(body)
        with waiting.hold():
            job = create_retouch_job(created_by=request.user, request=job_request, uploads=uploads)
            callers.record(job, caller, task)
            job = waits.wait(job)
        failed = waits.outcome(request, job)
        if failed is not None:
            return failed
        images, verdicts = quarantine.answer_pictures(selectors.job_images(job), send=body.get("send_images", True) is not False)
        answer = parsing.img2img_answer(job=job, body=body, images=images, safety=verdicts, sampler=txt2img.sampler_label(job.scheduler))
        return Response({**answer, "parameters": echo.txt2img_parameters(body)})


def _list_view(name: str, reader, summary: str, response=None):
    """A GET endpoint answering ``reader()`` (A1111's list endpoints take no arguments)."""

    @extend_schema(responses={200: response or OpenApiTypes.OBJECT}, summary=summary)
    def get(self, request):
        return Response(reader())

    return type(name, (A1111View,), {"get": get, "__doc__": summary})


SDModelsView = _list_view(
    "SDModelsView", catalog.sd_models, "A1111 checkpoints: the library's pipelines (else GARDEN_DIFFUSION_MODEL)", schemas.SD_MODELS
)
SamplersView = _list_view("SamplersView", catalog.samplers, "A1111 samplers we run: [{name, aliases, options}]", schemas.SAMPLERS)
SchedulersView = _list_view("SchedulersView", catalog.schedulers, "A1111 schedulers we honour: Automatic, Karras", schemas.SCHEDULERS)
UpscalersView = _list_view(
    "UpscalersView", catalog.upscalers, "A1111 upscalers: None, Lanczos, Nearest and the library's (ESRGAN family)", schemas.UPSCALERS
)
LatentUpscaleModesView = _list_view(
    "LatentUpscaleModesView", catalog.latent_upscale_modes, "The hires fix's latent upscalers: [{name}]", schemas.LATENT_UPSCALE_MODES
)
SDVaeView = _list_view("SDVaeView", catalog.sd_vaes, "The library's VAEs: [{model_name, filename}]", schemas.SD_VAES)
LorasView = _list_view("LorasView", catalog.loras, "The library's LoRAs: [{name, alias, path, metadata}]", schemas.LORAS)
EmbeddingsView = _list_view("EmbeddingsView", catalog.embeddings, "The library's textual-inversion embeddings")
PromptStylesView = _list_view("PromptStylesView", catalog.prompt_styles, "Prompt styles (edited in the admin)", schemas.PROMPT_STYLES)
ScriptsView = _list_view(
    "ScriptsView", lambda: {"txt2img": ["controlnet"], "img2img": ["controlnet"]}, "A1111 scripts: the always-on ControlNet"
)
CmdFlagsView = _list_view(
    "CmdFlagsView", lambda: {"api": True, "nowebui": True, "api_auth": None}, "A1111 command-line flags, as a client reads them"
)
ControlNetVersionView = _list_view(
    "ControlNetVersionView", lambda: {"version": catalog.CONTROLNET_API_VERSION}, "ControlNet extension API version"
)
ControlNetModulesView = _list_view("ControlNetModulesView", catalog.controlnet_modules, "ControlNet modules (preprocessors) we run")
ControlNetModelsView = _list_view(
    "ControlNetModelsView", lambda: {"model_list": catalog.controlnet_models()}, "The configured ControlNets (lineart, canny)"
)
ControlNetControlTypesView = _list_view(
    "ControlNetControlTypesView", catalog.controlnet_control_types, "ControlNet control types: modules and models of each"
)
HypernetworksView = _list_view("HypernetworksView", list, "Hypernetworks: none (the library has no hypernetworks)", schemas.EMPTY_LIST)
FaceRestorersView = _list_view("FaceRestorersView", list, "Face restorers: none (no face restoration here)", schemas.EMPTY_LIST)
RealesrganModelsView = _list_view(
    "RealesrganModelsView", catalog.realesrgan_models, "The library's upscalers: [{name, path, scale}]", schemas.REALESRGAN_MODELS
)
ScriptInfoView = _list_view("ScriptInfoView", list, "Selectable scripts' arguments: none (no scripts run here)", schemas.EMPTY_LIST)
ExtensionsView = _list_view("ExtensionsView", catalog.extensions, "The extensions whose API is answered here", schemas.EXTENSIONS)
ControlNetSettingsView = _list_view(
    "ControlNetSettingsView", lambda: {"control_net_unit_count": catalog.CONTROLNET_UNITS}, "ControlNet units per call"
)


class ExtraSingleImageView(A1111View):
    @extend_schema(
        request={"application/json": schemas.EXTRA_SINGLE_IMAGE},
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description='{"html_info": "<p>…</p>", "image": "<base64 PNG>"}'),
            400: OpenApiResponse(description="Invalid or unsupported fields, named"),
            503: OpenApiResponse(description="The worker could not upscale it, or GARDEN_A1111_MAX_WAITING requests already wait"),
            504: OpenApiResponse(description="No worker answered within GARDEN_A1111_WAIT_SECONDS"),
        },
        summary="A1111 Extras: upscale one picture (None, Lanczos, Nearest, or a library upscaler on a GPU worker)",
    )
    def post(self, request):
        checked = extras.extras_request(json_object(request))
        with waiting.hold():  # 503 when too many requests of this process already wait
            try:
                picture, info = extras.upscale(checked)
            except extras.ExtrasFailed as exc:
                retry = str(max(1, round(settings.GARDEN_WORKER_PRESENCE_SECONDS)))
                answer = {"error": "failed", "detail": str(exc)}
                return Response(answer, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": retry})
            except extras.ExtrasTimeout:
                detail = f"No GPU worker upscaled it within {settings.GARDEN_A1111_WAIT_SECONDS:g}s (GARDEN_A1111_WAIT_SECONDS)."
                return Response({"error": "Timeout", "detail": detail}, status=status.HTTP_504_GATEWAY_TIMEOUT)
        return Response(extras.answer(picture, info))


class RefreshView(A1111View):
    """``refresh-checkpoints``/``-loras``/``-vae``/``-embeddings``: rescan the model library (A1111 answers null)."""

    @extend_schema(
        request=None,
        responses={200: schemas.NULL_BODY, 503: OpenApiResponse(description="The scan could not be queued or failed")},
        summary="Rescan the model library (GARDEN_MODELS_DIR) on a worker",
    )
    def post(self, request):
        # A1111 answers once it has rescanned (a client lists the models next); a web process never
        # scans: a worker does, and this waits for it up to GARDEN_A1111_REFRESH_SECONDS.
        if settings.GARDEN_MODELS_DIR:  # no library: nothing to scan
            record = library_follow.scan_by_a_worker("a1111", wait_seconds=settings.GARDEN_A1111_REFRESH_SECONDS)
            if record.state == LibraryScan.State.FAILED:
                retry = str(max(1, round(settings.GARDEN_WORKER_PRESENCE_SECONDS)))
                answer = {"error": "failed", "detail": f"The model library was not rescanned: {record.message}"}
                return Response(answer, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": retry})
        return JsonResponse(None, safe=False)  # "null", as A1111 (DRF would send an empty body)


class ProgressView(A1111View):
    @extend_schema(
        parameters=[OpenApiParameter("skip_current_image", bool, description="Ignored: no previews are sent")],
        responses=OK,
        summary="Progress of the caller's running (else next queued) job, in A1111's shape",
    )
    def get(self, request):
        flag = request.query_params.get("skip_current_image")
        if flag is not None and flag.strip().lower() not in BOOLEANS:
            raise JobParameterError(fields={"skip_current_image": "skip_current_image must be true or false."})
        return Response(catalog.progress(callers.current_job(callers.of(request))))


class InterruptView(A1111View):
    """``interrupt`` and ``skip``: cancel the caller's running and queued jobs (A1111 answers {})."""

    @extend_schema(request=None, responses=OK, summary="Cancel the caller's running and queued jobs")
    def post(self, request):
        callers.interrupt(callers.of(request))
        return Response({})


class InterrogateView(A1111View):
    @extend_schema(
        request={"application/json": schemas.SDAPI_INTERROGATE},
        responses={200: OpenApiTypes.OBJECT, 503: None},
        summary="A caption from the configured tagger: {caption: 'tag, tag, …'}",
    )
    def post(self, request):
        body = json_object(request)
        model = body.get("model", "clip")
        if not isinstance(model, str):
            raise JobParameterError(fields={"model": "model must be text."})
        picture = parsing.open_picture(parsing.decode_base64(body.get("image"), "image"), "image")
        tags = picture_tags(picture=picture, threshold=DEFAULT_THRESHOLD)["tags"]  # 503 naming GARDEN_RETOUCH_TAGGER_MODEL without one
        return Response({"caption": ", ".join(sorted(tags, key=lambda tag: -tags[tag]))})


class PngInfoView(A1111View):
    @extend_schema(
        request={"application/json": schemas.PNG_INFO},
        responses=OK,
        summary="A picture's generation parameters: {info, items, parameters}",
    )
    def post(self, request):
        content = parsing.decode_base64(json_object(request).get("image"), "image")
        return Response(answers.png_info(content))
