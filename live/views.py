"""POST /live, GET /live/<uuid>, DELETE /live/<uuid>: the live picture's kiosk API (docs/live.md).

Thin: parse, call live.services or live.selectors, answer. The 503s (LiveUnavailable, with their
``reason`` and Retry-After), the 409 (LiveWithheld) and the 400s are domain errors answered by config.api's handler.
"""

import uuid

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from config.api import KioskAPIView, KioskRateThrottle, validated, validated_object
from config.errors import NotFound
from config.schema import error
from live import selectors, services
from live.serializers import (
    LiveAcceptedSerializer,
    LiveRequestSerializer,
    LiveStatusSerializer,
    LiveUnavailableSerializer,
    LiveWaitSerializer,
    LiveWithheldSerializer,
)
from live.throttles import LiveRateThrottle

UNAVAILABLE = OpenApiResponse(
    LiveUnavailableSerializer,
    description=(
        "No live picture now (show the curated garden only): `reason` is `off`, `no_live_model`, `no_worker`, "
        "`queue_full` or `budget_spent`; Retry-After says when to ask again"
    ),
)
WITHHELD = OpenApiResponse(
    LiveWithheldSerializer,
    description=(
        "No live picture on this site as it is set up (show the curated garden only): `reason` `image_check_off`, "
        "every live picture would be withheld; asking again does not help"
    ),
)
JOB_ID = OpenApiParameter("job_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The `job` of the POST /live answer")
LOCATION = OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202], description="The status URL")
RETRY_AFTER = OpenApiParameter("Retry-After", int, OpenApiParameter.HEADER, response=[503], description="Seconds before asking again")


class UnknownLiveJob(NotFound):
    """No live picture has that id."""


def _job_or_404(job_id: str, *, wait: float = 0.0):
    """The live job (once it changed, or after ``wait`` seconds), or a JSON 404 for anything else (a
    malformed id too: the kiosk reads JSON)."""
    try:
        job = selectors.live_job_when_changed(uuid.UUID(job_id), seconds=wait)
    except ValueError:
        job = None
    if job is None:
        raise UnknownLiveJob(gettext("No live picture has that id."))
    return job


class LiveView(KioskAPIView):
    throttle_classes = [KioskRateThrottle, LiveRateThrottle]

    @extend_schema(
        summary="Ask for a live picture painted now for this visitor",
        description=(
            "Queues one picture for the visitor's search key, painted by the library's live model (or the procedural "
            "painter on the embedded default). The prompt is composed on the server from the curated template and the "
            "word bank: nothing sent here is painted as text. A visitor has one live picture at a time: asking again "
            "cancels their unfinished one. Poll `statusUrl` (also in `Location`)."
        ),
        request={"application/json": LiveRequestSerializer},
        responses={
            202: LiveAcceptedSerializer,
            400: error("Missing or unknown emotion, a favorite kiosks do not paint, an unknown `from` key"),
            409: WITHHELD,
            503: UNAVAILABLE,
        },
        parameters=[LOCATION, RETRY_AFTER],
        examples=[
            OpenApiExample("Request", request_only=True, value={"id": "1234567890", "emotion": "happy/spring,sunny,day"}),
            OpenApiExample("Unavailable", response_only=True, status_codes=["503"], value={"detail": "…", "reason": "no_worker"}),
        ],
    )
    def post(self, request):
        data = validated(LiveRequestSerializer, request)
        job = services.request_live_picture(visitor_id=data["id"], search_key=data["emotion"], from_key=data.get("from", ""))
        status_url = request.build_absolute_uri(reverse("live-status", args=[job.pk]))
        body = {"job": str(job.pk), "status": job.status, "statusUrl": status_url}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": status_url})


class LiveJobView(KioskAPIView):
    @extend_schema(
        summary="The live picture's status, and the picture once painted and passed",
        description=(
            "`image` comes only when the job succeeded and the safety check passed the picture (or a curator released "
            "it); a picture not passed is withheld (`image` null, `withheld` true). Like it with POST /like, "
            "`itemId` = `image.key`. With `wait`, the answer comes as soon as the job's status or progress "
            "changes (or it is finished), and after `wait` seconds at the latest: ask again at once."
        ),
        responses={200: LiveStatusSerializer, 400: error("A `wait` that is not a number of seconds (0 or more)")},
        parameters=[JOB_ID, LiveWaitSerializer],
    )
    def get(self, request, job_id):
        wait = validated_object(LiveWaitSerializer, request.query_params.dict())["wait"]
        job = _job_or_404(job_id, wait=wait)
        response = Response(selectors.live_status(job).as_body(request=request))
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        summary="Cancel the live picture (the visitor left); idempotent",
        description="A queued job never starts, a running one stops at its next step; a finished one stays as it is.",
        responses={204: None},
        parameters=[JOB_ID],
    )
    def delete(self, request, job_id):
        services.cancel_live_picture(job=_job_or_404(job_id))
        return HttpResponse(status=204)
