"""The generation app's settings, read onto django.conf.settings by config/settings.py (config.appsettings)."""

import os

from config.appsettings import flag, integer, names, number, text

TITLE = "Generation: models, jobs, sizes, the GPU queue"
DOC = "[generation.md](generation.md#settings), [models.md](models.md#settings)"

SETTINGS = [
    flag("GARDEN_HF_OFFLINE", True, "sets `HF_HUB_OFFLINE=1` and `local_files_only`: no downloads at run time"),
    text(
        "GARDEN_GENERATOR_BACKEND",
        lambda values: "diffusers" if "GARDEN_DIFFUSION_MODEL" in os.environ else "procedural",
        "default backend of new jobs: `diffusers` or `procedural` (a fresh install has no weights, so it paints procedurally)",
        shown_default="`diffusers` when `GARDEN_DIFFUSION_MODEL` is set, else `procedural`",
    ),
    text("GARDEN_DIFFUSION_MODEL", "stabilityai/sd-turbo", "hub id or local folder of a diffusers text-to-image pipeline"),
    text("GARDEN_DIFFUSION_DEVICE", "auto", "`auto` (cuda → mps → cpu), `cuda`, `cuda:1`, `cpu`"),
    text(
        "GARDEN_DIFFUSION_SCHEDULER",
        "default",
        "`default` (the model's), `euler`, `euler_a`, `dpm++`, `dpm++_karras`, `ddim`, `pndm`, `lms`, `unipc`, `heun`, `lcm`",
    ),
    flag("GARDEN_DIFFUSION_COMPILE", False, "`torch.compile` the UNet (slow first call per size; for long bulk runs on CUDA)"),
    integer("GARDEN_DIFFUSION_BATCH_SIZE", 4, "images of one size per pipeline call"),
    integer(
        "GARDEN_BACKGROUND_CALL_PICTURES",
        1,
        "pictures of one pipeline call of a background (gardener) job, at most `GARDEN_DIFFUSION_BATCH_SIZE`; a foreground job "
        "waits at most one such call ([generation.md](generation.md#foreground-before-background)); `0`: the ordinary batch size",
    ),
    flag(
        "GARDEN_BACKGROUND_YIELD",
        True,
        "between two calls a background job gives its worker up to a waiting foreground job, and resumes later "
        "([generation.md](generation.md#foreground-before-background))",
    ),
    text(
        "GARDEN_DIFFUSION_LEAN",
        "auto",
        "the lean 1-step call of `generate_tensors` ([generation.md](generation.md#the-gpu-worker-the-lean-call)): "
        "`auto` (with CUDA graphs on CUDA workers, the ordinary pipeline call elsewhere), `graphs`, `eager` (no graphs, any device), `off`",
    ),
    integer("GARDEN_DIFFUSION_MAX_LOADED", 2, "pipelines a worker process keeps loaded (least recently used goes first)"),
    text(
        "GARDEN_DIFFUSION_DTYPE",
        "auto",
        "`auto` (fp32 off CUDA; on CUDA bf16 for transformer models, fp16 otherwise), `fp16`, `bf16`, "
        "`fp32`; a library model may override it ([models.md](models.md#memory-and-precision))",
    ),
    text(
        "GARDEN_DIFFUSION_OFFLOAD",
        "none",
        "`none`, `model` (one component on the GPU at a time), `sequential` (one layer at a time); GPU only; "
        "a library model may override it",
    ),
    flag("GARDEN_DIFFUSION_VAE_TILING", False, "decode big pictures tile by tile"),
    flag("GARDEN_DIFFUSION_VAE_SLICING", False, "decode a batch one picture at a time"),
    number(
        "GARDEN_DIFFUSION_MEMORY_GB",
        0.0,
        "this worker process's share of the GPU in GB (`torch.cuda.set_per_process_memory_fraction`), so a "
        "job worker and a live worker share one card; `0`: the whole card",
    ),
    flag("GARDEN_HIRES_FIX", True, "bulk jobs larger than their model's native size paint in two passes"),
    number("GARDEN_HIRES_DENOISING", 0.5, "the second pass's denoising strength (a job's `hires_denoising` wins)"),
    text("GARDEN_HIRES_UPSCALER", "latent", "the upscaler between the passes: a built-in name or a library upscaler"),
    integer("GARDEN_DEFAULT_STEPS", 25, "steps when a request gives none (SD-Turbo wants `steps=1..4`)"),
    number("GARDEN_DEFAULT_GUIDANCE", 7.5, "guidance when a request gives none (SD-Turbo wants `guidance=0`)"),
    integer("GARDEN_MIN_SIZE", 64, "smallest width and height"),
    integer("GARDEN_MAX_WIDTH", 1536, "largest width"),
    integer("GARDEN_MAX_HEIGHT", 1536, "largest height"),
    integer("GARDEN_MAX_STEPS", 150, "request bound on steps"),
    integer("GARDEN_MAX_COUNT", 50, "request bound on `count`"),
    number(
        "GARDEN_TEXT2IMAGE_WAIT_SECONDS", 25.0, "how long `POST /text2image` waits before answering 202 (under the old 29 s gateway limit)"
    ),
    integer(
        "GARDEN_JOB_WAIT_SLOTS",
        2,
        "requests per web process that may wait for a job at once (a waiting call holds a thread); the rest "
        "answer 202 at once, so kiosk calls always find a thread. Keep it below gunicorn's `--threads` (16 in "
        "the Procfile)",
    ),
    text("GARDEN_TEXT2IMAGE_EMOTION", "calm", "key folder for `/text2image` images when the body names no `emotion`"),
    names(
        "GARDEN_EXTRA_FAVORITES",
        [],
        "comma-separated favorites new jobs may use besides the kiosk's `season,weather,time` "
        "([generation.md](generation.md#favorites)), e.g. `cat` where old kiosks send their own words",
    ),
    integer("GARDEN_JOB_SOFT_TIME_LIMIT", 3600, "seconds per job (hard limit +120 s)"),
    integer(
        "GARDEN_JOB_LEASE_SECONDS",
        60,
        "a running job without heartbeat for this long is stale: its worker is presumed dead and the job is "
        "resumed (keep it several times `GARDEN_JOB_HEARTBEAT_SECONDS`)",
    ),
    number(
        "GARDEN_JOB_HEARTBEAT_SECONDS",
        10.0,
        "how often a worker's thread refreshes a running job's `heartbeat_at`, model loading included (at "
        "most a third of `GARDEN_JOB_LEASE_SECONDS`); `0`: only at steps (then the lease must exceed model "
        "loading)",
    ),
    integer(
        "GARDEN_GATHER_SIZE",
        8,
        "pictures of queued one-picture jobs (live, or of one step) a worker paints in one pipeline call at most, each "
        "with its own prompt and seed (jobs whose calls would be the same but for those: same model, size, steps and "
        "guidance); `1`: one at a time",
        old_var="GARDEN_LIVE_BATCH_SIZE",
    ),
    number(
        "GARDEN_GATHER_PROGRESS_SECONDS",
        0.25,
        "a gathered call writes its jobs' progress (one UPDATE) at most this often; its last step is always written; `0`: every step",
        old_var="GARDEN_LIVE_PROGRESS_SECONDS",
    ),
    integer(
        "GARDEN_FINISHING_PROCESSES",
        1,
        "processes in which a worker whose main thread paints (`--pool solo`: the live worker) finishes its gathered "
        "calls (safety check, watermark, JPEG, storage, rows) beside the next call, started with the worker; `0`: "
        "after each call, in the painting process",
        old_var="GARDEN_LIVE_POST_PROCESSES",
    ),
    text(
        "GARDEN_CARD_FINISHING",
        "auto",
        "where a gathered call's pictures are checked, watermarked and encoded: `auto` on the card when the model lies "
        "on a CUDA device (only bytes and verdicts leave it), `on` wherever the backend paints tensors, `off` on the CPU",
        old_var="GARDEN_LIVE_DEVICE_POST",
    ),
    number(
        "GARDEN_JOB_SWEEP_SECONDS",
        30.0,
        "how often every worker sweeps for stale jobs and unsent messages (one at a time); `0`: only at worker start and under beat",
    ),
    integer("GARDEN_JOB_MAX_ATTEMPTS", 3, "attempts before a job is failed (worker loss, transient errors)"),
    number(
        "GARDEN_JOB_HUNG_SECONDS_PER_STEP",
        10.0,
        "a running job whose worker beats but whose progress has not moved for "
        "`GARDEN_JOB_HUNG_BASE_SECONDS` + steps × images × this is hung and requeued; `0`: never",
    ),
    number("GARDEN_JOB_HUNG_BASE_SECONDS", 900.0, "the part of that limit for model loading and the first call"),
    integer(
        "GARDEN_JOB_REQUEUE_AFTER_SECONDS",
        1800,
        "a job still queued this long after its message was sent gets it sent again (lost broker messages); "
        "duplicates are no-ops; `0` turns it off",
    ),
    text("GARDEN_GPU_QUEUE", "gpu", "Celery queue of diffusers jobs"),
    number("GARDEN_WORKER_PRESENCE_SECONDS", 10.0, "how often workers write their presence row; unseen for 3 beats = gone"),
    number(
        "GARDEN_PULL_AGE_LIMIT_SECONDS",
        30.0,
        "a queued job whose model no present worker of its queue holds or is loading goes before the workers' warm work "
        "once it has waited this long, so a steady stream of warm jobs never starves it "
        "([scaling.md](scaling.md#which-job-a-worker-takes))",
    ),
]
