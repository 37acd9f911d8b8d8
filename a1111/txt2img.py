"""``POST /sdapi/v1/txt2img``: an A1111 body → a text-to-image job (kind ``images``), answered once done.

Field by field (A1111's names and defaults, modules/api/models.py):

- ``prompt``, ``negative_prompt`` (``<lora:name:w>`` tags stay in the prompt: JobRequest reads
  them), ``styles`` (a1111.styles), ``seed`` (-1 random), ``subseed`` (-1 random) and
  ``subseed_strength``, ``steps``, ``cfg_scale``, ``width``/``height``, ``batch_size`` × ``n_iter``;
- ``sampler_name`` (or the older ``sampler_index``) + ``scheduler`` → our sampler names (SAMPLERS);
- ``override_settings.sd_model_checkpoint`` → the library model; ``CLIP_stop_at_last_layers`` →
  clip skip; ``sd_vae`` → the library VAE ("Automatic": the model's default VAE, "None": its own);
  ``send_images: false`` → no pictures in the answer;
- ``enable_hr`` → the hires fix (generation.backends.hires): ``width``/``height`` are the first pass,
  ``hr_scale`` or ``hr_resize_x``/``hr_resize_y`` the picture, ``hr_upscaler`` (A1111's latent
  modes, None, Lanczos, Nearest or a library upscaler), ``hr_second_pass_steps`` and
  ``denoising_strength`` the second pass.

Fields that would change the picture but that we cannot honour are a 400 naming each one
(REFUSED_FLAGS, NEUTRAL, ``eta`` other than the sampler's own, enabled always-on scripts,
override settings that change pictures: a1111.options); the rest is ignored (cosmetic).
"""

from __future__ import annotations

from a1111 import clipskip, fields, options, parsing, samplers, styles
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest

# A1111's samplers and schedulers (a1111.samplers), as GET /samplers and /schedulers list them.
SAMPLERS = samplers.SAMPLERS
SCHEDULERS = samplers.SCHEDULERS

REFUSED_FLAGS = ("tiling",)  # restore_faces: painted without, said in info (a1111.fields.warnings)
# A1111's hires upscaler names → ours (generation.backends.hires); a library upscaler goes by its name.
HIRES_UPSCALERS = {
    "Latent": "latent",
    "Latent (antialiased)": "latent-antialiased",
    "Latent (bicubic)": "latent-bicubic",
    "Latent (bicubic antialiased)": "latent-bicubic-antialiased",
    "Latent (nearest)": "latent-nearest",
    "Latent (nearest-exact)": "latent-nearest-exact",
    "None": "none",
    "Lanczos": "lanczos",
    "Nearest": "nearest",
}
LATENT_MODES = tuple(name for name in HIRES_UPSCALERS if name.startswith("Latent"))
# The hires pass's own checkpoint, sampler, scheduler and prompts: the first pass's are used here.
HIRES_SAME = {
    "hr_checkpoint_name": ("", "Use same checkpoint"),
    "hr_sampler_name": ("", "Use same sampler"),
    "hr_scheduler": ("", "Use same scheduler"),
    "hr_prompt": ("",),
    "hr_negative_prompt": ("",),
}
# Fields whose other values change the picture in A1111 → the values that leave it as we paint:
# img2img's list (a1111.fields), less the variation seed (honoured here), plus ``infotext``
# (A1111 fills the fields a body leaves out from it).
NEUTRAL = {**{name: values for name, values in fields.NEUTRAL.items() if name != "subseed_strength"}, "infotext": (None, "")}
# JobRequest's field names → the A1111 field a client sent (so every 400 names the client's field).
CLIENT_NAMES = {
    "count": "batch_size",
    "guidance": "cfg_scale",
    "sampler": "sampler_name",
    "model": "override_settings.sd_model_checkpoint",
    "clip_skip": "override_settings.CLIP_stop_at_last_layers",
    "loras": "prompt",  # <lora:name:weight> tags
    "vae": "override_settings.sd_vae",
    "hires_fix": "enable_hr",
    "hires_upscaler": "hr_upscaler",
    "hires_steps": "hr_second_pass_steps",
    "hires_denoising": "denoising_strength",
    "hires_first_width": "width",
    "hires_first_height": "height",
}


sampler_label = samplers.label
sampler_choice = samplers.choose


def _whole(body: dict, name: str, default: int) -> int:
    value = parsing.read_number(body, name, default, int)
    if not isinstance(value, int):
        raise JobParameterError(fields={name: f"{name} must be a whole number."})
    return value


