"""deploy/kiosk without a browser: the policy it writes, the Chromium command line, the restart
back-off, the clean-exit marks, and install.sh (under a --root of the test's, twice). The launcher
with real Chromium: test_kiosk_launcher_browser.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.kiosk_support import SCRIPT, launcher

KIOSK_DIR = SCRIPT.parent


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=30)


def test_the_policy_grants_the_camera_to_the_gardens_origin_alone(tmp_path):
    result = run_script("policy", "--url", "https://garden.example.org/kiosk/?layout=low", "--policy-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "garden-kiosk.json").read_text())
    assert written["VideoCaptureAllowedUrls"] == ["https://garden.example.org"]
    # No prompt anywhere: every other origin is refused, the microphone for all.
    assert written["VideoCaptureAllowed"] is False
    assert written["AudioCaptureAllowed"] is False and written["AudioCaptureAllowedUrls"] == []
    assert written["TranslateEnabled"] is False and written["PasswordManagerEnabled"] is False
    assert {key: value for key, value in written.items() if key != "VideoCaptureAllowedUrls"} == {
        key: value for key, value in json.loads((KIOSK_DIR / "policy.json").read_text()).items() if key != "VideoCaptureAllowedUrls"
    }


def test_an_explicit_origin_keeps_its_port(tmp_path):
    assert run_script("policy", "--origin", "http://kiosk.lan:8000", "--policy-dir", str(tmp_path)).returncode == 0
    assert json.loads((tmp_path / "garden-kiosk.json").read_text())["VideoCaptureAllowedUrls"] == ["http://kiosk.lan:8000"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["policy", "--origin", "ftp://garden.example.org"], "not an http(s) URL"),
        (["policy"], "policy needs --origin"),
        (["run"], "run needs --url"),
        (["enrol", "chrome://policy"], "not an http(s) URL"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(args, message, monkeypatch):
    for name in ("GARDEN_KIOSK_URL", "GARDEN_KIOSK_ORIGIN"):
        monkeypatch.delenv(name, raising=False)
    result = run_script(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_the_chromium_command_line(monkeypatch, tmp_path):
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    args = launcher.parse_args(["run", "--url", "https://g.example/kiosk/", "--profile", str(tmp_path), "--port", "9333", "--flag=--x"])
    command = launcher.chromium_command(args)
    for flag in ("--kiosk", "--noerrdialogs", "--disable-session-crashed-bubble", "--disable-infobars", "--disable-pinch"):
        assert flag in command
    assert "--overscroll-history-navigation=0" in command
    assert "--autoplay-policy=no-user-gesture-required" in command
    assert "--disable-features=Translate,TranslateUI" in command
    assert f"--user-data-dir={tmp_path}" in command and "--remote-debugging-port=9333" in command
    assert command[-2:] == ["--x", "https://g.example/kiosk/"]
    assert "--ozone-platform=wayland" not in command
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")  # Raspberry Pi OS's labwc session
    assert "--ozone-platform=wayland" in launcher.chromium_command(args)


def test_restarts_back_off_while_the_browser_keeps_dying_young():
    delays, delay = [], 0.0
    for _ in range(7):
        delay = launcher.next_delay(delay, lived=5, settled=60)
        delays.append(delay)
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert launcher.next_delay(30, lived=61, settled=60) == 1


def test_a_crashed_session_is_marked_clean_before_the_next_start(tmp_path):
    preferences = tmp_path / "Default" / "Preferences"
    preferences.parent.mkdir()
    preferences.write_text(json.dumps({"profile": {"exit_type": "Crashed", "exited_cleanly": False, "name": "x"}}))
    launcher.clean_exit_marks(tmp_path)
    assert json.loads(preferences.read_text())["profile"] == {"exit_type": "Normal", "exited_cleanly": True, "name": "x"}
    launcher.clean_exit_marks(tmp_path / "missing")  # a first start has no profile yet


def test_check_says_when_no_kiosk_answers(tmp_path):
    from testkit.servers import free_port

    result = run_script("check", "--url", "https://g.example/", "--port", str(free_port()), "--state", str(tmp_path / "s.json"))
    assert result.returncode == 1
    assert json.loads(result.stdout)["state"] == "no answer"


@pytest.mark.skipif(not shutil.which("install"), reason="needs coreutils' install")
def test_install_sh_sets_everything_up_and_running_it_again_changes_nothing(tmp_path):
    root = tmp_path / "root"
    (root / "etc" / "lightdm").mkdir(parents=True)
    command = ["sh", str(KIOSK_DIR / "install.sh"), "--url", "https://garden.example.org/kiosk/", "--user", "kiosk", "--root", str(root)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    snapshot = {path.relative_to(root): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}
    assert subprocess.run(command, capture_output=True, text=True, timeout=60).returncode == 0
    assert {path.relative_to(root): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()} == snapshot

    names = {str(path) for path in snapshot}
    assert {
        "opt/garden-kiosk/garden_kiosk.py",
        "opt/garden-kiosk/policy.json",
        "etc/garden-kiosk.env",
        "etc/systemd/user/garden-kiosk.service",
        "home/kiosk/.config/autostart/garden-kiosk.desktop",
        "etc/chromium/policies/managed/garden-kiosk.json",
        "etc/chromium-browser/policies/managed/garden-kiosk.json",
        "etc/lightdm/lightdm.conf.d/50-garden-kiosk.conf",
    } <= names
    assert (root / "etc/garden-kiosk.env").read_text() == "GARDEN_KIOSK_URL=https://garden.example.org/kiosk/\nGARDEN_KIOSK_PORT=9222\n"
    policy = json.loads((root / "etc/chromium/policies/managed/garden-kiosk.json").read_text())
    assert policy["VideoCaptureAllowedUrls"] == ["https://garden.example.org"]
    unit = (root / "etc/systemd/user/garden-kiosk.service").read_text()
    assert "Restart=always" in unit and "ExecStart=/usr/bin/python3 /opt/garden-kiosk/garden_kiosk.py run" in unit
    assert "autologin-user=kiosk" in (root / "etc/lightdm/lightdm.conf.d/50-garden-kiosk.conf").read_text()
    # The installed copy runs from where the unit starts it, beside its policy template.
    installed = root / "opt/garden-kiosk/garden_kiosk.py"
    result = subprocess.run(
        [sys.executable, str(installed), "policy", "--url", "https://a.example/", "--policy-dir", str(tmp_path / "p")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


def test_install_sh_refuses_a_bad_url_before_writing_anything(tmp_path):
    root = tmp_path / "root"
    result = subprocess.run(
        ["sh", str(KIOSK_DIR / "install.sh"), "--url", "garden.example.org", "--user", "kiosk", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "not an http(s) URL" in result.stderr
    assert not [path for path in root.rglob("*") if path.is_file()]
    assert not Path(root / "etc/garden-kiosk.env").exists()
