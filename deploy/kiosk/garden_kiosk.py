#!/usr/bin/env python3
"""The kiosk machine's launcher: Chromium in kiosk mode on the garden page, and its watchdog.

Python 3 standard library only (the kiosk machine has no virtual environment). docs/kiosk.md,
"Setting up a kiosk machine", has the whole set-up; the commands:

    garden_kiosk.py run --url https://garden.example.org/kiosk/     # what the systemd unit runs
    garden_kiosk.py policy --origin https://garden.example.org      # the managed policy (root)
    garden_kiosk.py enrol https://garden.example.org/screens/enrol/<token>
    garden_kiosk.py check                                           # one probe, as JSON

``run`` starts Chromium with a profile of its own and its DevTools endpoint on 127.0.0.1, then
probes the page every ``--poll`` seconds: the endpoint's target list, then a ``Runtime.evaluate``
in the page itself, so a hung renderer fails the probe as surely as a stopped browser. Chromium is
restarted when it exits, or after ``--fails`` failed probes in a row; a page that sits off the
garden's origin (an error page after a network outage) is sent back to ``--url``. Restarts back off
(1, 2, 4 … 30 s) while the browser keeps dying young. Every setting also reads GARDEN_KIOSK_*.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
POLICY_TEMPLATE = HERE / "policy.json"
POLICY_DIRS = ("/etc/chromium/policies/managed", "/etc/chromium-browser/policies/managed")
POLICY_NAME = "garden-kiosk.json"
DATA = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share") / "garden-kiosk"

# The flags the signage players converged on (FullPageOS's start_chromium_browser and most Pi kiosk
# guides): no dialogs or bubbles over the page, no pinch or swipe navigation, media that plays by
# itself, no update nags. Translate is off here and in the policy (the flag covers older builds).
KIOSK_FLAGS = [
    "--kiosk",
    "--noerrdialogs",
    "--disable-session-crashed-bubble",
    "--hide-crash-restore-bubble",
    "--disable-infobars",
    "--disable-pinch",
    "--overscroll-history-navigation=0",
    "--autoplay-policy=no-user-gesture-required",
    "--check-for-update-interval=31536000",
    "--disable-features=Translate,TranslateUI",
    "--no-first-run",
    "--no-default-browser-check",
    "--password-store=basic",  # no keyring prompt on a desktop session
    "--disable-hang-monitor",  # no "page unresponsive" dialog: the watchdog restarts a hung page
]
PROBE = "JSON.stringify([location.origin, document.readyState])"


def log(message: str) -> None:
    stamp = "" if os.environ.get("JOURNAL_STREAM") else time.strftime("%H:%M:%S ")  # journald stamps its own
    print(f"{stamp}garden-kiosk: {message}", file=sys.stderr, flush=True)


def origin_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


# --- the managed policy -------------------------------------------------------------------------


def policy(origin: str) -> dict:
    """The template with the camera granted to the garden's origin alone (no prompt anywhere)."""
    document = json.loads(POLICY_TEMPLATE.read_text())
    document["VideoCaptureAllowedUrls"] = [origin_of(origin)]
    return document


def write_policy(origin: str, directories: list[str]) -> list[Path]:
    written = []
    for directory in directories:
        path = Path(directory) / POLICY_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(policy(origin), indent=2) + "\n")
        path.chmod(0o644)
        written.append(path)
    return written


# --- DevTools: the target list over HTTP, one command over a WebSocket ---------------------------


def targets(port: int, timeout: float) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as response:
        return json.load(response)


def cdp(ws_url: str, method: str, params: dict, timeout: float) -> dict:
    """One DevTools command and its answer: a minimal RFC 6455 client (text frames, client masking).
    No Origin header is sent, so Chromium needs no --remote-allow-origins."""
    parts = urllib.parse.urlsplit(ws_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        handshake = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        sock.sendall(handshake.encode())
        reader = sock.makefile("rb")
        if b" 101 " not in reader.readline():
            raise ConnectionError("DevTools refused the WebSocket")
        while reader.readline() not in (b"\r\n", b""):
            pass
        payload = json.dumps({"id": 1, "method": method, "params": params}).encode()
        size = len(payload)
        header = bytes([0x81]) + (bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack(">H", size))
        mask = os.urandom(4)
        sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = json.loads(_read_message(reader))
            if answer.get("id") == 1:
                if "error" in answer:
                    raise ConnectionError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})
        raise TimeoutError(method)


def _read_message(reader) -> bytes:
    message = b""
    while True:
        head = reader.read(2)
        if len(head) < 2:
            raise ConnectionError("DevTools closed the WebSocket")
        size = head[1] & 0x7F
        if size == 126:
            size = struct.unpack(">H", reader.read(2))[0]
        elif size == 127:
            size = struct.unpack(">Q", reader.read(8))[0]
        data = reader.read(size)  # a server's frames are not masked
        opcode = head[0] & 0x0F
        if opcode == 0x8:
            raise ConnectionError("DevTools closed the WebSocket")
        if opcode in (0x0, 0x1, 0x2):
            message += data
            if head[0] & 0x80:
                return message