def _refusals(body: dict) -> dict[str, str]:
    refused = {name: f"{name} is not supported here." for name in REFUSED_FLAGS if parsing.truthy(body.get(name))}
    if body.get("script_name"):
        refused["script_name"] = f"Scripts ({body['script_name']!r}) are not supported here."
    for name, neutral in NEUTRAL.items():
        if not any(options.same_value(body.get(name), allowed) for allowed in neutral):
            shown = ", ".join(repr(value) for value in neutral if value is not None)
            refused[name] = f"{name}={body.get(name)!r} would change the picture and is not supported here (leave it {shown})."
    scripts = body.get("alwayson_scripts") or {}
    if not isinstance(scripts, dict):
        refused["alwayson_scripts"] = "Expected an object."
        scripts = {}
    for name, script in scripts.items():
        if fields.script_enabled(script):  # an extension's disabled units ({"args": [False]}, ControlNet's {"args": []}) are fine
            refused[f"alwayson_scripts.{name}"] = f"The always-on script {name!r} is not supported in txt2img."
    overrides = body.get("override_settings") or {}
    if not isinstance(overrides, dict):
        refused["override_settings"] = "Expected an object."
        overrides = {}
    if parsing.truthy(body.get("enable_hr")):
        for name, same in HIRES_SAME.items():
            value = body.get(name)
            if value is not None and value not in same and not (name.endswith("prompt") and value == body.get(name[3:])):
                refused[name] = f"{name}={value!r}: the hires pass uses the first pass's here (leave it empty)."
    try:  # CLIP skip and the VAE are honoured here (img2img's engine has neither)
        picture_settings = {k: v for k, v in overrides.items() if k not in ("CLIP_stop_at_last_layers", "sd_vae")}
        options.check_picture_settings(picture_settings, "override_settings.")
    except JobParameterError as exc:
        refused.update(exc.fields)
    return refused


def hires_request(body: dict, width: int, height: int, steps: int) -> tuple[dict, dict]:
    """With ``enable_hr``: (JobRequest's size and hires fields, the labels the answer echoes); ({}, {})
    without. The picture is ``hr_resize_x`` x ``hr_resize_y`` (one of them 0: the other by the first
    pass's aspect) or the first pass times ``hr_scale``, floored to multiples of 8 (A1111 paints the
    latents' size); ``hr_second_pass_steps`` 0 is ``steps``."""
    if not parsing.truthy(body.get("enable_hr")):
        return {}, {}
    scale = parsing.read_number(body, "hr_scale", 2.0)
    resize_x, resize_y = _whole(body, "hr_resize_x", 0), _whole(body, "hr_resize_y", 0)
    if resize_x < 0 or resize_y < 0:
        raise JobParameterError(fields={"hr_resize_x": "hr_resize_x and hr_resize_y must be 0 (unused) or a size."})
    if resize_x or resize_y:
        final_width = resize_x or resize_y * width // max(height, 1)
        final_height = resize_y or resize_x * height // max(width, 1)
        shown = {"Hires resize": f"{final_width}x{final_height}"}
        size_field = "hr_resize_x"
    else:
        if not 1 <= scale <= 4:
            raise JobParameterError(fields={"hr_scale": f"hr_scale must be from 1 to 4; got {scale!r}."})
        final_width, final_height = int(width * scale), int(height * scale)
        shown = {"Hires upscale": f"{scale:g}"}
        size_field = "hr_scale"
    final_width, final_height = final_width // 8 * 8, final_height // 8 * 8
    if (final_width, final_height) == (width, height):  # A1111: "the user has chosen to do nothing" (one pass)
        return {}, {}
    upscaler = body.get("hr_upscaler") or "Latent"
    if not isinstance(upscaler, str):
        raise JobParameterError(fields={"hr_upscaler": "Expected an upscaler's name (GET /sdapi/v1/upscalers, /latent-upscale-modes)."})
    second = _whole(body, "hr_second_pass_steps", 0)
    if second < 0:
        raise JobParameterError(fields={"hr_second_pass_steps": "hr_second_pass_steps must be 0 (the steps) or more."})
    denoising = parsing.read_number(body, "denoising_strength", 0.7)
    if denoising is None:
        denoising = 0.7
    fields = {
        "width": final_width,
        "height": final_height,
        "hires_fix": True,
        "hires_upscaler": HIRES_UPSCALERS.get(upscaler.strip(), upscaler.strip()),
        "hires_steps": second or steps,
        "hires_denoising": denoising,
        "hires_first_width": width,
        "hires_first_height": height,
    }
    labels = {
        "first": (width, height),
        "Denoising strength": f"{denoising:g}",
        **shown,
        "Hires steps": second or steps,  # what the second pass runs (A1111: 0 is the first pass's steps)
        "Hires upscaler": upscaler.strip(),
        "size_field": size_field,
    }
    return fields, labels


