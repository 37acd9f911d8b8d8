"""A1111's settings (``/sdapi/v1/options`` and a body's ``override_settings``), as far as they apply here.

``GET`` answers A1111's options object from settings and worker presence alone (no broker call: it
is the retouch app's 2 s health probe). ``POST`` mirrors A1111's ``set_config``: an unknown model
is refused, every other key is set. Here ``sd_model_checkpoint`` and ``sd_vae`` are the caller's
own choice for its later calls (a1111.identity), never the venue's default;
settings that would change pictures and that we cannot honour are a 400 naming them (A1111 would
apply them); the rest (paths, UI, saving) are accepted and ignored.
"""

from __future__ import annotations

from pathlib import PurePath

from django.conf import settings

from a1111 import clipskip, steps
from a1111 import identity as callers
from generation import backends
from generation.backends import procedural
from generation.requests import JobParameterError
from library import selectors as library
from retouch import features

# Settings that change pictures → the values that leave them as we paint (None: unset).
PICTURE_SETTINGS = {
    "sd_vae": (None, "Automatic", "None", ""),
    "sd_unet": (None, "Automatic", "None", ""),
    "eta_noise_seed_delta": (None, 0),
    "eta_ddim": (None, 0),
    "eta_ancestral": (None, 1),
    "s_churn": (None, 0),
    "s_min_uncond": (None, 0),
    "s_noise": (None, 1),
    "initial_noise_multiplier": (None, 1),
    "img2img_color_correction": (None, False, True),  # retouch matches the source's colours either way
    "inpainting_mask_weight": (None, 1),
    "token_merging_ratio": (None, 0),
    "token_merging_ratio_img2img": (None, 0),
    "always_discard_next_to_last_sigma": (None, False),
    "sd_vae_overrides_per_model_preferences": (None, True, False),
    "samples_format": (None, "png"),  # API pictures are encoded in it: ours are always PNG
    "emphasis": (None, "Original"),
    "randn_source": (None, "GPU", "CPU"),  # seeds draw on a CPU generator here whatever this says
}


# What A1111 clients see while the demo's procedural painter paints (GARDEN_GENERATOR_BACKEND=procedural):
# a checkpoint that names it, never a model that is not installed (docs/models.md#from-the-demo-to-a-real-model).
# One name wherever clients see it: the painter's own model id, which jobs, infotext and png-info carry.
PROCEDURAL_DEMO = procedural.MODEL_ID
EARLIER_DEMO_NAME = "procedural-demo"  # what sd-models listed before: a client that kept it is still understood
DEMO_NOTE = "The demo's procedural painter paints (patterns, no model): see docs/models.md, From the demo to a real model."


def demo_paints() -> bool:
    """The procedural painter paints jobs that name no model, and no library pipeline is listed instead."""
    return settings.GARDEN_GENERATOR_BACKEND == backends.PROCEDURAL and not library.pipelines().exists()


def is_demo_model(name: str) -> bool:
    """A client naming the demo's checkpoint back (its title or name) while the demo paints."""
    return demo_paints() and library.strip_title(name) in (PROCEDURAL_DEMO, EARLIER_DEMO_NAME)


def retouch_model() -> str:
    """The model retouch paints with: GARDEN_RETOUCH_INPAINT_MODEL, else GARDEN_DIFFUSION_MODEL."""
    return features.feature_status()["inpaint"]["model"]


def default_model() -> str:
    """sd_model_checkpoint: the model jobs that name none paint with (the library's default, or the
    stand-in while its file is gone: options_object says so), else the model retouch paints with."""
    if demo_paints():
        return PROCEDURAL_DEMO
    entry = library.default_pipeline() if library.enabled() else None
    if entry:
        return str(getattr(entry, "name", entry))
    return retouch_model()


def _names(model: str) -> set[str]:
    """What a client may call a model: its setting's value, its folder name, A1111's "name [hash]" title."""
    return {model, PurePath(model).name} if model else set()


def is_retouch_model(name: str) -> bool:
    base = name.split(" [", 1)[0].strip()
    return bool(base) and (base in _names(retouch_model()) | _names(default_model()))


def listed_vae(entry) -> str:
    """A library VAE as A1111's ``/sd-vae`` names it: the file's name with its extension (a folder: its name)."""
    suffix = PurePath(entry.path).suffix
    return entry.name + ("" if suffix in ("", ".json") else suffix)


def shown_vae(name: str) -> str:
    """``sd_vae`` as GET /options answers it: a library VAE's name as /sd-vae lists it, else as it is (Automatic, None)."""
    entry = library.vaes().filter(name=name).first() if name and library.enabled() else None
    return listed_vae(entry) if entry is not None else name


def default_vae() -> str:
    """sd_vae: the library's default pipeline's default VAE, else "Automatic" (the model's own)."""
    entry = library.default_pipeline() if library.enabled() else None
    return (entry.default_vae if entry is not None else "") or "Automatic"


