#!/usr/bin/env python3
"""Time estimates on a fresh queue, job by job: each job's estimate (generation.progress, read as
the admin and the bulk plan read it, just before the job starts with nothing ahead of it) ÷ the time
the job then took (claim to end), the first job of a size included.

    nice -n 10 .venv/bin/python bench/estimates.py                 # the sequence below, tiny pipeline, CPU
    nice -n 10 .venv/bin/python bench/estimates.py --threads 1     # torch on one thread (a loaded machine)
    nice -n 10 .venv/bin/python bench/estimates.py --sequence one-size   # small calls of one size before the bulk jobs
    .venv/bin/python bench/estimates.py --smoke                    # two small jobs: seconds, figures mean nothing

Real jobs through the worker's own path (generation.worker.runner.execute_job: the library's model
loaded, timed and stored as a worker does), on the tiny random-weight pipeline (testkit/tiny_pipeline.py)
in a model library of its own, in this process (bench/_inprocess.py: a migrated SQLite copy). The
sequence is what the issue met: an SD client's small calls first, then bulk jobs of other sizes.
A ratio above 1 is an estimate too long. The first job has none (no pace yet: "First run on this model").
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench._inprocess import scratch, set_up_django  # noqa: E402
from bench.harness import results  # noqa: E402

MODEL = "tiny-sd-a"
# (width = height, steps, pictures). mixed: small calls of two sizes, then bigger jobs, then small again;
# one-size: small calls of one size only before the bulk jobs (the fit has nothing but the prior to split them).
SEQUENCES = {
    "mixed": ((64, 2, 1), (64, 4, 1), (96, 3, 1), (384, 4, 2), (256, 4, 4), (512, 3, 2), (64, 2, 1), (192, 6, 3)),
    "one-size": ((64, 2, 1), (64, 4, 1), (64, 3, 1), (384, 4, 2), (512, 3, 2)),
}
SMOKE = ((64, 1, 1), (96, 1, 1))


def ratio(estimate: int | None, took: float) -> float | None:
    """Estimate ÷ time taken; None for no estimate, or for 0 s (estimates are whole seconds: a job the
    estimate calls "under a second" is not compared)."""
    return round(estimate / took, 2) if estimate and took > 0 else None


def run(sequence, threads: int) -> list[dict]:
    import torch

    from generation import progress, services
    from generation.models import GenerationJob
    from generation.requests import JobRequest
    from generation.worker import runner

    if threads:
        torch.set_num_threads(threads)
    rows = []
    for size, steps, count in sequence:
        request = JobRequest(prompt="a quiet garden", width=size, height=size, steps=steps, count=count, model=MODEL)
        job = services.create_job(request=request, enqueue=False)
        # Queued, nothing ahead: the plan's and the list's figure; and without the prior (main before issue 96).
        estimate = progress.estimate_seconds(job)
        without = progress.estimate_seconds(job, progress.Estimates(prior=0.0))
        done = runner.execute_job(job_id=job.pk, worker="bench-estimates")
        assert done.status == GenerationJob.Status.SUCCEEDED, done.error
        took = (done.finished_at - done.started_at).total_seconds()
        rows.append(
            {
                "size": f"{count}x{size}²x{steps}",
                "estimate_s": estimate,
                "took_s": round(took, 2),
                "ratio": ratio(estimate, took),
                "ratio_without_prior": ratio(without, took),
                "load_s": (done.timings or {}).get("load", 0.0),
            }
        )
        row = rows[-1]
        without_prior = row["ratio_without_prior"]
        print(f"{row['size']:>14}: estimate {estimate!s:>5} s, took {took:7.2f} s, ratio {row['ratio']} (no prior: {without_prior})")
    return rows


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's own choice)")
    parser.add_argument("--sequence", choices=sorted(SEQUENCES), default="mixed")
    args = parser.parse_args()
    started = results.machine()
    with scratch("garden-bench-estimates-") as work:
        work = Path(work)
        from testkit.tiny_pipeline import save_tiny_pipeline

        save_tiny_pipeline(work / "models" / MODEL)
        set_up_django(
            work,
            GARDEN_GENERATOR_BACKEND="diffusers",
            GARDEN_DIFFUSION_DEVICE="cpu",
            GARDEN_HF_OFFLINE="true",
            GARDEN_MODELS_DIR=str(work / "models"),
        )
        from library.services import entries

        entries.scan()
        rows = run(SMOKE if args.smoke else SEQUENCES[args.sequence], args.threads)
    summary: dict = {"jobs": rows}
    for key in ("ratio", "ratio_without_prior"):
        ratios = [row[key] for row in rows if row[key] is not None]
        worst = max((max(ratio, 1 / ratio) for ratio in ratios), default=None)
        summary[key] = {
            "within_2x": sum(0.5 <= ratio <= 2 for ratio in ratios),
            "estimated": len(ratios),
            "worst_factor": round(worst, 2) if worst else None,
            "median": round(statistics.median(ratios), 2) if ratios else None,
        }
        figures = summary[key]
        print(f"{key}: {figures['within_2x']} of {figures['estimated']} within 2x, worst {figures['worst_factor']}x")
    print(results.load_line())
    results.write(args.json, "estimates", vars(args) | {"json": str(args.json or "")}, summary, started)


if __name__ == "__main__":
    main()
