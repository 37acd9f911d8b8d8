"""The budgeted requests of every endpoint outside the admin (admin_cases.py holds the admin's).

Heavy endpoints are measured on their request path: jobs stay queued (``no_enqueue``), the A1111
and /text2image waits are zero (so a job-making call answers 504/202 at once), and work the app
does on commit (enqueueing) is not run inside the test's transaction.
"""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from screens import signing
from screens.services import now_ms
from tests.factories import jpeg_bytes
from tests.query_budget.case import BASIC, KEY, MULTIPART, STAFF, TOKEN, WRONG_PASSWORD, Case, png_base64


def _astronaut_jpeg(_dataset) -> bytes:
    """A real face (scikit-image's sample), so /emotion stores a visitor as it does at a kiosk."""
    import io

    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "JPEG")
    return buffer.getvalue()


def _signed_beat(dataset, raw: bytes) -> dict:
    ts = now_ms()
    return {
        "HTTP_X_SCREEN": str(dataset.screen.pk),
        "HTTP_X_SCREEN_TIME": str(ts),
        "HTTP_X_SCREEN_SIGNATURE": signing.signature(dataset.screen_secret, dataset.screen.pk, ts, raw),
    }


def _beat(_dataset) -> dict:
    return {
        "kind": "kiosk", "page": "/kiosk/", "version": "", "language": "en", "interval": 15, "load": "a1b2c3d4e5f60718",
        "uptime": 42.5, "camera": "ok", "outbox": {"length": 0, "oldest": 0}, "errors": [], "errorCount": 0, "visitors": 3,
        "heap": {"used": 20_000_000, "limit": 4_000_000_000}, "screen": {"width": 1920, "height": 1080, "dpr": 1},
        "wakeLock": "held", "maintenance": False, "reload": "", "acks": [],
    }  # fmt: skip


def _picture(_dataset) -> dict:
    return {"image": png_base64()}


def _img2img(_dataset) -> dict:
    return {**TXT2IMG, "init_images": [png_base64()]}


def _upload(_dataset) -> dict:
    return {"image": SimpleUploadedFile("leaf.jpg", jpeg_bytes(64, 64), content_type="image/jpeg")}


JOB = {"emotion": "calm", "width": 64, "height": 64, "steps": 2, "seed": 7, "backend": "procedural"}
TEXT2IMAGE = {"text": "a garden of glass", "width": 64, "height": 64}
FORM = "application/x-www-form-urlencoded"
TXT2IMG = {"prompt": "a garden of glass", "width": 64, "height": 64, "steps": 2}

KIOSK = [
    Case("POST /emotion", "/emotion", "POST", body=_astronaut_jpeg, content_type="image/jpeg"),
    Case("POST /garden", "/garden", "POST", body=lambda d: {"id": d.visitor_id, "emotion": "calm"}),
    Case("POST /garden (anonymous visitor)", "/garden", "POST", body=lambda d: {"emotion": "happy"}),
    Case("POST /gardenfromDB", "/gardenfromDB", "POST", body=lambda d: {"emotion": "calm"}),
    Case("POST /like", "/like", "POST", body=lambda d: {"id": d.visitor_id, "itemId": d.keys[1], "impression": d.keys}),
    Case("POST /impression", "/impression", "POST", body=lambda d: {"id": d.visitor_id, "impression": d.keys}),
    Case("POST /dislike", "/dislike", "POST", body=lambda d: {"id": d.visitor_id, "itemId": d.serving_key}),
    Case("GET / (kiosk page)", "/"),
    Case("GET /kiosk/", "/kiosk/"),
    Case("GET /kiosk", "/kiosk"),
    Case("GET /kiosk/emotion/", "/kiosk/emotion/"),
    Case("GET /kiosk/emotion", "/kiosk/emotion"),
    Case("GET /kiosk/visitor-code", "/kiosk/visitor-code?id={visitor_id}"),
    Case("GET /ko/kiosk/ (pinned language)", "/ko/kiosk/"),
    Case("GET /ko/kiosk", "/ko/kiosk"),
    Case("GET /ko/kiosk/emotion/", "/ko/kiosk/emotion/"),
    Case("GET /ko/kiosk/emotion", "/ko/kiosk/emotion"),
    Case("GET /image (share page)", "/image?content={serving_key}"),
    Case("GET /image/qr", "/image/qr?content={serving_key}"),
    Case("POST /i18n/setlang/", "/i18n/setlang/", "POST", body=lambda d: b"language=ko", content_type=FORM, status=302),
]

