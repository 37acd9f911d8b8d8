#!/usr/bin/env python3
"""Generation benchmark: job-path overhead and batched vs one-at-a-time throughput.

    .venv/bin/python bench/generation.py                 # tiny random-weight SD pipeline on CPU
    .venv/bin/python bench/generation.py --model stabilityai/sd-turbo --device cuda --steps 4 \
        --width 768 --height 512 --images 8              # a real model on a GPU box (weights cached locally)
    .venv/bin/python bench/generation.py --random-architecture sd15 --device cuda --steps 25 --images 16 \
        --no-worker                                      # full-size SD 1.5 network, random weights (no download)
    .venv/bin/python bench/generation.py --smoke         # 2 pictures of 64x64, 1 step, one round (worker too): seconds

Figures, all measured in this run on a warm pipeline (loading excluded):
- direct: the diffusers pipeline called straight (the same images, same batches);
- job (in-process task): the Celery task body (`run_generation_job.apply`) — claim, per-step progress
  and cancel checks in the DB, JPEG encoding with embedded parameters, storage, rows;
- job (real worker): submit → a separate `celery worker` process (Redis broker) → succeeded, when
  Redis is reachable (CELERY_BROKER_URL or 127.0.0.1:6379); this adds broker and polling latency.
Overhead = job time ÷ direct time (target ≤ 1.10).

--random-architecture sd15 builds the full-size SD 1.5 network (UNet, VAE, CLIP ViT-L/14 text
encoder) with random weights and saves it as a pipeline folder (testkit/random_sd.py): real compute
and memory per step where no checkpoint can be downloaded; its pictures are noise.

Measured 2026-11-22 on one H100 80GB HBM3 (torch 2.11.0+cu130, diffusers 0.42.1, transformers 5.17,
fp16, SDPA, PNDM, batch 4, best of 3; s/image direct → job, overhead job ÷ direct):
  512x512, 25 steps, CFG 7.5, 16 images: 0.269 → 0.289 s/image (3.72 → 3.46 images/s), 1.075
  768x768, 25 steps, CFG 7.5,  8 images: 0.522 → 0.567 s/image, 1.088 (best of 2)
  512x512, 4 / 1 steps, no CFG, 16 images: 0.062 → 0.091 (1.47), 0.035 → 0.080 (2.30) s/image
The job path adds ~20-45 ms per image (JPEG, thumbnail, rows, per-step UPDATEs) while the GPU waits.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import here
from testkit.local_services import reachable, redis_url
from testkit.random_sd import ARCHITECTURES, save_random_pipeline


def parse_args():
    made = parser(__doc__)
    made.add_argument("--model", help="Hub id or folder (default: the tiny test pipeline, built here)")
    made.add_argument("--device", default="cpu")
    made.add_argument("--width", type=int, default=512)
    made.add_argument("--height", type=int, default=512)
    made.add_argument("--steps", type=int, default=4)
    made.add_argument("--images", type=int, default=8)
    made.add_argument("--batch", type=int, default=4)
    made.add_argument("--guidance", type=float, default=7.5, help="Both paths (the job's through GARDEN_DEFAULT_GUIDANCE); ≤ 1: no CFG")
    made.add_argument("--repeat", type=int, default=3, help="Interleaved rounds; best of N for each figure")
    made.add_argument("--no-worker", action="store_true", help="Skip the real-worker figure")
    made.add_argument("--batched-only", action="store_true", help="Skip the one-at-a-time rounds (job ÷ direct, batched, only)")
    made.add_argument(
        "--random-architecture",
        choices=ARCHITECTURES,
        help="Build this full-size architecture with random weights (testkit/random_sd.py) and use it as --model",
    )
    made.add_argument("--save-to", help="Folder for the --random-architecture pipeline (reused when it exists; default: a temp folder)")
    args = made.parse_args()
    if args.smoke:
        args.width = args.height = 64
        args.steps, args.images, args.batch, args.repeat = 1, 2, 2, 1
    return args


def environment(device: str) -> str:
    import diffusers
    import torch
    import transformers

    where = device
    if device.startswith("cuda") and torch.cuda.is_available():
        where = f"{device} ({torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda})"
    return f"torch {torch.__version__}, diffusers {diffusers.__version__}, transformers {transformers.__version__}; device {where}"


def wall(call) -> float:
    return results.timed(call)[1]


def main() -> int:
    args = parse_args()
    started = results.machine()
    with tempfile.TemporaryDirectory(prefix="garden-bench-gen-") as work:
        figures = run(args, Path(work))
    print(results.load_line("at the end"))
    results.write(args.json, "generation", vars(args), figures, started)
    return 0


def run(args, work: Path) -> dict:
    use_worker = not args.no_worker and reachable(redis_url())
    if args.random_architecture:
        if args.model:
            sys.exit("--model and --random-architecture are exclusive")
        folder = Path(args.save_to) if args.save_to else work / f"random-{args.random_architecture}"
        model = str(save_random_pipeline(args.random_architecture, folder))
        label = f"{args.random_architecture} architecture, random weights ({model})"
    elif args.model:
        model = label = args.model
    else:
        from testkit.tiny_pipeline import save_tiny_pipeline

        model = str(save_tiny_pipeline(work / "tiny-sd"))
        label = "tiny random-weight SD (testkit/tiny_pipeline.py)"
    settings = {
        "CELERY_BROKER_URL": redis_url() if use_worker else "filesystem://",
        "GARDEN_GENERATOR_BACKEND": "diffusers",
        "GARDEN_DIFFUSION_MODEL": model,
        "GARDEN_DIFFUSION_DEVICE": args.device,
        "GARDEN_DIFFUSION_BATCH_SIZE": str(args.batch),
        "GARDEN_LOG_LEVEL": "WARNING",
        "GARDEN_DEFAULT_GUIDANCE": str(args.guidance),
    }
    with here("garden-bench-gen-", **settings) as venue:
        return measure(args, label, venue if use_worker else None)


def measure(args, label: str, venue) -> dict:
    """The figures, this process on the venue; ``venue`` given: the real worker's too."""
    from django.conf import settings

    from generation import backends, services
    from generation.backends import Batch
    from generation.models import GenerationJob
    from generation.tasks import run_generation_job

    backend = backends.get_backend("diffusers")
    load_seconds = wall(backend.load)
    seeds = list(range(args.images))

    def job_request():
        return services.JobRequest(
            emotion="calm", width=args.width, height=args.height, steps=args.steps, seed=0, count=args.images, others="flowers, fantasy"
        )

    # The direct calls paint the job's own prompts (its template's words): a longer prompt costs the
    # text encoder more (past 77 tokens, a second window), so both paths must encode the same text.
    template_job = services.create_job(request=job_request(), enqueue=False)
    prompt, negative_prompt = template_job.prompt, template_job.negative_prompt
    # Not left queued: a worker's message runs the queue's best job (generation.dispatch.pull), and
    # this one, never sent, would take the real-worker figure's message.
    template_job.delete()

    def direct(batch_size: int) -> None:
        for start in range(0, len(seeds), batch_size):
            batch = Batch(prompt=prompt, negative_prompt=negative_prompt, width=args.width, height=args.height,
                          steps=args.steps, guidance=args.guidance, seeds=seeds[start : start + batch_size])  # fmt: skip
            backend.generate(batch)

    def job_in_process(batch_size: int) -> None:
        settings.GARDEN_DIFFUSION_BATCH_SIZE = batch_size
        job = services.create_job(request=job_request(), enqueue=False)
        run_generation_job.apply(args=[str(job.pk)])
        done = GenerationJob.objects.get(pk=job.pk)
        assert done.status == "succeeded" and done.guidance == args.guidance, (done.status, done.error, done.guidance)

    # Warm-up (first-call allocations, oneDNN/cuDNN autotuning), at both batch sizes.
    warm = Batch(prompt=prompt, negative_prompt=negative_prompt, width=args.width, height=args.height,
                 steps=args.steps, guidance=args.guidance, seeds=seeds[: args.batch])  # fmt: skip
    pictures = backend.generate(warm)
    backend.generate(dataclasses.replace(warm, seeds=seeds[:1]))
    content = content_summary(pictures)
    # Interleaved rounds, best of each: a busy machine slows whichever figure runs during the
    # disturbance, and interleaving spreads that over all four instead of skewing one ratio.
    rounds = {"direct_batched": [], "direct_single": [], "job_batched": [], "job_single": []}
    for _ in range(args.repeat):
        rounds["direct_batched"].append(wall(lambda: direct(args.batch)))
        rounds["job_batched"].append(wall(lambda: job_in_process(args.batch)))
        if not args.batched_only:
            rounds["direct_single"].append(wall(lambda: direct(1)))
            rounds["job_single"].append(wall(lambda: job_in_process(1)))
    direct_batched, job_batched = min(rounds["direct_batched"]), min(rounds["job_batched"])

    worker_seconds = None
    if venue is not None:
        worker_seconds = measure_real_worker(args, venue, lambda: services.create_job(request=job_request()))

    size = f"{args.width}x{args.height}, {args.steps} steps, guidance {args.guidance:g}, {args.images} images, batch {args.batch}"
    print(f"model: {label} on {args.device} ({backend.describe()['dtype']}, {backend.scheduler_name}); {size}")
    print(environment(str(backend.device)))
    print(f"pipeline load (excluded below): {load_seconds:.2f} s; pictures: {content}")
    print(f"best of {args.repeat} interleaved rounds (median in brackets):")
    for title, key in (
        ("direct pipeline, batched:      ", "direct_batched"),
        ("direct pipeline, one at a time:", "direct_single"),
        ("job (in-process task), batched:", "job_batched"),
        ("job (in-process task), single: ", "job_single"),
    ):
        if not rounds[key]:
            continue
        seconds = min(rounds[key])
        print(
            f"{title} {seconds:7.2f} s [{statistics.median(rounds[key]):7.2f}]  {seconds / args.images:6.3f} s/image"
            f"  {args.images / seconds:6.2f} images/s"
        )
    overhead = f"{job_batched / direct_batched:.3f}"
    if not args.batched_only:
        direct_single, job_single = min(rounds["direct_single"]), min(rounds["job_single"])
        print(f"batched / one-at-a-time throughput (direct): {direct_single / direct_batched:.2f}x; (job): {job_single / job_batched:.2f}x")
        overhead += f"; (single): {job_single / direct_single:.3f}"
    print(f"job-path overhead (in-process task ÷ direct, batched): {overhead}")
    if worker_seconds is not None:
        print(f"job (real worker, Redis), batched: {worker_seconds:5.2f} s  overhead ÷ direct: {worker_seconds / direct_batched:.3f}")
    else:
        print("job (real worker): skipped (Redis not reachable or --no-worker)")
    return {"load_s": load_seconds, "rounds": rounds, "worker_s": worker_seconds, "job_over_direct_batched": job_batched / direct_batched}