class PageSilent(OSError):
    """The browser answered, the page in it did not (a hung renderer)."""


def probe(port: int, origin: str, timeout: float = 2.0) -> dict:
    """``{"state": "ok" | "away" | "no page", "url", "ws"}``; raises when the browser or the page
    does not answer within ``timeout`` (each step)."""
    pages = [target for target in targets(port, timeout) if target.get("type") == "page"]
    if not pages:
        return {"state": "no page", "url": "", "ws": ""}
    # The garden's page if there is one (a second tab, opened by hand, does not count against it).
    page = next((target for target in pages if target.get("url", "").startswith(origin + "/")), pages[0])
    try:
        result = cdp(page["webSocketDebuggerUrl"], "Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, timeout)
    except OSError as error:
        raise PageSilent(f"the page: {error or type(error).__name__}") from error
    page_origin, ready = json.loads(result["result"]["value"])
    # The page's own origin: an error page keeps the failed URL in the list but is chrome-error://.
    state = "ok" if page_origin == origin and ready != "loading" else "away" if page_origin != origin else "loading"
    return {"state": state, "url": page.get("url", ""), "ws": page["webSocketDebuggerUrl"]}


def navigate(port: int, url: str, timeout: float = 5.0) -> None:
    pages = [target for target in targets(port, timeout) if target.get("type") == "page"]
    if not pages:
        raise ConnectionError("no page to navigate")
    cdp(pages[0]["webSocketDebuggerUrl"], "Page.navigate", {"url": url}, timeout)


# --- the browser and its watchdog ----------------------------------------------------------------


def blanking_off() -> None:
    """X11 only: the screen saver and DPMS off. Wayland compositors keep their own idle settings
    (Raspberry Pi OS: raspi-config's screen blanking; docs/kiosk.md); the page also holds a wake lock."""
    if os.environ.get("DISPLAY") and shutil.which("xset"):
        for args in (["s", "off"], ["-dpms"], ["s", "noblank"]):
            subprocess.run(["xset", *args], check=False, capture_output=True, timeout=10)


def clean_exit_marks(profile: Path) -> None:
    """Mark the last session as ended cleanly, so a killed browser comes back without a restore
    bubble even where Chromium ignores the flags that hide it."""
    path = profile / "Default" / "Preferences"
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    document.setdefault("profile", {}).update({"exit_type": "Normal", "exited_cleanly": True})
    path.write_text(json.dumps(document))


def chromium_command(args) -> list[str]:
    command = [args.chromium, *KIOSK_FLAGS, f"--user-data-dir={args.profile}", f"--remote-debugging-port={args.port}"]
    if os.environ.get("WAYLAND_DISPLAY"):
        command.append("--ozone-platform=wayland")
    return [*command, *args.flag, args.url]


class Browser:
    def __init__(self, args):
        clean_exit_marks(Path(args.profile))
        # A session of its own: a restart kills every process it left (renderers, GPU, zygote).
        self.process = subprocess.Popen(chromium_command(args), start_new_session=True, stdin=subprocess.DEVNULL)
        self.started = time.monotonic()

    def stop(self, graceful: bool) -> None:
        if graceful and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def watch(browser: Browser, args, answered_once) -> tuple[str, bool]:
    """Wait until the browser needs a restart; returns why, and whether it may stop gracefully.
    Until the browser first answers, ``--grace`` seconds of silence are allowed (a slow start)."""
    failures, answered, away_since = 0, False, None
    while True:
        next_probe = time.monotonic() + args.poll
        while time.monotonic() < next_probe:
            code = browser.process.poll()
            if code is not None:
                return f"Chromium exited ({code})", False
            time.sleep(0.1)
        try:
            seen = probe(args.port, args.origin, args.timeout)
        except (OSError, ValueError, KeyError) as error:
            if isinstance(error, PageSilent) and not answered:  # the browser is up: no more grace
                answered = True
                answered_once()
            if answered or time.monotonic() - browser.started > args.grace:
                failures += 1
                log(f"no answer ({failures}/{args.fails}): {error or type(error).__name__}")
                if failures >= args.fails:
                    return "Chromium stopped answering", False
            continue
        if not answered:
            answered = True
            answered_once()
        failures = 0
        if seen["state"] in ("away", "no page"):
            away_since = away_since or time.monotonic()
            if time.monotonic() - away_since >= args.away:
                log(f"the page is off the garden ({seen['url'] or 'none'}): opening {args.url}")
                try:
                    navigate(args.port, args.url, args.timeout)
                except (OSError, ValueError, KeyError):
                    return "the page could not be sent back to the garden", True
                away_since = None
        else:
            away_since = None


def write_state(path: Path, **fields) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(fields))
    temporary.replace(path)


