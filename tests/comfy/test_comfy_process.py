"""The door as the Procfile starts it: its own process (``manage.py comfy_door`` through the
Procfile's ``comfy`` line) on a free port and a database of its own; a SillyTavern-style client
from a trusted address reads its lists, is refused an unknown node, and finds its history empty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from testkit.servers import BIN, ROOT, free_port, own_database, procfile_line

pytestmark = [pytest.mark.slow]


def get(base: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, data=body, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_procfiles_comfy_line_serves_the_door(tmp_path):
    port = free_port()
    with own_database(tmp_path, "garden_comfy") as database_url:
        env = {**os.environ, "GARDEN_VAR_DIR": str(tmp_path), "DATABASE_URL": database_url, "GARDEN_COMFY_BIND": f"127.0.0.1:{port}",
               "GARDEN_A1111_TRUSTED_CLIENTS": "127.0.0.1", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
        env.pop("DJANGO_SETTINGS_MODULE", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
        with open(tmp_path / "comfy.log", "wb") as log:
            door = subprocess.Popen(["sh", "-c", f"exec {procfile_line('comfy')}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(150):
                try:
                    urllib.request.urlopen(base + "/features", timeout=2).close()
                    break
                except OSError:
                    assert door.poll() is None, (tmp_path / "comfy.log").read_text()[-2000:]
                    time.sleep(0.2)
            status, stats = get(base, "/api/system_stats")
            assert status == 200 and stats["system"]["comfyui_version"]
            status, info = get(base, "/object_info/KSampler")
            assert status == 200 and "euler" in info["KSampler"]["input"]["required"]["sampler_name"][0]
            status, refused = get(base, "/prompt", json.dumps({"prompt": {"1": {"class_type": "Nope", "inputs": {}}}}).encode())
            assert status == 400 and refused["error"]["message"] == "Cannot execute because node Nope does not exist."
            assert get(base, "/history") == (200, {})
        finally:
            door.terminate()
            door.wait(20)
