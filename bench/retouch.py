#!/usr/bin/env python3
"""Retouch benchmark: the job path against a direct pipeline call on the same crop, and the web
tier's edge detectors on a 1280x800 picture.

    .venv/bin/python bench/retouch.py                      # tiny random-weight SD pipeline on CPU
    .venv/bin/python bench/retouch.py --model /models/sd15-inpainting --device cuda --steps 30 \
        --work-size 512 --images 8                         # a real inpainting model on a GPU box
    .venv/bin/python bench/retouch.py --random-architecture sd15-inpaint --random-controlnet \
        --device cuda --source 1280x800 --steps 25         # full-size SD 1.5 inpainting (+ lineart
                                                           # ControlNet), random weights, no download
    .venv/bin/python bench/retouch.py --smoke              # 256x192 source, 64 px work size, 2 steps, one round

Figures, all measured in this run on a warm pipeline (loading excluded), best of --repeat
interleaved rounds:
- direct: ``AutoPipelineForInpainting`` called straight on the crop at the working size (the
  same init image, mask, steps, strength, seeds) — what one would write with diffusers alone;
- job (worker side): ``execute_job`` — claim, per-step progress and cancel checks in the DB,
  reading the upload, crop/scale/feather, the same pipeline call, scale back, LAB colour match,
  the lossless composite, PNG encoding with EXIF, storage, the row and its thumbnail;
- job (submit + worker): the above plus ``create_retouch_job`` (decoding and checking the
  pictures, storing the uploads privately, the row) — the whole path a request takes.
Overhead = job time ÷ direct time (aim ≤ 1.15). Then lineart_standard and Canny on 1280x800.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import parser, results
from bench.harness.venue import here


def parse_args():
    made = parser(__doc__)
    made.add_argument("--model", help="An inpainting model folder (GARDEN_RETOUCH_INPAINT_MODEL); default: the tiny test pipeline")
    made.add_argument(
        "--random-architecture",
        choices=("sd15-inpaint",),
        help="Build this full-size inpainting architecture with random weights (testkit/random_sd.py) and use it as --model",
    )
    made.add_argument("--random-controlnet", action="store_true", help="Also a full-size random SD 1.5 ControlNet as the lineart one")
    made.add_argument("--save-to", help="Folder for the random models (reused when there; default: a temp folder)")
    made.add_argument("--device", default="cpu")
    made.add_argument("--source", default="768x512", help="Source picture size WxH")
    made.add_argument("--work-size", type=int, default=512, help="Shortest side the rectangle is painted at")
    made.add_argument("--steps", type=int, default=20)
    made.add_argument("--strength", type=float, default=0.6)
    made.add_argument("--images", type=int, default=1, help="Images per job (count)")
    made.add_argument("--repeat", type=int, default=5, help="Interleaved rounds; best of N for each figure")
    made.add_argument("--edge-runs", type=int, default=20)
    args = made.parse_args()
    if args.smoke:
        args.source, args.work_size, args.steps, args.repeat, args.edge_runs = "256x192", 64, 2, 1, 1
    return args


def wall(call) -> float:
    return results.timed(call)[1]


def main() -> int:
    args = parse_args()
    started = results.machine()
    with tempfile.TemporaryDirectory(prefix="garden-bench-retouch-") as folder:
        figures = run(args, Path(folder))
    print(results.load_line("at the end"))
    results.write(args.json, "retouch", vars(args), figures, started)
    return 0


def run(args, work: Path) -> dict:
    from testkit.tiny_pipeline import save_tiny_pipeline

    text_to_image = str(save_tiny_pipeline(work / "tiny-sd"))
    lineart = ""
    if args.random_architecture or args.random_controlnet:
        from testkit.random_sd import save_random_controlnet, save_random_pipeline

        keep = Path(args.save_to) if args.save_to else work
        if args.random_architecture:
            if args.model:
                sys.exit("--model and --random-architecture are exclusive")
            args.model = str(save_random_pipeline(args.random_architecture, keep / f"random-{args.random_architecture}"))
        if args.random_controlnet:
            lineart = str(save_random_controlnet(keep / "random-controlnet-lineart"))
    settings = {
        "CELERY_BROKER_URL": "filesystem://",
        "GARDEN_GENERATOR_BACKEND": "diffusers",
        "GARDEN_DIFFUSION_MODEL": text_to_image,
        "GARDEN_RETOUCH_INPAINT_MODEL": args.model or "",
        "GARDEN_RETOUCH_LINEART_CONTROLNET": lineart,
        "GARDEN_DIFFUSION_DEVICE": args.device,
        "GARDEN_DIFFUSION_BATCH_SIZE": str(max(1, args.images)),
        "GARDEN_LOG_LEVEL": "WARNING",
    }
    with here("garden-bench-retouch-", **settings):
        return measure(args, lineart)


def measure(args, lineart: str) -> dict:
    from PIL import Image

    from generation.backends import procedural
    from generation.models import GenerationJob
    from generation.requests import JobRequest
    from generation.worker import runner as worker_runner
    from retouch import edges, imaging
    from retouch import services as retouch_services
    from retouch.engine import ControlInput, PaintRequest, get_engine
    from retouch.options import ControlUnit, RetouchOptions

    width, height = (int(v) for v in args.source.split("x"))
    source = procedural.paint(emotion="calm", favorite="spring,sunny,day", seed=1, width=width, height=height)
    mask = Image.new("L", (width, height), 0)
    mask.paste(255, (width // 3, height // 3, width // 3 + width // 5, height // 3 + height // 4))
    source_png, mask_png = imaging.encode_png(source), imaging.encode_png(mask)

    def submit():
        controls = (ControlUnit(type="lineart"),) if lineart else ()
        options = RetouchOptions(work_size=args.work_size, strength=args.strength, controls=controls)
        request = JobRequest(kind="retouch", prompt="a red flower", steps=args.steps, seed=7, count=args.images, kind_options=options)
        return retouch_services.create_retouch_job(
            request=request, uploads=retouch_services.RetouchUploads(image=source_png, mask=mask_png), enqueue=False
        )

    engine = get_engine()
    load_seconds = wall(engine.load)
    probe = submit()  # the same crop, working size and mask the jobs use
    options = probe.retouch_job.options
    prepared = imaging.prepare(
        source,
        imaging.mask_array(mask, source.size),
        tuple(options["rect"]),
        work=tuple(options["work"]),
        blur=options["mask_blur"],
        fill="original",
        seed=7,
    )

    controls = []
    for unit in options["controls"]:  # the same edge map the job detects on its crop
        edge_map = edges.detect(unit["type"], prepared.crop, low=unit["low"], high=unit["high"]).resize(
            prepared.size, Image.Resampling.LANCZOS
        )
        controls.append(ControlInput(unit["type"], edge_map.convert("RGB"), unit["scale"], unit["start"], unit["end"], unit["mode"]))

    def direct():
        request = PaintRequest(init=prepared.init, mask=prepared.model_mask, prompt="a red flower", negative_prompt="", steps=args.steps,
                               strength=args.strength, guidance=7.5, seeds=[7 + n for n in range(args.images)],
                               controls=controls)  # fmt: skip
        engine.paint(request)

    def worker_side(job):
        def run():
            assert worker_runner.execute_job(job_id=job.pk).status == GenerationJob.Status.SUCCEEDED

        return run

    def whole_path():
        job = submit()
        assert worker_runner.execute_job(job_id=job.pk).status == GenerationJob.Status.SUCCEEDED

    # The job's own pipeline time, measured inside it: job time minus the model's work is what the
    # job path adds, a figure that machine load (other processes on the cores) barely moves.
    painting: list[float] = []
    paint = type(engine).paint

    def timed_paint(self, request, *, on_step=None):
        started = time.perf_counter()
        try:
            return paint(self, request, on_step=on_step)
        finally:
            painting.append(time.perf_counter() - started)

    type(engine).paint = timed_paint
    # The per-step progress/cancel UPDATE runs inside the pipeline call (callback_on_step_end):
    # time it apart, so "the pipeline" below is the model's work only.
    from retouch import runner as retouch_runner

    stepping: list[float] = []
    reporter = retouch_runner.StepReporter

    def timed_reporter(mine, *, base, steps):
        on_step = reporter(mine, base=base, steps=steps)

        def timed_step(done):
            started = time.perf_counter()
            try:
                on_step(done)
            finally:
                stepping.append(time.perf_counter() - started)

        return timed_step

    retouch_runner.StepReporter = timed_reporter
    direct()  # warm-up (first-call allocations)
    worker_side(probe)()
    rounds: dict[str, list[float]] = {"direct": [], "worker": [], "whole": [], "added": [], "steps": []}

    def worker_round():
        painting.clear()
        stepping.clear()
        rounds["worker"].append(wall(worker_side(submit())))
        rounds["added"].append(rounds["worker"][-1] - sum(painting) + sum(stepping))
        rounds["steps"].append(sum(stepping))

    for number in range(args.repeat):
        # Alternate the order too, so a disturbance does not always hit the same figure.
        order = [lambda: rounds["direct"].append(wall(direct)), worker_round, lambda: rounds["whole"].append(wall(whole_path))]
        for run in order if number % 2 == 0 else order[::-1]:
            run()
    direct_s, worker_s, whole_s, added_s, steps_s = (min(rounds[name]) for name in ("direct", "worker", "whole", "added", "steps"))

    picture = procedural.paint(emotion="happy", favorite="summer,sunny,day", seed=3, width=1280, height=800)
    edge_times = {}
    for name in edges.DETECTORS:
        edges.detect(name, picture)
        edge_times[name] = min([wall(lambda name=name: edges.detect(name, picture)) for _ in range(args.edge_runs)])
    png_edges = min([wall(lambda: retouch_services.edge_map_png(picture=picture, detector="lineart")) for _ in range(args.edge_runs)])

    label = args.model or "tiny random-weight SD via from_pipe (testkit/tiny_pipeline.py)"
    if args.random_architecture:
        label = f"{args.random_architecture} architecture, random weights ({args.model})"
    print(f"model: {label} on {args.device}; engine dtype {engine.dtype}; lineart ControlNet: {lineart or 'none'}")
    import diffusers
    import torch

    print(
        f"torch {torch.__version__}, diffusers {diffusers.__version__}"
        + (f", {torch.cuda.get_device_name(0)}" if args.device == "cuda" else "")
    )
    print(
        f"source {width}x{height}, rect {options['rect']}, working size {options['work'][0]}x{options['work'][1]}, "
        f"{args.steps} steps x strength {args.strength} = {options['steps_run']} run, {args.images} image(s)"
    )
    print(f"pipeline load (excluded below): {load_seconds:.2f} s")
    print(f"direct pipeline call on the crop:      {direct_s:7.3f} s  {args.images / direct_s:6.2f} images/s")
    print(f"job, worker side (execute_job):        {worker_s:7.3f} s  overhead ÷ direct: {worker_s / direct_s:.3f}")
    print(f"job, submit + worker (whole path):     {whole_s:7.3f} s  overhead ÷ direct: {whole_s / direct_s:.3f}")
    print(f"worker side outside the model's work:  {added_s:7.3f} s  (direct + this) ÷ direct: {(direct_s + added_s) / direct_s:.3f}")
    print(f"  of which per-step progress/cancel UPDATEs: {steps_s:.3f} s for {options['steps_run'] + 1} updates")
    for name, seconds in edge_times.items():
        print(f"edge detector {name:8s} on 1280x800:    {seconds * 1000:7.1f} ms")
    print(f"POST /api/v1/retouch/edges work (lineart + PNG): {png_edges * 1000:.1f} ms")
    return {
        "load_s": load_seconds, "direct_s": direct_s, "worker_s": worker_s, "whole_s": whole_s, "added_s": added_s,
        "steps_s": steps_s, "worker_over_direct": worker_s / direct_s, "edges_s": edge_times, "edges_png_s": png_edges,
    }  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
