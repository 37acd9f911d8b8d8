"""Retouch endpoints: edge maps and tags (answered in the web process), the GPU pool's status,
and a batch job's results as a zip. Retouch jobs themselves go through ``POST /api/v1/jobs``:
generation's job API hands their kinds to ``submit_job`` (registered in ``retouch.apps``).

Staff session or API token, like every generation endpoint.
"""

from __future__ import annotations

import zipfile

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from config.api import validated
from config.errors import Conflict
from config.parsers import SafeJSONParser
from garden.services import read_file
from generation import selectors
from generation.api import GenerationAPIView
from generation.models import GenerationJob
from retouch import features, services, upscale
from retouch import selectors as retouch_selectors
from retouch.models import RETOUCH_KINDS
from retouch.serializers import EdgesSerializer, RetouchJobSerializer, RetouchMultiPartParser, TagsSerializer, UpscaleJobSerializer


def submit_job(request) -> GenerationJob:
    """``POST /api/v1/jobs`` with a retouch kind: the form and its pictures → the queued job."""
    form = RetouchJobSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    job_request, uploads = form.parse()
    return services.create_retouch_job(created_by=request.user, request=job_request, uploads=uploads)


def submit_upscale(request) -> GenerationJob:
    """``POST /api/v1/jobs`` with kind ``upscale``: the form and its picture → the queued job."""
    form = UpscaleJobSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    job_request, image = form.parse()
    return upscale.create_upscale_job(created_by=request.user, request=job_request, image=image)


class RetouchStatusView(GenerationAPIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="GPU workers answering, queue depth, which retouch models are configured")
    def get(self, request):
        pool = selectors.answering_workers(timeout=settings.GARDEN_RETOUCH_PING_TIMEOUT)
        gpu = selectors.gpu_workers(pool)
        body = {
            "gpu_queue": settings.GARDEN_GPU_QUEUE,
            "gpu_workers": gpu,
            "workers": pool["workers"],
            **selectors.queue_counts(queue=settings.GARDEN_GPU_QUEUE),
            "features": features.feature_status(),
        }
        if "error" in pool:
            body["broker_error"] = pool["error"]
        return Response(body)


class EdgesView(GenerationAPIView):
    parser_classes = [RetouchMultiPartParser, SafeJSONParser]

    @extend_schema(
        request={"multipart/form-data": EdgesSerializer},
        responses={(200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="White lines on black")},
        summary="Edge map of a picture (lineart_standard or Canny), to edit and send back as a control",
    )
    def post(self, request):
        data = validated(EdgesSerializer, request)
        upload = data.get("image")
        picture = services.source_picture(content=upload.read() if upload else None, image_id=data["image_id"])
        png = services.edge_map_png(
            picture=picture, detector=data["detector"], low=data["low"], high=data["high"], resolution=data["resolution"]
        )
        return HttpResponse(png, content_type="image/png")


class TagsView(GenerationAPIView):
    parser_classes = [RetouchMultiPartParser, SafeJSONParser]

    @extend_schema(
        request={"multipart/form-data": TagsSerializer},
        responses={200: OpenApiTypes.OBJECT, 503: OpenApiResponse(description="No tagger configured (names the setting)")},
        summary="WD14 tags of a picture: {tags: {tag: score}, rating: {…}}",
    )
    def post(self, request):
        data = validated(TagsSerializer, request)
        upload = data.get("image")
        picture = services.source_picture(content=upload.read() if upload else None, image_id=data["image_id"])
        return Response(services.picture_tags(picture=picture, threshold=data["threshold"]))


class _ZipStream:
    """A write-only file that hands each chunk zipfile writes to the response as it comes."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.written = 0

    def write(self, chunk: bytes) -> int:
        self.chunks.append(bytes(chunk))
        self.written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def _archive_chunks(entries: list[tuple[str, str]]):
    stream = _ZipStream()
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, key in entries:
            with archive.open(name, "w", force_zip64=True) as member:
                member.write(read_file(key))
            yield stream.take()
    yield stream.take()


class JobArchiveView(GenerationAPIView):
    @extend_schema(
        responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="application/zip"), 409: None},
        summary="A retouch job's results as a zip",
    )
    def get(self, request, job_id):
        job = get_object_or_404(selectors.jobs_visible_to(user=request.user), pk=job_id)
        if job.kind not in RETOUCH_KINDS:
            raise Conflict("Only retouch jobs have an archive.")
        entries = retouch_selectors.retouch_archive_entries(job)
        if not entries:
            raise Conflict(f"The job has no results yet ({job.status}).")
        response = StreamingHttpResponse(_archive_chunks(entries), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="retouch-{job.pk}.zip"'
        return response
