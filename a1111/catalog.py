"""What the A1111 list endpoints answer, in A1111's shapes (modules/api/api.py, the ControlNet
extension's scripts/api.py): checkpoints, samplers, schedulers, LoRAs, embeddings, styles,
ControlNet modules and models, and the caller's progress. Reads only.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import timezone

from a1111 import options, shorthash, txt2img
from a1111.models import PromptStyle
from generation.models import GenerationJob
from library import selectors as library
from library.models import LibraryEntry
from retouch import edges, model_folders

CONTROLNET_API_VERSION = 2
CONTROLNET_UNITS = 3  # controls per job (retouch.options)
REFERENCE_MODULES = ("reference_only", "reference_adain", "reference_adain+attn", "ip-adapter_clip_sd15")
LORA_METADATA = ("base_model_version", "sd_model_name", "output_name")
# sd-webui-controlnet's current names (scripts/supported_preprocessor.py PreprocessorParameter.api_json,
# served by external_code.get_modules_detail): the resolution slider is "Resolution", thresholds per preprocessor.
RESOLUTION_SLIDER = {"name": "Resolution", "value": 512, "min": 64, "max": 2048, "step": 8}


def _checkpoint(entry: LibraryEntry) -> dict:
    short = entry.short_hash or entry.content_sha256[:10] or None  # a folder: its files' manifest's digest (A1111 always lists a hash)
    return {
        "title": f"{entry.name} [{short}]" if short else entry.name,
        "model_name": entry.name,
        "hash": short,
        "sha256": entry.content_sha256 or None,
        "filename": str(library.listed_path(entry)),
        "config": None,
    }


def default_checkpoint() -> dict:
    """Without a library, the one model jobs use: GARDEN_DIFFUSION_MODEL."""
    model = settings.GARDEN_DIFFUSION_MODEL
    name = Path(model).name or model
    return {"title": name, "model_name": name, "hash": shorthash.name_hash(name), "sha256": None, "filename": model, "config": None}


def sd_models() -> list[dict]:
    if options.demo_paints():  # the demo's painter, never a model that is not installed
        name = options.PROCEDURAL_DEMO
        return [{"title": name, "model_name": name, "hash": shorthash.name_hash(name), "sha256": None, "filename": "", "config": None}]
    entries = list(library.pipelines())
    return [_checkpoint(entry) for entry in entries] if entries else [default_checkpoint()]


def samplers() -> list[dict]:
    return [{"name": s.name, "aliases": list(s.aliases), "options": dict(s.options)} for s in txt2img.SAMPLERS]


def schedulers() -> list[dict]:
    return [dict(scheduler) for scheduler in txt2img.SCHEDULERS]


def loras() -> list[dict]:
    return [
        {
            "name": entry.name,
            "alias": entry.name,
            "path": str(library.listed_path(entry)),
            # A1111's Lora extension answers the file's kohya metadata (ss_…): the scan keeps a few.
            "metadata": {f"ss_{key}": value for key, value in (entry.details or {}).items() if key in LORA_METADATA},
        }
        for entry in library.loras()
    ]


def embeddings() -> dict:
    loaded = {}
    for entry in library.embeddings():
        shape = (entry.details or {}).get("shape")  # the scan's tensor shape: [vectors, width] (or [width])
        shape = shape if isinstance(shape, list) and shape else None
        loaded[entry.name] = {
            "step": None,
            "sd_checkpoint": None,
            "sd_checkpoint_name": None,
            "shape": shape[-1] if shape else None,  # A1111: each vector's length
            "vectors": (shape[0] if len(shape) == 2 else 1) if shape else None,
        }
    return {"loaded": loaded, "skipped": {}}


def upscalers() -> list[dict]:
    """A1111's ``/upscalers``: its built-in None, Lanczos and Nearest, then the library's upscalers
    (A1111 answers scale 4 for every model; the scan's ``scale`` when it read one)."""
    built_in = [
        {"name": name, "model_name": None, "model_path": None, "model_url": None, "scale": 4} for name in ("None", "Lanczos", "Nearest")
    ]
    return built_in + [
        {
            "name": entry.name,
            "model_name": (entry.details or {}).get("architecture") or "ESRGAN",
            "model_path": str(library.listed_path(entry)),
            "model_url": None,
            "scale": (entry.details or {}).get("scale") or 4,
        }
        for entry in library.upscalers()
    ]


def latent_upscale_modes() -> list[dict]:
    """A1111's ``/latent-upscale-modes``: the hires fix's latent upscalers."""
    return [{"name": name} for name in txt2img.LATENT_MODES]


def sd_vaes() -> list[dict]:
    """A1111's ``/sd-vae``: the library's VAEs, named as A1111 names them (the file's name; a folder's name)."""
    return [
        {
            "model_name": options.listed_vae(entry),
            "filename": str(library.listed_path(entry)),
        }
        for entry in library.vaes()
    ]


def prompt_styles() -> list[dict]:
    return [{"name": s.name, "prompt": s.prompt, "negative_prompt": s.negative_prompt} for s in PromptStyle.objects.order_by("name")]


# --- ControlNet ------------------------------------------------------------------------------


def _module_detail(module: str) -> dict:
    if module == "none":
        return {"model_free": False, "sliders": []}
    if module in REFERENCE_MODULES:
        return {"model_free": not module.startswith("ip-adapter"), "sliders": []}
    sliders = [RESOLUTION_SLIDER]
    if edges.MODULE_ALIASES[module] == "canny":
        sliders += [
            {"name": "Low Threshold", "value": 100, "min": 1, "max": 255, "step": 1},
            {"name": "High Threshold", "value": 200, "min": 1, "max": 255, "step": 1},
        ]
    return {"model_free": False, "sliders": sliders}


def controlnet_modules() -> dict:
    """Every module img2img units and /controlnet/detect accept (parsing.REFERENCE_MODULES are prefixes)."""
    modules = ["none", *edges.MODULE_ALIASES, *REFERENCE_MODULES]
    return {"module_list": modules, "module_detail": {module: _module_detail(module) for module in modules}}


def controlnet_models() -> list[str]:
    """The configured ControlNets, as ``"<name> [<kind>]"`` (a library entry's name, or a folder's):
    the kind in the name is how a unit's ``model`` picks lineart or canny (A1111 titles are ``"<name> [<hash>]"``)."""
    configured = ((kind, model_folders.shown_name(setting)) for kind, setting in model_folders.CONTROLNET_SETTINGS.items())
    return [f"{name} [{kind}]" for kind, name in configured if name]


# A1111's sd-webui-controlnet control types (scripts/api.py ``/controlnet/control_types``): each
# type's modules and models, the first of each its default; "All" lists everything.
CONTROL_TYPES = (("Lineart", "lineart"), ("Canny", "canny"))


def controlnet_control_types() -> dict:
    modules = controlnet_modules()["module_list"]
    models = controlnet_models()

    def entry(module_list: list[str], model_list: list[str]) -> dict:
        return {
            "module_list": module_list,
            "model_list": ["None", *model_list],
            "default_option": module_list[0] if module_list else "none",
            "default_model": model_list[0] if model_list else "None",
        }

    types = {"All": entry(modules, models)}
    for label, kind in CONTROL_TYPES:
        kind_modules = [*(name for name, target in edges.MODULE_ALIASES.items() if target == kind), "none"]
        types[label] = entry(kind_modules, [model for model in models if f"[{kind}]" in model])
    types["Reference"] = entry([name for name in REFERENCE_MODULES if name.startswith("reference")], [])
    types["IP-Adapter"] = entry([name for name in REFERENCE_MODULES if name.startswith("ip-adapter")], [])
    return {"control_types": types}


# --- other A1111 lists ------------------------------------------------------------------------


def realesrgan_models() -> list[dict]:
    """A1111's ``/realesrgan-models`` ({name, path, scale}): the library's upscalers (RRDBNet and kin)."""
    return [
        {"name": entry.name, "path": str(library.listed_path(entry)), "scale": (entry.details or {}).get("scale") or 4}
        for entry in library.upscalers()
    ]


# The extensions whose API this server answers (A1111's ``/extensions`` shape); no code of theirs runs here.
EXTENSIONS = ("sd-webui-controlnet", "stable-diffusion-webui-wd14-tagger")


def extensions() -> list[dict]:
    return [
        {
            "name": name,
            "remote": None,
            "branch": None,
            "commit_hash": None,
            "version": "emotion-garden",
            "commit_date": None,
            "enabled": True,
        }
        for name in EXTENSIONS
    ]


def queue_status(queued: int) -> dict:
    """Gradio 3's ``GET /queue/status`` (A1111's web UI queue, the Cyanic plugin's connection probe):
    ``queue_size`` counts the caller's queued jobs."""
    return {
        "msg": "estimation",
        "rank": None,
        "queue_size": queued,
        "avg_event_process_time": None,
        "avg_event_concurrent_process_time": None,
        "rank_eta": None,
        "queue_eta": 0,
    }


# --- progress --------------------------------------------------------------------------------


def progress(job: GenerationJob | None) -> dict:
    """A1111's ProgressResponse for ``job`` (idle: progress 0, job_count 0)."""
    state = {
        "skipped": False,
        "interrupted": False,
        "stopping_generation": False,
        "job": "",
        "job_count": 0,
        "job_timestamp": "0",
        "job_no": 0,
        "sampling_step": 0,
        "sampling_steps": 0,
    }
    if job is None:
        return {"progress": 0, "eta_relative": 0, "state": state, "current_image": None, "textinfo": None}
    done = job.steps_done / job.steps_total if job.steps_total else 0.0
    eta = 0.0
    if job.status == GenerationJob.Status.RUNNING and job.started_at and done > 0:
        elapsed = (timezone.now() - job.started_at).total_seconds()
        eta = max(0.0, elapsed / done - elapsed)
    state.update(
        interrupted=job.cancel_requested,
        job=f"{job.kind} {job.pk}",
        job_count=job.images_total or job.count,
        job_timestamp=job.created_at.strftime("%Y%m%d%H%M%S"),
        job_no=job.images_done,
        sampling_step=job.steps_done,
        sampling_steps=job.steps_total,
        job_id=str(job.pk),
        status=job.status,
    )
    textinfo = "Queued" if job.status == GenerationJob.Status.QUEUED else f"Step {job.steps_done}/{job.steps_total}"
    return {
        "progress": round(min(done, 1.0), 4),
        "eta_relative": round(eta, 2),
        "state": state,
        "current_image": None,
        "textinfo": textinfo,
    }


def task_progress(job: GenerationJob | None, queue: list[str], task_id: str) -> dict:
    """A1111's ``POST /internal/progress`` answer (modules/progress.py ``ProgressResponse``) for the
    caller's task ``task_id``: its job, and the caller's queued task ids (its place in line)."""
    answer = {"active": False, "queued": False, "completed": False, "progress": None, "eta": None,
              "live_preview": None, "id_live_preview": -1, "textinfo": "Waiting..."}  # fmt: skip
    if job is None:
        return answer
    if job.status == GenerationJob.Status.QUEUED:
        place = queue.index(task_id) + 1 if task_id in queue else len(queue)
        return answer | {"queued": True, "textinfo": f"In queue: {place}/{len(queue)}"}
    if job.is_finished:
        return answer | {"completed": True, "progress": 1.0 if job.status == GenerationJob.Status.SUCCEEDED else None, "textinfo": None}
    shown = progress(job)
    eta = shown["eta_relative"] or None
    return answer | {"active": True, "progress": shown["progress"], "eta": eta, "textinfo": shown["textinfo"]}