def content_summary(pictures) -> str:
    """Pixel spread and JPEG size of the warm-up pictures: random weights may give flat or noisy
    pictures, and JPEG encoding (part of the job path) costs more for noisy ones."""
    import numpy as np

    from generation.imagefile import encode_jpeg

    pixels = np.stack([np.asarray(picture.convert("RGB"), dtype=np.float32) for picture in pictures])
    sizes = [len(encode_jpeg(picture, {})) for picture in pictures]
    return f"pixel mean {pixels.mean():.0f}, std {pixels.std():.1f}; JPEG q90 {sum(sizes) / len(sizes) / 1024:.0f} KiB/image"


def measure_real_worker(args, venue, submit) -> float:
    """Best of ``--repeat`` jobs through the Procfile's worker on the venue's queue (Redis broker), after one to warm it."""
    venue.start_worker("gpu", GARDEN_DIFFUSION_BATCH_SIZE=str(args.batch), GARDEN_LOG_LEVEL="WARNING")

    def through_worker() -> None:
        job = venue.wait_job(submit(), timeout=900, every=0.02)
        assert job.status == "succeeded", job.error

    through_worker()  # warm-up: the worker process loads the pipeline on its first job
    return min(results.repeat(through_worker, args.repeat, warmup=0))


if __name__ == "__main__":
    sys.exit(main())