def next_delay(delay: float, lived: float, settled: float) -> float:
    """Seconds before the next start: 1 s after a browser that ran ``settled`` seconds or more, else
    twice the last wait (up to 30 s), so a browser that keeps dying young does not spin."""
    return 1.0 if lived >= settled else min(max(delay * 2, 1.0), 30.0)


def run(args) -> int:
    Path(args.profile).mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # systemd's stop: the finally below
    restarts, delay, browser = 0, 0.0, None
    try:
        while True:
            blanking_off()  # again at each start: a display server that restarted forgot it
            browser = Browser(args)
            state = {"pid": browser.process.pid, "restarts": restarts, "started": time.time(), "url": args.url}
            write_state(Path(args.state), **state, answered=None)
            log(f"Chromium {browser.process.pid} started on {args.url}")
            reason, graceful = watch(browser, args, lambda state=state: write_state(Path(args.state), **state, answered=time.time()))
            lived = time.monotonic() - browser.started
            browser.stop(graceful)
            delay = next_delay(delay, lived, args.settled)
            restarts += 1
            log(f"{reason} after {lived:.0f} s: restart {restarts} in {delay:.0f} s")
            time.sleep(delay)
    finally:
        if browser is not None:
            browser.stop(graceful=True)


def enrol(args) -> int:
    """Open a one-time enrolment link in the running kiosk: the page keeps its secret in this
    profile, then goes on to the kiosk page (docs/fleet.md)."""
    navigate(args.port, args.link, args.timeout)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            seen = probe(args.port, origin_of(args.link), args.timeout)
        except (OSError, ValueError, KeyError):
            continue
        if seen["state"] == "ok" and "/screens/enrol/" not in seen["url"]:
            print(f"enrolled: the kiosk shows {seen['url']}")
            return 0
    print("the enrolment page did not go on to the kiosk page (a used or expired link?)", file=sys.stderr)
    return 1


def check(args) -> int:
    try:
        seen = probe(args.port, args.origin, args.timeout)
        seen.pop("ws")
    except (OSError, ValueError, KeyError) as error:
        seen = {"state": "no answer", "error": str(error) or type(error).__name__}
    try:
        seen["watchdog"] = json.loads(Path(args.state).read_text())
    except (OSError, ValueError):
        seen["watchdog"] = None
    print(json.dumps(seen, indent=2))
    return 0 if seen["state"] == "ok" else 1


def parse_args(argv=None):
    env = os.environ.get
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=env("GARDEN_KIOSK_URL", ""), help="the page to show (the kiosk page)")
    common.add_argument("--origin", default=env("GARDEN_KIOSK_ORIGIN", ""), help="the garden's origin (default: the URL's)")
    common.add_argument("--port", type=int, default=int(env("GARDEN_KIOSK_PORT", "9222")), help="DevTools port on 127.0.0.1")
    common.add_argument("--state", default=env("GARDEN_KIOSK_STATE", str(DATA / "state.json")))
    common.add_argument("--timeout", type=float, default=2.0, help="seconds a probe waits for each answer")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", parents=[common], help="Chromium and its watchdog (the unit's command)")
    run_parser.add_argument("--profile", default=env("GARDEN_KIOSK_PROFILE", str(DATA / "profile")))
    default_chromium = env("GARDEN_KIOSK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    run_parser.add_argument("--chromium", default=default_chromium)
    run_parser.add_argument("--flag", action="append", default=env("GARDEN_KIOSK_FLAGS", "").split(), help="one more Chromium flag")
    run_parser.add_argument("--poll", type=float, default=2.0, help="seconds between probes")
    run_parser.add_argument("--fails", type=int, default=3, help="failed probes in a row before a restart")
    run_parser.add_argument("--grace", type=float, default=30.0, help="seconds a new browser has to answer first")
    run_parser.add_argument("--away", type=float, default=30.0, help="seconds off the garden's origin before going back")
    run_parser.add_argument("--settled", type=float, default=60.0, help="a browser that lived this long restarts at once")
    policy_parser = commands.add_parser("policy", parents=[common], help="write the managed policy (as root)")
    policy_parser.add_argument("--policy-dir", action="append", help=f"where (default: {', '.join(POLICY_DIRS)})")
    enrol_parser = commands.add_parser("enrol", parents=[common], help="open an enrolment link in the running kiosk")
    enrol_parser.add_argument("link")
    commands.add_parser("check", parents=[common], help="probe the running kiosk once")
    args = parser.parse_args(argv)
    if args.command == "run" and not args.url:
        parser.error("run needs --url (or GARDEN_KIOSK_URL)")
    if args.command == "policy" and not (args.origin or args.url):
        parser.error("policy needs --origin (or --url)")
    try:
        args.origin = origin_of(args.origin or args.url) if (args.origin or args.url) else ""
        if args.command == "enrol":
            origin_of(args.link)
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.command == "policy":
        for path in write_policy(args.origin, args.policy_dir or list(POLICY_DIRS)):
            print(f"wrote {path}: the camera for {args.origin} only")
        return 0
    return {"run": run, "enrol": enrol, "check": check}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
