"""Benchmark the offline face analysis behind POST /emotion.

    .venv/bin/python bench/face_analysis.py [--runs 100] [--http-runs 50] [--json out.json]
    .venv/bin/python bench/face_analysis.py --smoke        # 3 runs each, one of each worst input: seconds

1. In process: per-frame latency of the local backend on a 640x480 JPEG of a real face
   (scikit-image's astronaut), against two baselines measured in the same run: decoding the
   JPEG alone, and the face detector alone.
2. Through a real server: gunicorn (1 sync worker) on a loopback port with a throw-away SQLite
   database; end-to-end POST /emotion latency, against a baseline of the same server answering
   415 to a non-image body (HTTP + Django + DRF overhead without any analysis), and the worker's
   resident memory after the run.
3. The worst accepted inputs: decode + analysis of the largest PNG, WebP and JPEG the default caps
   let through (zero-filled, so a few KB on the wire), as a multiple of the real frame's time.

Needs the dev requirements (scikit-image) and requirements/models.txt.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import results  # noqa: E402 (after the path is set)


def summary(values_s: list[float]) -> dict:
    ms = [v * 1000 for v in values_s]
    return {
        "p50_ms": round(results.percentile(ms, 0.50), 2),
        "p95_ms": round(results.percentile(ms, 0.95), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "n": len(ms),
    }


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def test_frame() -> bytes:
    """A 640x480 JPEG with one real face (the astronaut photo, scaled and cropped)."""
    from PIL import Image
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((640, 640), Image.Resampling.BICUBIC).crop((0, 0, 640, 480))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def timed(function, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def bench_in_process(frame: bytes, runs: int, worst_runs: int) -> dict:
    from garden.faces.local import LocalFaceBackend
    from garden.faces.photo import decode_photo

    rss_before = rss_mb()
    started = time.perf_counter()
    backend = LocalFaceBackend(threads=1)
    load_s = time.perf_counter() - started

    def decode():
        return decode_photo(data=frame, max_pixels=40_000_000, max_side=1024).image

    image = decode()
    face = backend.largest_face(image=image)
    assert face is not None and face.top_emotion == "HAPPY", face
    for _ in range(5):  # warm-up: first invocations allocate buffers
        backend.largest_face(image=image)

    decode_only = summary(timed(decode, runs))
    detect_only = summary(timed(lambda: backend.detect(image), runs))
    analysis = summary(timed(lambda: backend.largest_face(image=image), runs))
    frame_total = summary(timed(lambda: backend.largest_face(image=decode()), runs))
    worst = worst_accepted_inputs(backend, runs=worst_runs)
    return {
        "model_load_ms": round(load_s * 1000, 1),
        "rss_mb_before_models": rss_before,
        "rss_mb_after_models": rss_mb(),
        "decode_only": decode_only,
        "detect_only": detect_only,
        "analysis": analysis,
        "decode_plus_analysis": frame_total,
        "analysis_vs_detect_p50": round(analysis["p50_ms"] / detect_only["p50_ms"], 2),
        "analysis_vs_decode_p50": round(analysis["p50_ms"] / decode_only["p50_ms"], 2),
        "result": {"emotion": face.top_emotion, "gender": face.gender, "age": [face.age_low, face.age_high]},
        "worst_accepted_inputs": worst,
        "worst_vs_real_frame_p50": round(max(w["p50_ms"] for w in worst.values()) / frame_total["p50_ms"], 2),
    }


def worst_accepted_inputs(backend, *, runs: int) -> dict:
    """Decode + analysis of the costliest files /emotion accepts under the default caps: the
    largest PNG and WebP (decoded at full size), zero-filled so they are tiny on the wire, and the
    largest JPEG (decoded at reduced scale)."""
    from django.conf import settings
    from PIL import Image

    from garden.faces.photo import decode_photo

    full = settings.GARDEN_FACE_MAX_FULL_DECODE_PIXELS
    side = int(full**0.5)
    jpeg_side = int(settings.GARDEN_FACE_MAX_PIXELS**0.5)
    results = {}
    for name, fmt, size in (("png_at_cap", "PNG", side), ("webp_at_cap", "WEBP", side), ("jpeg_at_cap", "JPEG", jpeg_side)):
        buffer = io.BytesIO()
        Image.new("RGB", (size, size)).save(buffer, fmt)
        body = buffer.getvalue()

        def run(body=body):
            photo = decode_photo(
                data=body,
                max_pixels=settings.GARDEN_FACE_MAX_PIXELS,
                max_side=settings.GARDEN_FACE_MAX_SIDE,
                max_full_decode_pixels=full,
            )
            return backend.largest_face(image=photo.image)

        results[name] = {**summary(timed(run, runs)), "pixels": size * size, "bytes": len(body)}
    return results


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(port: int, body: bytes, content_type: str) -> tuple[int, bytes, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    connection.request("POST", "/emotion", body=body, headers={"Content-Type": content_type})
    response = connection.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, payload, elapsed


def bench_http(frame: bytes, runs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="garden-bench-") as var_dir:
        env = {
            **os.environ,
            "GARDEN_VAR_DIR": var_dir,
            "DATABASE_URL": f"sqlite:///{var_dir}/bench.sqlite3",
            "GARDEN_KIOSK_RATE": "1000000/minute",
            "GARDEN_FACE_BACKEND": "local",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        port = free_port()
        gunicorn = str(Path(python).with_name("gunicorn"))
        server = subprocess.Popen(
            [gunicorn, "config.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    post(port, b"not an image", "text/plain")
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("gunicorn did not start") from None
                    time.sleep(0.2)
            workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
            first_status, first_body, first_s = post(port, frame, "image/jpeg")  # loads the models
            assert first_status == 200, first_body
            for _ in range(3):
                post(port, frame, "image/jpeg")
            baseline = [post(port, b"not an image", "text/plain") for _ in range(runs)]
            assert all(status == 415 for status, _, _ in baseline)
            emotion = [post(port, frame, "image/jpeg") for _ in range(runs)]
            assert all(status == 200 for status, _, _ in emotion)
            result = {
                "first_request_ms": round(first_s * 1000, 1),
                "emotion": summary([elapsed for _, _, elapsed in emotion]),
                "baseline_415": summary([elapsed for _, _, elapsed in baseline]),
                "worker_rss_mb": [rss_mb(pid) for pid in workers],
                "response": json.loads(emotion[-1][1]),
            }
            result["emotion_vs_baseline_p50"] = round(result["emotion"]["p50_ms"] / result["baseline_415"]["p50_ms"], 2)
            return result
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100, help="in-process runs per measurement (>= 50)")
    parser.add_argument("--http-runs", type=int, default=50, help="HTTP requests per measurement")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--smoke", action="store_true", help="3 runs each, one of each worst input: the whole path in seconds")
    args = parser.parse_args()
    runs = 3 if args.smoke else max(args.runs, 50)
    if args.smoke:
        args.http_runs = 3

    # Settings (the caps) for the in-process part; nothing touches a database there.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("GARDEN_VAR_DIR", tempfile.mkdtemp(prefix="garden-bench-face-"))
    import django

    django.setup()
    frame = test_frame()
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            # Other work on the same cores shows up in every figure: keep the load with them.
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "frame": {"size": "640x480", "jpeg_bytes": len(frame)},
        "in_process": bench_in_process(frame, runs, worst_runs=1 if args.smoke else max(5, runs // 10)),
        "http": bench_http(frame, args.http_runs),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
