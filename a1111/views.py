"""The A1111-compatible endpoints (paths exactly as A1111 serves them, no trailing slash).

Staff or token holders: ``Authorization: Basic`` (A1111's ``--api-auth``: a staff user's password,
remembered once checked, or a client key; config.auth), ``Token``, ``Bearer`` with a client key, or a
staff session; or, without credentials, a client inside GARDEN_A1111_TRUSTED_CLIENTS (A1111
without ``--api-auth``: ``a1111.auth``). Bodies carry base64 pictures, so their cap is GARDEN_RETOUCH_MAX_BODY_BYTES,
not the kiosk's JSON cap. ``/sdapi/v1/img2img`` answers once its job is done (a1111.waits: no fixed
limit unless GARDEN_A1111_WAIT_SECONDS), with at most GARDEN_A1111_MAX_WAITING requests of a
process waiting at once (then 503). Each caller is told apart (a1111.identity).
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from a1111 import identity as callers
from a1111 import options, parsing, quarantine, schemas, txt2img, waits
from a1111.auth import A1111Permission, TrustedClientAuthentication
from config.api import StaffOrTokenAPIView, json_object
from config.idempotency import idempotent
from config.parsers import LenientJSONParser
from generation import selectors
from generation.dispatch import presence
from generation.requests import JobParameterError
from retouch import features, model_folders
from retouch.services import create_retouch_job, edge_map_png, picture_tags
from retouch.tagger import DEFAULT_THRESHOLD

waiting = selectors.WaitSlots("GARDEN_A1111_MAX_WAITING")


def unknown_route(request, *args, **kwargs):
    """A route A1111 clients may call that we do not serve: FastAPI's JSON 404 (``{"detail": "Not Found"}``)."""
    return JsonResponse({"detail": "Not Found", "path": request.path}, status=status.HTTP_404_NOT_FOUND)


class A1111JSONParser(LenientJSONParser):
    # application/json only, as A1111's own server reads it. Not DRF's JSONParser: DRF reads those
    # bodies through request.body, which Django caps at the kiosk's DATA_UPLOAD_MAX_MEMORY_SIZE.
    media_type = "application/json"
    max_bytes_setting = "GARDEN_RETOUCH_MAX_BODY_BYTES"


class A1111View(StaffOrTokenAPIView):
    # Trusted addresses first (None for the others; its header for 401s is Basic's, which A1111 clients
    # answer), then what every API view takes (config/rest.py): a token, Basic (a password or a client key), a session.
    authentication_classes = [TrustedClientAuthentication, *api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    permission_classes = [A1111Permission]
    parser_classes = [A1111JSONParser]


class Img2ImgView(A1111View):
    @extend_schema(
        request={"application/json": schemas.IMG2IMG},
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description='{"images": [base64 PNG], "parameters": {…}, "info": "<JSON>"}'),
            400: OpenApiResponse(description="Invalid or unsupported fields, named"),
            504: OpenApiResponse(description="Not done within GARDEN_A1111_WAIT_SECONDS: {job_id, status_url}"),
        },
        summary="A1111 img2img/inpaint, run as a retouch job (answers when it is done)",
    )
    @idempotent(waits=True)  # an Idempotency-Key header: a retry gets the same job's answer
    def post(self, request):
        body = json_object(request)
        caller, task = callers.of(request), callers.task_id(body)
        chosen = callers.choice(caller)
        job_request, uploads = parsing.img2img_request(body, chosen.model if chosen is not None else "")
        with waiting.hold():  # 503 when too many requests of this process already wait
            job = create_retouch_job(created_by=request.user, request=job_request, uploads=uploads)
            callers.record(job, caller, task)
            job = waits.wait(job)
        failed = waits.outcome(request, job)
        if failed is not None:
            return failed
        images, verdicts = quarantine.answer_pictures(selectors.job_images(job))
        sampler = txt2img.sampler_label(job.scheduler)  # the model's own, for a body that named none
        return Response(parsing.img2img_answer(job=job, body=body, images=images, safety=verdicts, sampler=sampler))


class OptionsView(A1111View):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 503: None},
        summary="A1111's options; the health probe: 200 while a GPU worker is present (the demo's painter: any worker; no broker call)",
    )
    def get(self, request):
        if options.demo_paints():  # txt2img paints procedurally on any worker: healthy while one is present
            present = presence.present_workers()
            if present:
                return Response(options.options_object(sum(1 for worker in present if worker.gpu)))
            return Response(
                {"detail": "No worker was seen: the demo's procedural painter paints on any worker (make run starts one)."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(max(1, round(settings.GARDEN_WORKER_PRESENCE_SECONDS)))},
            )
        features.require("inpaint")
        gpu = len(presence.present_workers(gpu=True))
        if not gpu:
            beat = settings.GARDEN_WORKER_PRESENCE_SECONDS
            return Response(
                {
                    "detail": f"No GPU worker on the {settings.GARDEN_GPU_QUEUE!r} queue was seen in the last "
                    f"{presence.MISSED_BEATS * beat:g}s (workers write their presence every GARDEN_WORKER_PRESENCE_SECONDS)."
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(max(1, round(beat)))},
            )
        return Response(options.options_object(gpu, callers.choice(callers.of(request))))

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: schemas.NULL_BODY, 400: OpenApiResponse(description="An unknown model or a setting we cannot honour, named")},
        summary="A1111's set_config: sd_model_checkpoint and sd_vae are the caller's for its later calls; answers null as A1111 does",
    )
    def post(self, request):
        if request.stream is None:  # no body at all (DRF leaves no stream): A1111 answers 422
            raise ParseError('Send the options to set as a JSON object, e.g. {"sd_model_checkpoint": "…"}.')
        options.set_options(json_object(request), callers.of(request))
        return JsonResponse(None, safe=False)  # A1111's set_config returns None: the body is `null`


class DetectView(A1111View):
    @extend_schema(
        request={"application/json": schemas.DETECT},
        responses={200: OpenApiTypes.OBJECT},
        summary="ControlNet preprocessors: lineart (lineart_standard) and canny",
    )
    def post(self, request):
        detector, pictures, options = parsing.detect_request(json_object(request))
        maps = [edge_map_png(picture=picture, detector=detector, **options) for picture in pictures]
        return Response({"images": [parsing.encode_base64(png) for png in maps], "info": "Success"})


class InterrogateView(A1111View):
    @extend_schema(
        request={"application/json": schemas.INTERROGATE},
        responses={200: OpenApiTypes.OBJECT, 503: None},
        summary="WD14 tagger: {caption: {tag: {…}, rating: {…}}}",
    )
    def post(self, request):
        body = json_object(request)
        threshold = parsing.read_number(body, "threshold", DEFAULT_THRESHOLD)
        if not 0 <= threshold <= 1:
            raise JobParameterError(fields={"threshold": "threshold must be between 0 and 1."})
        picture = parsing.open_picture(parsing.decode_base64(body.get("image"), "image"), "image")
        # The model name is not checked: one tagger is configured, whatever the client calls it.
        result = picture_tags(picture=picture, threshold=threshold)
        return Response({"caption": {"tag": result["tags"], "rating": result["rating"]}})


class InterrogatorsView(A1111View):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="The configured tagger, as A1111's tagger lists its models")
    def get(self, request):
        # Listed by name, not loaded: listing fetches nothing onto this host.
        name = model_folders.shown_name(model_folders.TAGGER_SETTING)
        return Response({"models": [name] if name else []})
