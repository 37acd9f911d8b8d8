import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_login_page_renders(live_server, page):
    page.goto(live_server.url + "/admin/login/")
    assert "Log in" in page.title()


def test_the_harness_chromium_keeps_playwrights_switches_without_the_omnibox_popup(browser):
    """tests/browser.py replaces Playwright's --disable-features with one naming its features and
    IDLE_FEATURES: one switch (Chromium obeys only the last), and no omnibox popup renderer."""
    from testkit.chromium import IDLE_FEATURES

    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto("chrome://version")
        disabled = [switch for switch in page.inner_text("#command_line").split() if switch.startswith("--disable-features=")]
        targets = browser.new_browser_cdp_session().send("Target.getTargets")["targetInfos"]
    finally:
        context.close()
    assert len(disabled) == 1, disabled
    assert {"PaintHolding", "MediaRouter", *IDLE_FEATURES} <= set(disabled[0].removeprefix("--disable-features=").split(","))
    assert not [target["url"] for target in targets if target["url"].startswith("chrome://omnibox-popup")]
