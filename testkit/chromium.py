"""Debian's headless Chromium, as the browser tests and the browser benches (fleet, kiosk_soak) launch it.

Playwright's own browser download cannot work here, so it drives /usr/bin/chromium (override with
GARDEN_CHROMIUM).
"""

from __future__ import annotations

import os
import shutil

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


# Headless Chromium preloads the omnibox popup's WebUI, in a renderer of its own, for every new
# window: every test's context. That renderer cost ~1.3 s of CPU per context, most of what a browser
# test spent, and no test has an omnibox.
IDLE_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxFullPopup", "WebUIOmniboxAimPopup")
_playwright_disabled: dict[str, str] = {}  # {"switch": Playwright's own --disable-features, or ""}: read once per process


def chromium_path() -> str | None:
    return os.environ.get("GARDEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright, args: list[str]):
    """Headless Chromium with ``args`` and the IDLE_FEATURES off.

    Chromium obeys only the last --disable-features switch, and Playwright passes one of its own: so
    that switch, read from a first Chromium's chrome://version, is replaced by one naming its
    features and ours.
    """
    executable = chromium_path()
    if "switch" not in _playwright_disabled:
        probe = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            page = probe.new_page()
            page.goto("chrome://version")
            switches = page.inner_text("#command_line").split()
        finally:
            probe.close()
        _playwright_disabled["switch"] = next((switch for switch in switches if switch.startswith("--disable-features=")), "")
    ours = ",".join(IDLE_FEATURES)
    default = _playwright_disabled["switch"]
    if default:
        return playwright.chromium.launch(
            executable_path=executable, headless=True, ignore_default_args=[default], args=[*args, f"{default},{ours}"]
        )  # fmt: skip
    return playwright.chromium.launch(executable_path=executable, headless=True, args=[*args, f"--disable-features={ours}"])
