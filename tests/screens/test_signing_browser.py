"""Beats are signed in the page: with Web Crypto in a secure context, and with hmac.js where the
browser has none (a kiosk on a plain-HTTP LAN address). Both are held to Python's hmac, and a page
served over plain HTTP from a non-local name enrols and beats."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tests.screens.browser_support import enrol, fast_beats, wait_for_beat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Keys and messages around SHA-256's 64-byte block: empty, short, exactly a block, a key longer than
# a block (hashed first, RFC 2104), a message crossing blocks, non-ASCII text.
CASES = [
    ("k", ""),  # an empty message (Web Crypto refuses an empty key; a device secret never is)
    ("key", "The quick brown fox jumps over the lazy dog"),
    ("k" * 64, "m" * 64),
    ("K" * 131, "Test Using Larger Than Block-Size Key - Hash Key First"),
    ("s3cret", "7\n1700000000000\n" + '{"kind":"kiosk","page":"/kiosk/"}' * 40),
    ("비밀", "정원 · 庭 · garden ✿"),
    ("x" * 55, "y" * 55),
    ("x" * 56, "y" * 119),
]

SIGN_BOTH = """async ([key, message]) => {
  const enc = new TextEncoder();
  const pure = GardenHmac.hex(GardenHmac.hmacSha256(enc.encode(key), enc.encode(message)));
  let subtle = null;
  if (window.crypto && crypto.subtle) {
    const k = await crypto.subtle.importKey("raw", enc.encode(key), {name: "HMAC", hash: "SHA-256"}, false, ["sign"]);
    subtle = GardenHmac.hex(new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(message))));
  }
  return [pure, subtle];
}"""


def test_both_signing_paths_match_pythons_hmac(live_server, page):
    page.goto(f"{live_server.url}/kiosk/")
    for key, message in CASES:
        expected = hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()
        pure, subtle = page.evaluate(SIGN_BOTH, [key, message])
        assert pure == expected, (key[:10], message[:20])
        assert subtle == expected
    assert page.evaluate("() => GardenHmac.hex(GardenHmac.sha256(new TextEncoder().encode('abc')))") == hashlib.sha256(b"abc").hexdigest()


@pytest.fixture
def plain_http_browser(launch_browser, browser_launch_args):
    """A Chromium that reaches the live server under a LAN-like name: http://kiosk.test is not a
    secure context, so the page has no crypto.subtle (and no camera)."""
    return launch_browser([*browser_launch_args, "--host-resolver-rules=MAP kiosk.test 127.0.0.1"])


def test_a_page_without_web_crypto_signs_with_the_fallback(live_server, plain_http_browser, settings, request):
    from tests.browser import open_page

    fast_beats(settings)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "kiosk.test"]
    port = live_server.url.rsplit(":", 1)[1]
    with open_page(request, plain_http_browser, {"viewport": {"width": 1280, "height": 800}}) as page:
        page.goto(f"http://kiosk.test:{port}/kiosk/")
        assert page.evaluate("() => [window.isSecureContext, !!(window.crypto && crypto.subtle)]") == [False, False]
        screen = enrol(page, f"http://kiosk.test:{port}")
        data = wait_for_beat(screen, message="a beat signed by hmac.js")
        assert data["camera"] == "unsupported"  # no camera outside a secure context: said, not hidden
        page.goto("about:blank")