LIVE = [
    Case("POST /live", "/live", "POST", body=lambda d: {"id": "budget-visitor", "emotion": "happy"}, status=202),
    Case("GET /live/<job>", "/live/{live_job.pk}"),
    # The long poll (nobody paints the job, so it waits its whole bound): the job read before the wait and after it.
    Case("GET /live/<job>?wait=", "/live/{live_job.pk}?wait=0.2"),
    Case("DELETE /live/<job>", "/live/{live_job.pk}", "DELETE", status=204),
]

DISPLAYS = [
    Case("POST /updateDisplay", "/updateDisplay", "POST", TOKEN, body=lambda d: {"zone": d.zone, "landscape": [d.keys[1]]}),
    Case("GET /display/<zone>/img<N><o>.jpeg", "/display/{zone}/img1h.jpeg?1700000000123"),
    Case("GET /display/<zone>/state", "/display/{zone}/state"),
    Case("GET /display/<zone>/ (signage page)", "/display/{zone}/"),
    Case("GET /display/<zone>", "/display/{zone}"),
]

SCREENS = [
    Case("POST /screens/beat", "/screens/beat", "POST", body=_beat, headers=_signed_beat),
    Case("POST /screens/enrol", "/screens/enrol", "POST", body=lambda d: {"token": d.enrol_token, "anonymous": "cafe0000cafe"}),
    Case("GET /screens/enrol/<token>", "/screens/enrol/{enrol_token}"),
]

JOBS = [
    Case("GET /api/v1/jobs", "/api/v1/jobs", who=TOKEN),
    Case("POST /api/v1/jobs", "/api/v1/jobs", "POST", TOKEN, body=lambda d: JOB, status=202),
    Case("GET /api/v1/jobs/<id>", "/api/v1/jobs/{job.pk}", who=TOKEN),
    Case("POST /api/v1/jobs/<id>/cancel", "/api/v1/jobs/{queued_job.pk}/cancel", "POST", TOKEN),
    Case("POST /api/v1/jobs/<id>/retry", "/api/v1/jobs/{failed_job.pk}/retry", "POST", TOKEN, status=202),
    Case("GET /api/v1/jobs/<id>/archive", "/api/v1/jobs/{job.pk}/archive", who=TOKEN, status=409),
    Case("POST /text2image", "/text2image", "POST", TOKEN, body=lambda d: TEXT2IMAGE, status=202),
    Case("GET /text2image (old link)", "/text2image?prompt=a+garden+of+blue+roses", who=STAFF),
    Case("GET /kiosk/text2image/", "/kiosk/text2image/", who=STAFF),
    Case("GET /kiosk/text2image", "/kiosk/text2image", who=STAFF),
]

RETOUCH = [
    Case("GET /kiosk/retouch/", "/kiosk/retouch/", who=STAFF),
    Case("GET /kiosk/retouch", "/kiosk/retouch", who=STAFF),
    Case("GET /api/v1/retouch/status", "/api/v1/retouch/status", who=STAFF),
    Case("POST /api/v1/retouch/edges", "/api/v1/retouch/edges", "POST", STAFF, body=_upload, content_type=MULTIPART),
    Case("POST /api/v1/retouch/tags", "/api/v1/retouch/tags", "POST", STAFF, body=_upload, content_type=MULTIPART, status=503),
]