def txt2img_request(body: dict, chosen=None) -> tuple[JobRequest, dict]:
    """(the job's request, the A1111 labels the answer echoes: sampler, scheduler, styles, and the hires
    fix's with ``enable_hr``). ``chosen`` (a1111.models.ClientChoice): the caller's model and VAE
    from ``POST /sdapi/v1/options``, used when ``override_settings`` names none."""
    refused = _refusals(body)
    if refused:
        raise JobParameterError(fields=refused)
    texts = {name: body.get(name) or "" for name in ("prompt", "negative_prompt")}
    for name, value in texts.items():
        if not isinstance(value, str):
            raise JobParameterError(fields={name: f"{name} must be text."})
    names = styles.style_names(body.get("styles"))
    prompt, negative = styles.apply_styles(texts["prompt"], texts["negative_prompt"], names)
    if not prompt.strip():
        raise JobParameterError(fields={"prompt": "Give a prompt (or a style that writes one)."})
    sampler, labels = samplers.choose(body)
    eta = samplers.eta(body, sampler)
    overrides = body.get("override_settings") or {}
    model = overrides.get("sd_model_checkpoint")
    if model is None and chosen is not None and chosen.model:
        model = chosen.model
    chosen_vae = chosen.vae if chosen is not None and chosen.vae else None
    if model is not None and not isinstance(model, str):
        raise JobParameterError(fields={"override_settings.sd_model_checkpoint": "Expected a checkpoint title or name."})
    if model and options.is_demo_model(model):
        model = None  # the demo's checkpoint, as sd-models listed it: the default backend paints it
    clip_skip = overrides.get("CLIP_stop_at_last_layers")
    if clip_skip is not None and (isinstance(clip_skip, bool) or not isinstance(clip_skip, int) or not 1 <= clip_skip <= 12):
        raise JobParameterError(fields={"override_settings.CLIP_stop_at_last_layers": "A whole number from 1 (no skip) to 12."})
    if clip_skip is None and clipskip.saved() > 1:  # POST /options' CLIP skip, as A1111 keeps it
        clip_skip = clipskip.saved()
    batch, iterations = _whole(body, "batch_size", 1), _whole(body, "n_iter", 1)
    if batch < 1 or iterations < 1:
        raise JobParameterError(fields={"batch_size": "batch_size and n_iter must be at least 1."})
    seed, subseed = _whole(body, "seed", -1), _whole(body, "subseed", -1)
    strength = parsing.read_number(body, "subseed_strength", 0.0)
    if not 0 <= strength <= 1:
        raise JobParameterError(fields={"subseed_strength": "subseed_strength must be between 0 and 1."})
    for name in ("send_images", "save_images"):
        if not isinstance(body.get(name, True), bool):
            raise JobParameterError(fields={name: f"{name} must be true or false."})
    width, height, steps = _whole(body, "width", 512), _whole(body, "height", 512), _whole(body, "steps", 50)
    hires, hires_labels = hires_request(body, width, height, steps)
    request = JobRequest(
        kind=GenerationJob.Kind.IMAGES,
        prompt=prompt,
        negative_prompt=negative,
        width=hires.pop("width", width),
        height=hires.pop("height", height),
        steps=steps,
        guidance=parsing.read_number(body, "cfg_scale", 7.0),
        seed=None if seed == -1 else seed,
        count=batch * iterations,
        model=model.strip() or None if model else None,
        sampler=sampler,
        eta=eta,
        clip_skip=clip_skip,
        subseed=None if subseed == -1 else subseed,
        subseed_strength=strength,
        vae=options.vae_name(overrides.get("sd_vae", chosen_vae), "override_settings.sd_vae"),
        origin="a1111",
        **hires,
    )
    return request, {**labels, "styles": names, "hires": hires_labels}


def client_named(error: JobParameterError, labels: dict | None = None) -> JobParameterError:
    """The same error with JobRequest's field names turned into the A1111 names the client sent
    (with ``enable_hr``, the picture's size is ``hr_scale``'s or ``hr_resize_x``/``_y``'s)."""
    if not error.fields:
        return error
    names = dict(CLIENT_NAMES)
    hires = (labels or {}).get("hires") or {}
    if hires:
        names |= {"width": hires["size_field"], "height": hires["size_field"].replace("_x", "_y")}
    return JobParameterError(fields={names.get(name, name): text for name, text in error.fields.items()})
