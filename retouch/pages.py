"""The staff retouch page. A thin view that renders kiosk/retouch.html; its script
(retouch/static/retouch/retouch.js) talks only to the job API and the retouch endpoints. Defaults
come from retouch.options, the prompt's length from generation.requests.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, pgettext_lazy
from django.views.decorators.http import require_GET

from garden import labels
from garden.models import Image
from garden.selectors import image_url
from generation.backends.diffusion import SCHEDULERS
from generation.requests import TEXT_LIMITS
from retouch.features import feature_status
from retouch.imaging import MASKED_CONTENT
from retouch.options import MASK_BLUR, OPACITY, PADDING, STRENGTH, WORK_SIZE

# The retouch app's default positive prompt (docs/contracts.md, "The retouch app's calls").
RETOUCH_PROMPT = "masterpiece, realistic, photorealistic"
# What the page calls each way to fill the masked area before painting (retouch.imaging.MASKED_CONTENT).
MASKED_CONTENT_LABELS = {
    "original": pgettext_lazy("masked content", "original"),
    "fill": pgettext_lazy("masked content", "fill"),
    "noise": pgettext_lazy("masked content", "latent noise"),
    "nothing": pgettext_lazy("masked content", "latent nothing"),
}


@require_GET
def retouch(request):
    """The staff retouch page; ``?image=<id>`` opens it with a garden image (the admin's Retouch button)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not request.user.is_staff:
        raise PermissionDenied(gettext("Staff only."))
    image = None
    if request.GET.get("image", "").isdecimal():
        found = Image.objects.with_id(int(request.GET["image"])).first()
        if found is not None:
            image = {
                "id": found.pk,
                "url": image_url(found.key, request=request),
                "width": found.width,
                "height": found.height,
                "key": found.key,
            }
    config = {
        "jobsUrl": reverse("generation-jobs"),
        "statusUrl": reverse("retouch-status"),
        "edgesUrl": reverse("retouch-edges"),
        "tagsUrl": reverse("retouch-tags"),
        "decideUrl": reverse("curation:decide"),
        "adminImageUrl": reverse("admin:garden_image_change", args=[0]),
        "image": image,
        "features": feature_status(),
        "defaults": {"strength": STRENGTH, "opacity": OPACITY, "maskBlur": MASK_BLUR, "workSize": WORK_SIZE, "padding": PADDING},
        "maxBodyBytes": settings.GARDEN_RETOUCH_MAX_BODY_BYTES,
    }
    context = {
        "config": config,
        "default_prompt": RETOUCH_PROMPT,
        "prompt_max": TEXT_LIMITS["prompt"],
        "samplers": ["", *SCHEDULERS],
        "masked_content": [(name, MASKED_CONTENT_LABELS.get(name, name)) for name in MASKED_CONTENT],
        "ai_label_text": labels.ai_label().current,
    }
    return render(request, "kiosk/retouch.html", context)