def options_object(gpu_workers: int, chosen=None) -> dict:
    """A1111's options for a caller: ``chosen`` (a1111.models.ClientChoice) is its own model and VAE
    (POST /sdapi/v1/options), else the venue's default."""
    state = library.default_state()  # one read for both: GET options is the retouch app's 2 s health probe
    demo = demo_paints()
    model = state.used.name if state.used is not None and not demo else default_model()
    venue_default = state.chosen.name if state.chosen and not demo else (PurePath(model).name if "/" in model else model)
    vae = default_vae()
    if chosen is not None:
        model, vae = chosen.model or model, chosen.vae or vae
    return {
        "sd_model_checkpoint": PurePath(model).name if "/" in model else model,
        # Ours (A1111 clients ignore them): the model chosen as the default, and why jobs paint with
        # sd_model_checkpoint instead while its file is gone or unusable, or that the demo paints ("" when neither).
        "sd_model_checkpoint_default": venue_default,
        "sd_model_checkpoint_note": DEMO_NOTE if demo else state.problem,
        "sd_checkpoint_hash": None,
        "sd_vae": shown_vae(vae),
        "sd_unet": "Automatic",
        "CLIP_stop_at_last_layers": clipskip.saved(),  # honoured by txt2img and img2img (a1111.clipskip)
        "samples_format": "png",
        "samples_save": False,
        "save_images_add_number": True,
        "grid_save": False,
        "eta_noise_seed_delta": 0,
        "eta_ddim": 0.0,
        "eta_ancestral": 1.0,
        "initial_noise_multiplier": 1.0,
        "img2img_fix_steps": steps.saved(),  # honoured by img2img (a1111.steps)
        "img2img_color_correction": False,
        "inpainting_mask_weight": 1.0,
        "token_merging_ratio": 0.0,
        "randn_source": "CPU",
        "sd_vae_as_default": True,
        "enable_emphasis": True,
        "emphasis": "Original",
        "interrogate_deepbooru_score_threshold": 0.5,
        "gpu_worker_count": gpu_workers,  # ours: how many GPU workers are present (never their host names)
        "gpu_queue": settings.GARDEN_GPU_QUEUE,
    }


def check_picture_settings(values: dict, prefix: str = "") -> None:
    """A 400 naming each setting that would change pictures in a way we cannot honour."""
    refused = {}
    for name, value in values.items():
        neutral = PICTURE_SETTINGS.get(name)
        if neutral is not None and not any(same_value(value, allowed) for allowed in neutral):
            shown = ", ".join(repr(v) for v in neutral if v is not None)
            refused[f"{prefix}{name}"] = f"{name}={value!r} would change pictures and is not supported here (use {shown})."
    if refused:
        raise JobParameterError(fields=refused)


def same_value(value, allowed) -> bool:
    if isinstance(value, bool) or isinstance(allowed, bool):  # True is not the 1 of a numeric setting
        return value is allowed
    return value == allowed


# A1111's VAE names carry their file's extension; ours are the file's stem.
VAE_EXTENSIONS = (".safetensors", ".pt", ".ckpt", ".bin")


def vae_name(value, field: str) -> str | None:
    """A1111's ``sd_vae`` value as a JobRequest's ``vae`` (None: unset; "Automatic"/"None" as they are)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise JobParameterError(fields={field: "Expected a VAE's name (GET /sdapi/v1/sd-vae), Automatic or None."})
    value = value.strip()
    for extension in VAE_EXTENSIONS:  # "vae-ft-mse.safetensors" as A1111 lists it → "vae-ft-mse"
        if value.lower().endswith(extension):
            return value[: -len(extension)]
    return value


def check_vae(value) -> str | None:
    """``sd_vae`` as a caller's choice: None (unset), "Automatic", "None" or a library VAE's name."""
    name = vae_name(value, "sd_vae")
    if name is None or name.lower() in ("", "automatic", "none"):
        return None if name is None else (name or "Automatic")
    if not library.enabled():
        raise JobParameterError(fields={"sd_vae": f"Unknown VAE {value!r}: without a model library (GARDEN_MODELS_DIR) there are no VAEs."})
    try:
        return library.resolve_vae(name).name
    except library.UnknownEntry as exc:
        raise JobParameterError(fields={"sd_vae": str(exc)}) from None


def set_options(values: dict, identity: str) -> None:
    """A1111's ``POST /sdapi/v1/options`` for one caller: its model and VAE for its later calls
    (a1111.identity; A1111 has one user, so its options are that user's). The venue's default model
    changes only in the admin. Settings we cannot honour are refused, the rest ignored."""
    check_picture_settings({name: value for name, value in values.items() if name not in ("sd_vae", clipskip.OPTION)})
    vae = check_vae(values.get("sd_vae"))
    name = values.get("sd_model_checkpoint")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise JobParameterError(fields={"sd_model_checkpoint": "sd_model_checkpoint must be a model name."})
    demo = demo_paints()
    if name is not None and demo and not is_demo_model(name):
        message = f"Unknown model {name!r}: the demo paints with {PROCEDURAL_DEMO!r}. {DEMO_NOTE}"
        raise JobParameterError(fields={"sd_model_checkpoint": message})
    if name is not None and not demo and not library.enabled() and not is_retouch_model(name):
        raise JobParameterError(
            fields={"sd_model_checkpoint": f"Unknown model {name!r}: this server paints with {default_model()!r} (no model library)."}
        )
    steps.save(values)
    clipskip.save(values)
    model = name if name is not None and library.enabled() and not demo else None
    callers.choose(identity, model=model, vae=vae)
