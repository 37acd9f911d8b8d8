"""Generation endpoints: legacy POST /text2image and the asynchronous job API under /api/v1/jobs.

Generation costs GPU time: every endpoint here needs a staff session or an API token.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from config.api import json_object
from config.idempotency import idempotent
from config.parsers import LenientJSONParser, SafeJSONParser
from config.schema import GardenAutoSchema, error
from generation import kinds, pages, selectors, services, waits
from generation.api import GenerationAPIView
from generation.models import GenerationJob
from generation.requests import TEXT_LIMITS
from generation.serializers import JobCreateSerializer, JobFilterSerializer, JobSerializer, Text2ImageSerializer


class JobPagination(LimitOffsetPagination):
    """limit/offset paging; a limit or offset that is not a whole number is a 400, not ignored."""

    default_limit = 50
    max_limit = 500

    def get_limit(self, request):
        self._check_number(request, self.limit_query_param)
        return super().get_limit(request)

    def get_offset(self, request):
        self._check_number(request, self.offset_query_param)
        return super().get_offset(request)

    @staticmethod
    def _check_number(request, name: str) -> None:
        value = request.query_params.get(name)
        if value is not None and not value.lstrip("-").isdecimal():
            raise serializers.ValidationError({name: "Expected a whole number."})


class JobListSchema(GardenAutoSchema):
    """POST takes JSON, and the forms of the kinds other apps register (generation.kinds), with
    the error answers those bodies add."""

    def get_request_serializer(self):
        if self.method == "POST":
            forms = kinds.forms()  # several kinds' forms: the first documents them
            return {"application/json": JobCreateSerializer, **({"multipart/form-data": forms[0]} if forms else {})}
        return super().get_request_serializer()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self.method == "POST":
            for code, description in kinds.responses().items():
                responses[str(code)] = self._get_response_for_code(error(description), str(code), direction=direction)
        return responses


class JobListView(GenerationAPIView):
    pagination_class = JobPagination
    schema = JobListSchema()

    def get_parsers(self):
        # JSON, and the bodies of the kinds other apps register (multipart forms with pictures).
        return [SafeJSONParser(), *(parser() for parser in kinds.parsers())]

    @extend_schema(
        parameters=[JobFilterSerializer], responses={200: JobSerializer(many=True)}, summary="List generation jobs, newest first"
    )
    def get(self, request):
        filters = JobFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)  # an unknown status, kind, emotion or backend is a 400
        jobs = selectors.job_list(user=request.user, **filters.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(jobs.order_by("-created_at"), request, view=self)
        return paginator.get_paginated_response(JobSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(
        responses={
            202: JobSerializer,
            400: error("Invalid parameters"),
        },  # and the answers of the registered kinds' bodies (JobListSchema)
        summary="Submit a generation job of any kind (answers at once with its id)",
    )
    @idempotent()  # an Idempotency-Key header makes a retried submission one job
    def post(self, request):
        data = request.data
        if not hasattr(data, "get"):
            raise ParseError("Expected a JSON object or a multipart form.")
        kind = kinds.get(data.get("kind"))
        if kind is not None:  # a kind an app above registers: it parses its own body
            job = kind.submit(request)
        else:
            serializer = JobCreateSerializer(data=json_object(request))
            serializer.is_valid(raise_exception=True)
            job = services.create_job(created_by=request.user, request=serializer.job_request())
        job.refresh_from_db()
        body = JobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class JobDetailView(GenerationAPIView):
    @extend_schema(responses={200: JobSerializer}, summary="Status, progress, queue position and result of a job")
    def get(self, request, job_id):
        job = get_object_or_404(selectors.jobs_visible_to(user=request.user), pk=job_id)
        return Response(JobSerializer(job, context={"request": request}).data)


class JobCancelView(GenerationAPIView):
    @extend_schema(request=None, responses={200: JobSerializer}, summary="Cancel a job (idempotent)")
    def post(self, request, job_id):
        job = get_object_or_404(selectors.jobs_visible_to(user=request.user), pk=job_id)
        job = services.cancel_job(job=job)
        return Response(JobSerializer(job, context={"request": request}).data)


class JobRetryView(GenerationAPIView):
    @extend_schema(
        request=None,
        responses={202: JobSerializer, 409: error("The job is neither failed nor cancelled")},
        summary="Queue a failed or cancelled job again",
    )
    def post(self, request, job_id):
        job = get_object_or_404(selectors.jobs_visible_to(user=request.user), pk=job_id)
        job = services.retry_job(job=job)  # JobStateError → 409 unless failed or cancelled
        return Response(JobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


def _side(limit: str) -> dict:
    return {"type": "integer", "minimum": settings.GARDEN_MIN_SIZE, "maximum": getattr(settings, limit), "multipleOf": 8}


def _page(description: str, media_type: str = "text/html") -> OpenApiResponse:
    return OpenApiResponse(OpenApiTypes.STR, description=f"{description} ({media_type})")


class Text2ImageView(GenerationAPIView):
    """The legacy endpoint, as a thin adapter over the job API.

    Waits up to GARDEN_TEXT2IMAGE_WAIT_SECONDS for the job; answers the old envelope with URLs
    only once the images exist, and otherwise 202 with the job id to poll.
    """

    parser_classes = [LenientJSONParser]

    @extend_schema(
        request={"application/json": Text2ImageSerializer},  # text/plain accepted too (old pages)
        responses={
            200: inline_serializer(
                "Text2ImageEnvelope",
                {"statusCode": serializers.IntegerField(), "body": serializers.CharField(), "time": serializers.IntegerField()},
            ),
            202: OpenApiResponse(OpenApiTypes.OBJECT, description="Still running: {statusCode, jobId, status, statusUrl}"),
            400: error("Invalid text or size"),
            409: error("The job was cancelled"),
            503: error("The job failed (its error says why)"),
        },
        summary="Legacy synchronous text-to-image (body is a JSON string holding an array of URLs)",
    )
    def post(self, request):
        started = time.monotonic()
        serializer = Text2ImageSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        job = services.create_job(created_by=request.user, request=serializer.job_request())
        if settings.GARDEN_TEXT2IMAGE_WAIT_SECONDS > 0:
            with selectors.text2image_waits.take() as granted:  # none free: 202 at once, with the job to poll
                if granted:
                    job = waits.wait_for_job(job.pk, seconds=settings.GARDEN_TEXT2IMAGE_WAIT_SECONDS) or job
        status_url = request.build_absolute_uri(f"/api/v1/jobs/{job.pk}")
        if job.status == GenerationJob.Status.SUCCEEDED:
            urls = [image["url"] for image in selectors.job_result(job, request=request)]
            return Response({"statusCode": 200, "body": json.dumps(urls), "time": round(time.monotonic() - started), "jobId": str(job.pk)})
        if job.is_finished:  # failed or cancelled: say so, with the job to inspect
            code = status.HTTP_409_CONFLICT if job.status == GenerationJob.Status.CANCELLED else status.HTTP_503_SERVICE_UNAVAILABLE
            return Response(
                {"statusCode": code, "jobId": str(job.pk), "status": job.status, "error": job.error, "statusUrl": status_url}, status=code
            )
        return Response(
            {"statusCode": 202, "jobId": str(job.pk), "status": job.status, "statusUrl": status_url},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": status_url},
        )

    @extend_schema(
        description=(
            "The page an old `GET /text2image?prompt=…` link opened on the AWS API server. A staff session or an API token; "
            "anonymous browsers go to the admin login."
        ),
        parameters=[
            OpenApiParameter(
                "prompt",
                {"type": "string", "maxLength": TEXT_LIMITS["prompt"]},
                description="Starts a job (or shows the same one, opened again within 10 minutes)",
            ),
            OpenApiParameter("width", _side("GARDEN_MAX_WIDTH"), description="A multiple of 8; default 768"),
            OpenApiParameter("height", _side("GARDEN_MAX_HEIGHT"), description="A multiple of 8; default 512"),
        ],
        responses={
            (200, "text/html"): _page("The job's page: progress, then the image"),
            (302, "text/html"): _page("No prompt: the text-to-image form; anonymous: the admin login"),
            (400, "text/html"): _page("The page, naming the invalid prompt or size"),
            (401, "text/plain"): _page("An invalid API token", "text/plain"),
            (403, "text/html"): _page("Logged in, but not staff"),
            (414, "text/html"): _page("A link longer than the server's request line (gunicorn: 4094 bytes)"),
        },
        summary="The old API server's link: starts a job and shows its page (HTML)",
    )
    def get(self, request):
        # text2image() below sends GET to the page before DRF authenticates, so that anonymous
        # browsers get the admin login rather than a 401; this method states the path's GET for
        # the schema and the Allow header, and answers the same page.
        return pages.text2image_link(request._request)


_text2image_api = Text2ImageView.as_view()


@csrf_exempt  # as every DRF view: SessionAuthentication checks CSRF itself, token calls need none
def text2image(request):
    """``/text2image``: GET opens the old link's page (generation.pages); every other method is the
    legacy API (Text2ImageView), unchanged."""
    if request.method in ("GET", "HEAD"):
        return pages.text2image_link(request)
    return _text2image_api(request)


# The schema generator documents the path through the API view.
text2image.cls = Text2ImageView
text2image.initkwargs = {}
