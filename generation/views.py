"""Generation endpoints: legacy POST /text2image and the asynchronous job API under /api/v1/jobs.

Generation costs GPU time: every endpoint here needs a staff session or an API token.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import LenientJSONParser, json_object
from generation import selectors, services
from generation.models import GenerationJob
from generation.serializers import JobCreateSerializer, JobSerializer, Text2ImageSerializer


class StaffOrToken(BasePermission):
    """A staff session, or any user authenticated with an API token (DRF TokenAuthentication)."""

    message = "Generation needs a staff session or an API token."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return bool(user.is_staff or isinstance(request.successful_authenticator, TokenAuthentication))


class GenerationAPIView(APIView):
    # Token first: an anonymous call gets 401 with `WWW-Authenticate: Token`.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [StaffOrToken]


def _create(request, data: dict) -> GenerationJob:
    try:
        return services.create_job(created_by=request.user, **data)
    except services.JobParameterError as exc:
        raise serializers.ValidationError({"detail": str(exc)}) from None


_JOB_FILTERS = [
    OpenApiParameter("status", str, enum=GenerationJob.Status.values),
    OpenApiParameter("kind", str, enum=GenerationJob.Kind.values),
    OpenApiParameter("emotion", str),
    OpenApiParameter("backend", str),
    OpenApiParameter("mine", bool, description="Only my jobs (staff see everyone's by default)"),
]


class JobPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class JobListView(GenerationAPIView):
    pagination_class = JobPagination

    @extend_schema(parameters=_JOB_FILTERS, responses={200: JobSerializer(many=True)}, summary="List generation jobs, newest first")
    def get(self, request):
        jobs = selectors.jobs_visible_to(user=request.user).prefetch_related("images")
        for name in ("status", "kind", "emotion", "backend"):
            if value := request.query_params.get(name):
                jobs = jobs.filter(**{name: value})
        if request.query_params.get("mine", "").lower() in ("1", "true", "yes"):
            jobs = jobs.filter(created_by=request.user)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(jobs.order_by("-created_at"), request, view=self)
        return paginator.get_paginated_response(JobSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(
        request=JobCreateSerializer,
        responses={202: JobSerializer, 400: OpenApiResponse(description="Invalid parameters"), 401: None, 403: None},
        summary="Submit a generation job (answers at once with its id)",
    )
    def post(self, request):
        serializer = JobCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = _create(request, serializer.validated_data)
        job.refresh_from_db()
        body = JobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class JobDetailView(GenerationAPIView):
    @extend_schema(responses={200: JobSerializer, 404: None}, summary="Status, progress, queue position and result of a job")
    def get(self, request, job_id):
        job = get_object_or_404(selectors.jobs_visible_to(user=request.user), pk=job_id)
        return Response(JobSerializer(job, context={"request": request}).data)


class JobCancelView(GenerationAPIView):
    @extend_schema(request=None, responses={200: JobSerializer, 404: None}, summary="Cancel a job (idempotent)")
    def post(self, request, job_id):
        job = get_object_or_404(selectors.jobs_visible_to(user=request.user), pk=job_id)
        job = services.cancel_job(job=job)
        return Response(JobSerializer(job, context={"request": request}).data)


class JobRetryView(GenerationAPIView):
    @extend_schema(request=None, responses={202: JobSerializer, 409: None}, summary="Queue a failed or cancelled job again")
    def post(self, request, job_id):
        job = get_object_or_404(selectors.jobs_visible_to(user=request.user), pk=job_id)
        if job.status not in (GenerationJob.Status.FAILED, GenerationJob.Status.CANCELLED):
            return Response({"detail": f"Only failed or cancelled jobs can be retried; this one is {job.status}."}, status=409)
        job = services.retry_job(job=job)
        return Response(JobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class Text2ImageView(GenerationAPIView):
    """The legacy endpoint, as a thin adapter over the job API.

    Waits up to GARDEN_TEXT2IMAGE_WAIT_SECONDS for the job; answers the old envelope with URLs
    only once the images exist, and otherwise 202 with the job id to poll.
    """

    parser_classes = [LenientJSONParser]

    @extend_schema(
        request=Text2ImageSerializer,
        responses={
            200: inline_serializer(
                "Text2ImageEnvelope",
                {"statusCode": serializers.IntegerField(), "body": serializers.CharField(), "time": serializers.IntegerField()},
            ),
            202: OpenApiResponse(OpenApiTypes.OBJECT, description="Still running: {statusCode, jobId, status, statusUrl}"),
            400: OpenApiResponse(description="Invalid text or size"),
        },
        summary="Legacy synchronous text-to-image (body is a JSON string holding an array of URLs)",
    )
    def post(self, request):
        started = time.monotonic()
        serializer = Text2ImageSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = _create(
            request,
            {
                "prompt": data["text"],
                "emotion": data["emotion"],
                "width": data["width"],
                "height": data["height"],
                "count": data["count"],
                "steps": data["steps"],
                "seed": data["seed"],
                "others": "",
            },
        )
        job = selectors.wait_for_job(job=job, timeout=settings.GARDEN_TEXT2IMAGE_WAIT_SECONDS)
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