A1111_LISTS = [
    "sd-models", "samplers", "schedulers", "upscalers", "latent-upscale-modes", "sd-vae", "loras", "embeddings",
    "prompt-styles", "scripts", "cmd-flags", "progress", "options", "hypernetworks", "face-restorers", "realesrgan-models",
    "script-info", "extensions",
]  # fmt: skip
A1111 = [
    *(Case(f"GET /sdapi/v1/{name}", f"/sdapi/v1/{name}", who=TOKEN) for name in A1111_LISTS),
    *(
        Case(f"GET /controlnet/{name}", f"/controlnet/{name}", who=TOKEN)
        for name in ("version", "module_list", "model_list", "settings", "control_types")
    ),
    Case("GET /internal/pending-tasks", "/internal/pending-tasks", who=TOKEN),
    Case("POST /internal/progress", "/internal/progress", "POST", TOKEN, body=lambda d: {"id_task": "task(budget)"}),
    Case("GET /queue/status", "/queue/status", who=TOKEN),
    Case("GET /tagger/v1/interrogators", "/tagger/v1/interrogators", who=TOKEN),
    Case("POST /sdapi/v1/options", "/sdapi/v1/options", "POST", TOKEN, body=lambda d: {"samples_save": True}),
    Case("POST /sdapi/v1/txt2img", "/sdapi/v1/txt2img", "POST", TOKEN, body=lambda d: TXT2IMG, status=504),
    Case("POST /sdapi/v1/img2img", "/sdapi/v1/img2img", "POST", TOKEN, body=_img2img, status=504),
    Case(
        "POST /sdapi/v1/extra-single-image",
        "/sdapi/v1/extra-single-image",
        "POST",
        TOKEN,
        body=lambda d: {"image": png_base64(), "upscaling_resize": 2, "upscaler_1": "Lanczos"},
    ),
    Case("POST /sdapi/v1/refresh-checkpoints", "/sdapi/v1/refresh-checkpoints", "POST", TOKEN),
    Case("POST /sdapi/v1/refresh-loras", "/sdapi/v1/refresh-loras", "POST", TOKEN),
    Case("POST /sdapi/v1/refresh-vae", "/sdapi/v1/refresh-vae", "POST", TOKEN),
    Case("POST /sdapi/v1/refresh-embeddings", "/sdapi/v1/refresh-embeddings", "POST", TOKEN),
    Case("POST /sdapi/v1/interrupt", "/sdapi/v1/interrupt", "POST", TOKEN),
    Case("POST /sdapi/v1/skip", "/sdapi/v1/skip", "POST", TOKEN),
    Case("POST /sdapi/v1/interrogate", "/sdapi/v1/interrogate", "POST", TOKEN, body=_picture, status=503),
    Case("POST /sdapi/v1/png-info", "/sdapi/v1/png-info", "POST", TOKEN, body=_picture),
    Case(
        "POST /controlnet/detect",
        "/controlnet/detect",
        "POST",
        TOKEN,
        body=lambda d: {"controlnet_module": "canny", "controlnet_input_images": [png_base64()]},
    ),
    Case(
        "POST /controlnet/detect-only",
        "/controlnet/detect-only",
        "POST",
        TOKEN,
        body=lambda d: {"controlnet_module": "canny", "controlnet_input_images": [png_base64()]},
    ),
    Case("POST /tagger/v1/interrogate", "/tagger/v1/interrogate", "POST", TOKEN, body=_picture, status=503),
]

# The other ways an API call proves who it is (config.auth), on an A1111 poll and the job API:
# a password's first check is the cold count (django-axes, then the hasher), its remembered reuse the warm one.
LOGINS = [
    Case("GET /sdapi/v1/progress (Basic password)", "/sdapi/v1/progress", who=BASIC),
    Case("GET /sdapi/v1/progress (Basic, wrong password)", "/sdapi/v1/progress", who=WRONG_PASSWORD, status=401),
    Case("GET /sdapi/v1/progress (client key)", "/sdapi/v1/progress", who=KEY),
    Case("GET /sdapi/v1/options (Basic password)", "/sdapi/v1/options", who=BASIC),
    Case("GET /api/v1/jobs (Basic password)", "/api/v1/jobs", who=BASIC),
    Case("GET /api/v1/jobs (client key)", "/api/v1/jobs", who=KEY),
]

STAFF_PAGES = [
    Case("GET /curation/review/", "/curation/review/", who=STAFF),
    Case(
        "POST /curation/review/decide",
        "/curation/review/decide",
        "POST",
        STAFF,
        body=lambda d: json.dumps({"ids": [d.pool.pk], "decision": "keep"}).encode(),
    ),
    Case("POST /curation/demote/<pk>/", "/curation/demote/{serving[5].pk}/", "POST", STAFF, status=302),
    Case("GET /curation/status/", "/curation/status/", who=STAFF),
    Case("GET /api/schema", "/api/schema", who=STAFF),
    Case("GET /api/docs", "/api/docs", who=STAFF),
    Case("GET /api/redoc", "/api/redoc", who=STAFF),
]

# Answered by config.probes.ProbeMiddleware before any URL pattern: no route of their own.
PROBES = [
    Case("GET /healthz", "/healthz"),
    Case("GET /readyz", "/readyz"),
    Case("GET /metrics", "/metrics"),
]

CASES = [*KIOSK, *LIVE, *DISPLAYS, *SCREENS, *JOBS, *RETOUCH, *A1111, *LOGINS, *STAFF_PAGES, *PROBES]
PROBE_PATHS = {case.path for case in PROBES}
