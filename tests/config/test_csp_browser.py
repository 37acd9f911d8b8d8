"""The pages keep working under the Content-Security-Policy: real Chromium reports no violation."""

import pytest
from django.contrib.auth import get_user_model

from garden.models import Image
from screens.models import Screen
from screens.services import open_enrolment
from tests.factories import ImageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "csp-check-password-1"
# Runs before any page script (injected by the browser, not by the page, so CSP does not apply to it).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""
PAGES = [
    ("/", "#capture-button"),
    ("/kiosk/emotion/", "#capture-button"),
    ("/kiosk/text2image/", "#t2i-prompt"),
    ("/admin/", "#content"),
    ("/admin/garden/image/", "#result_list"),
    ("/curation/review/", "#review[data-ready='1']"),
    ("/admin/generation/generationjob/add/", "form"),
    ("/api/docs", ".swagger-ui"),
    ("/api/redoc", "redoc, #redoc-container, .api-content"),
    ("/display/zone1/", "#signage"),
    ("/admin/displays/", "#content"),
    ("/curation/status/", "#system-status"),
    ("/admin/screens/screen/", "#result_list"),
    ("/admin/library/libraryentry/", "#library-follow"),
    ("/admin/screens/screen/{screen}/change/", "#screen-overview"),
    ("/screens/enrol/{token}", "#screen-enrol"),
]


def test_no_page_breaks_the_content_security_policy(live_server, page):
    get_user_model().objects.create_superuser("root", password=PASSWORD)
    for n in range(3):
        ImageFactory(status=Image.Status.POOL, emotion="calm", seed=n)
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#content")
    screen = Screen.objects.create(name="Hall kiosk")
    token = open_enrolment(screen=screen)
    found = {}
    for path, ready in PAGES:
        page.goto(live_server.url + path.format(screen=screen.pk, token=token))
        page.wait_for_selector(ready, state="attached", timeout=20_000)
        page.wait_for_timeout(300)  # late script-inserted content
        violations = page.evaluate("window.__violations")
        if violations:
            found[path] = violations
    assert not found, found
