"""Running deploy/kiosk/garden_kiosk.py for real: its Chromium on a display of its own, its policy.

Chromium reads its managed policy from /etc/chromium/policies only. So as not to touch the machine's
/etc (nor any other test's Chromium), the launcher runs in a mount namespace of its own where a
copy of /etc/chromium, holding the policy the launcher itself wrote, is bind-mounted over the real
one. Where no namespace can be had (an unprivileged container), ``Kiosk`` says so (``policy`` is
False) and the camera is granted by Chromium's fake UI instead, so the watchdog is still tested.

The display is an Xvfb of its own when Xvfb is installed (the kiosk's real, headed path, xset
included), else Chromium's headless mode. Used by tests/deploy/test_kiosk_launcher_browser.py and
bench/kiosk_watchdog.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "deploy" / "kiosk" / "garden_kiosk.py"
# Root's Chromium needs --no-sandbox; the fake device films a test pattern (no real camera here).
TEST_FLAGS = ["--no-sandbox", "--use-fake-device-for-media-stream", "--disable-dev-shm-usage"]
# The kiosk page's own sign of a working camera: Capture is enabled once the preview shows frames.
CAMERA_OK = "(() => { const b = document.getElementById('capture-button'); return !!b && !b.disabled; })()"
CAMERA_STATUS = "(document.getElementById('camera-status') || {}).textContent || ''"


def load_launcher():
    spec = importlib.util.spec_from_file_location("garden_kiosk", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


launcher = load_launcher()


def chromium() -> str | None:
    return os.environ.get("GARDEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def namespace_prefix(etc_copy: Path) -> list[str] | None:
    """The command prefix that runs a command with ``etc_copy`` mounted over /etc/chromium, or None."""
    if not Path("/etc/chromium").is_dir() or not shutil.which("unshare"):
        return None
    flags = "-m" if os.geteuid() == 0 else "-rm"
    prefix = ["unshare", flags, "sh", "-c", 'mount --bind "$0" /etc/chromium && exec "$@"', str(etc_copy)]
    try:
        subprocess.run([*prefix, "true"], check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return prefix


@contextlib.contextmanager
def xvfb() -> Iterator[str | None]:
    """An X display of its own (":N"), or None without Xvfb. ``-noreset``: a server with no client
    left would reset, and forget the screen saver settings, as a desktop session (never clientless) does not."""
    if not shutil.which("Xvfb"):
        yield None
        return
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        display = ":" + pipe.readline().strip()
    try:
        yield display
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclass
class Kiosk:
    """A running launcher (``run``) and what the tests ask it."""

    url: str
    origin: str
    port: int
    state: Path
    log: Path
    process: subprocess.Popen
    policy: bool
    display: str | None

    def browser_pid(self) -> int | None:
        try:
            return json.loads(self.state.read_text())["pid"]
        except (OSError, ValueError, KeyError):
            return None

    def watched(self) -> bool:
        """Whether the watchdog has had an answer from its current browser (its grace is over)."""
        try:
            return json.loads(self.state.read_text())["answered"] is not None
        except (OSError, ValueError, KeyError):
            return False

    def restarts(self) -> int:
        try:
            return json.loads(self.state.read_text())["restarts"]
        except (OSError, ValueError, KeyError):
            return 0

    def evaluate(self, expression: str, timeout: float = 2.0):
        """``expression``'s value in the garden's page, through the launcher's own DevTools client."""
        seen = launcher.probe(self.port, self.origin, timeout)
        if seen["state"] != "ok":
            raise ConnectionError(seen["state"])
        answer = launcher.cdp(seen["ws"], "Runtime.evaluate", {"expression": expression, "returnByValue": True}, timeout)
        return answer["result"].get("value")

    def camera_ok(self) -> bool:
        try:
            return bool(self.evaluate(CAMERA_OK))
        except (OSError, ValueError, KeyError):
            return False

    def wait_until_camera_ok(self, timeout: float = 60.0, *, since_pid: int | None = None) -> float:
        """Seconds until the garden page shows a working camera (in a browser other than ``since_pid``).
        Returns once the watchdog has also seen that browser answer, so that a fault inflicted next
        meets a watched browser rather than one still in its start-up grace."""
        started = time.monotonic()
        self.timeline: list[tuple[float, str]] = []  # what the page said meanwhile (for a slow recovery)
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise AssertionError(f"the launcher exited: {self.log.read_text()[-3000:]}")
            pid = self.browser_pid()
            if pid is not None and pid != since_pid and self.camera_ok():
                seconds = time.monotonic() - started
                while not self.watched() and time.monotonic() - started < timeout:  # not counted
                    time.sleep(0.1)
                return seconds
            try:
                status = f"{pid}: {self.evaluate(CAMERA_STATUS, 1.0)}"
            except (OSError, ValueError, KeyError) as error:
                status = f"{pid}: {type(error).__name__} {error}"
            if not self.timeline or self.timeline[-1][1] != status:
                self.timeline.append((round(time.monotonic() - started, 1), status))
            time.sleep(0.1)
        raise AssertionError(f"no working camera in {timeout} s: {self.timeline} {self.log.read_text()[-3000:]}")

    def xset_query(self) -> str:
        env = {**os.environ, "DISPLAY": self.display or ""}
        return subprocess.run(["xset", "q"], env=env, capture_output=True, text=True, timeout=10).stdout


@contextlib.contextmanager
def kiosk(url: str, work: Path, port: int, *, extra_flags: list[str] = (), **watchdog: float) -> Iterator[Kiosk]:
    """``garden_kiosk.py policy`` then ``garden_kiosk.py run`` on ``url``, until the block ends."""
    origin = launcher.origin_of(url)
    etc_copy = work / "etc-chromium"
    shutil.copytree("/etc/chromium", etc_copy, dirs_exist_ok=True) if Path("/etc/chromium").is_dir() else etc_copy.mkdir()
    subprocess.run(
        [sys.executable, str(SCRIPT), "policy", "--origin", origin, "--policy-dir", str(etc_copy / "policies" / "managed")],
        check=True,
        capture_output=True,
        timeout=30,
    )
    prefix = namespace_prefix(etc_copy)
    flags = [*TEST_FLAGS, *extra_flags]
    if prefix is None:
        flags.append("--use-fake-ui-for-media-stream")
    with xvfb() as display:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("GARDEN_KIOSK_", "WAYLAND_"))}
        if display:
            env["DISPLAY"] = display
        else:
            env.pop("DISPLAY", None)
            flags.append("--headless=new")
        command = [sys.executable, str(SCRIPT), "run", "--url", url, "--port", str(port), "--chromium", chromium() or "chromium"]
        command += ["--profile", str(work / "profile"), "--state", str(work / "state.json")]
        command += [f"--flag={flag}" for flag in flags]
        for name, value in watchdog.items():
            command += [f"--{name}", str(value)]
        log = work / "launcher.log"
        with log.open("ab") as handle:
            process = subprocess.Popen([*(prefix or []), *command], env=env, stdout=handle, stderr=subprocess.STDOUT)
        running = Kiosk(url, origin, port, work / "state.json", log, process, prefix is not None, display)
        try:
            yield running
        finally:
            process.send_signal(signal.SIGTERM)  # the launcher stops its browser on the way out
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            pid = running.browser_pid()
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
