"""A1111's samplers and schedulers → ours (generation.backends.SAMPLERS), with A1111's rules for
what is accepted and what is ignored.

Read from AUTOMATIC1111's source: ``modules/sd_samplers_kdiffusion.py`` (k-diffusion samplers,
their aliases and default schedule: 1.10's ``{"scheduler": "karras"}`` options, and the older
combined names such as "DPM2 Karras"), ``modules/sd_samplers_timesteps.py`` (DDIM, PLMS, UniPC take
their timesteps themselves: a ``scheduler`` sent with them is ignored, not refused) and
``modules/sd_schedulers.py`` (the scheduler names). ``eta``: DDIM's scheduler takes it in its step
(diffusers' pipelines pass it on); the ancestral samplers' noise is fixed at 1 in diffusers, so
another eta there is refused; every other sampler ignores it, as in A1111.
"""

from __future__ import annotations

from dataclasses import dataclass

from generation import backends
from generation.requests import JobParameterError


@dataclass(frozen=True)
class Sampler:
    name: str  # A1111's
    aliases: tuple[str, ...]
    ours: str  # generation.backends.SAMPLERS' base name (a schedule suffix is added)
    default: str = ""  # the schedule "Automatic" means: "" (the model's own sigmas), "karras", "exponential"
    schedules: tuple[str, ...] = ()  # the schedules diffusers offers this sampler beyond its own
    timesteps: bool = False  # DDIM, PLMS, UniPC: the scheduler field does not apply (A1111 ignores it)
    ancestral: bool = False  # noise added back each step: eta is 1 in diffusers
    options: tuple[tuple[str, object], ...] = ()  # as A1111 1.10 lists them (GET /samplers)


SIGMAS = ("karras", "exponential")
SAMPLERS = (
    Sampler("DPM++ 2M", ("k_dpmpp_2m",), "dpm++", default="karras", schedules=SIGMAS, options=(("scheduler", "karras"),)),
    Sampler(
        "DPM++ 2M SDE",
        ("k_dpmpp_2m_sde",),
        "dpm++_2m_sde",
        default="exponential",
        schedules=SIGMAS,
        options=(("scheduler", "exponential"), ("brownian_noise", True)),
    ),
    Sampler("Euler a", ("k_euler_a", "k_euler_ancestral"), "euler_a", ancestral=True, options=(("uses_ensd", True),)),
    Sampler("Euler", ("k_euler",), "euler", schedules=SIGMAS),
    Sampler("LMS", ("k_lms",), "lms", schedules=SIGMAS),
    Sampler("Heun", ("k_heun",), "heun", schedules=SIGMAS, options=(("second_order", True),)),
    Sampler(
        "DPM2",
        ("k_dpm_2",),
        "dpm2",
        default="karras",
        schedules=SIGMAS,
        options=(("scheduler", "karras"), ("discard_next_to_last_sigma", True), ("second_order", True)),
    ),
    Sampler(
        "DPM2 a",
        ("k_dpm_2_a",),
        "dpm2_a",
        default="karras",
        schedules=SIGMAS,
        ancestral=True,
        options=(("scheduler", "karras"), ("discard_next_to_last_sigma", True), ("uses_ensd", True), ("second_order", True)),
    ),
    Sampler("DDIM", ("ddim",), "ddim", timesteps=True),
    Sampler("PLMS", ("plms",), "pndm", timesteps=True),
    Sampler("UniPC", ("unipc",), "unipc", timesteps=True),
    Sampler("LCM", ("k_lcm",), "lcm"),
)
# A1111 samplers diffusers cannot paint here, and why (a 400 says so).
UNPAINTABLE = {
    "dpm++ sde": "DPM++ SDE needs diffusers' DPMSolverSDEScheduler, which needs the torchsde package (not installed)",
    "dpm++ 2s a": "diffusers has no ancestral single-step DPM-Solver++",
    "dpm++ 3m sde": "diffusers has no third-order stochastic DPM-Solver++",
    "dpm++ 2m sde heun": "diffusers has no Heun variant of DPM-Solver++ SDE",
    "dpm fast": "diffusers has no DPM-fast",
    "dpm adaptive": "diffusers has no adaptive DPM-Solver",
    "restart": "diffusers has no Restart sampler",
    "ddim cfg++": "diffusers has no CFG++ DDIM",
}
# A1111's scheduler names and labels (modules/sd_schedulers.py); what each means here.
AUTOMATIC = ("", "automatic", "use same scheduler")
NORMAL = ("normal",)  # the model's own discrete sigmas: what diffusers' schedulers use unless told otherwise
SCHEDULER_NAMES = {
    "uniform": "Uniform", "karras": "Karras", "exponential": "Exponential", "polyexponential": "Polyexponential",
    "sgm_uniform": "SGM Uniform", "kl_optimal": "KL Optimal", "align_your_steps": "Align Your Steps", "simple": "Simple",
    "normal": "Normal", "ddim": "DDIM", "beta": "Beta",
}  # fmt: skip
SCHEDULERS = (
    {"name": "automatic", "label": "Automatic", "aliases": None, "default_rho": -1, "need_inner_model": False},
    {"name": "normal", "label": "Normal", "aliases": None, "default_rho": -1, "need_inner_model": True},
    {"name": "karras", "label": "Karras", "aliases": None, "default_rho": 7.0, "need_inner_model": False},
    {"name": "exponential", "label": "Exponential", "aliases": None, "default_rho": -1, "need_inner_model": False},
)


def find(name: str) -> Sampler | None:
    key = name.strip().lower()
    for sampler in SAMPLERS:
        if key in (sampler.name.lower(), *sampler.aliases, sampler.ours):
            return sampler
    return None


def label(recorded: str) -> str:
    """The A1111 name of the sampler a job ran: ``recorded`` is an A1111 name, one of ours (with a
    schedule suffix) or the model's own scheduler class (``PNDMScheduler`` → ``PLMS``); "" when A1111
    has no name for it (Flux's and SD 3's flow-matching schedulers)."""
    recorded = recorded or ""
    sampler = find(recorded) or find(recorded.removesuffix("_karras").removesuffix("_exponential"))
    if sampler is not None:
        return sampler.name
    for sampler in SAMPLERS:
        if backends.SAMPLERS.get(sampler.ours) == recorded:
            return sampler.name
    return ""


def _schedule_key(scheduler: str) -> str:
    key = scheduler.strip().lower().replace(" ", "_")
    for name, shown in SCHEDULER_NAMES.items():
        if key in (name, shown.lower().replace(" ", "_")):
            return name
    return key


def choose(body: dict) -> tuple[str, dict]:
    """(our sampler name, {"sampler": A1111 name, "scheduler": A1111 label}) for a body's
    ``sampler_name`` (or ``sampler_index``) and ``scheduler``; "" = the model's own sampler. A
    sampler or scheduler that cannot be painted is a 400 naming its field."""
    name = body.get("sampler_name") or body.get("sampler_index") or ""
    scheduler = body.get("scheduler") or ""
    if not isinstance(name, str):
        raise JobParameterError(fields={"sampler_name": "sampler_name must be text."})
    if not isinstance(scheduler, str):
        raise JobParameterError(fields={"scheduler": "scheduler must be text."})
    key = name.strip().lower()
    if not key:
        if scheduler.strip().lower() not in AUTOMATIC + NORMAL:
            detail = f"Scheduler {scheduler!r} needs a sampler_name: the model's own sampler keeps its schedule."
            raise JobParameterError(fields={"scheduler": detail})
        return "", {"sampler": "", "scheduler": "Automatic"}
    sampler = find(key)
    for schedule in SIGMAS:  # the older combined names: "DPM++ 2M Karras", "LMS Karras", "DPM2 a Karras"
        if sampler is None and key.endswith(f" {schedule}"):
            sampler = find(key[: -len(schedule) - 1])
            if sampler is not None and schedule in sampler.schedules:
                scheduler = scheduler if scheduler.strip().lower() not in AUTOMATIC else schedule
            elif sampler is not None:
                raise JobParameterError(fields={"sampler_name": f"{name!r}: diffusers has no {schedule} schedule for {sampler.name}."})
    if sampler is None:
        why = UNPAINTABLE.get(key.removesuffix(" karras").removesuffix(" exponential"))
        known = ", ".join(s.name for s in SAMPLERS)
        detail = f"{name!r} cannot be painted here: {why}." if why else f"Unknown sampler {name!r}."
        raise JobParameterError(fields={"sampler_name": f"{detail} Use one of {known} (GET /sdapi/v1/samplers)."})
    return _with_schedule(sampler, scheduler)


def _with_schedule(sampler: Sampler, scheduler: str) -> tuple[str, dict]:
    asked = _schedule_key(scheduler)
    if sampler.timesteps:  # A1111's timestep samplers take no scheduler: ignored, as there
        return sampler.ours, {"sampler": sampler.name, "scheduler": "Automatic"}
    if asked in AUTOMATIC:
        schedule = sampler.default
    elif asked in NORMAL:
        schedule = ""
    elif asked in sampler.schedules:
        schedule = asked
    else:
        offered = ", ".join(["Automatic", "Normal", *(SCHEDULER_NAMES[s] for s in sampler.schedules)])
        detail = f"Scheduler {scheduler!r} cannot be painted with {sampler.name} here: use {offered} (GET /sdapi/v1/schedulers)."
        raise JobParameterError(fields={"scheduler": detail})
    ours = f"{sampler.ours}_{schedule}" if schedule else sampler.ours
    if ours not in backends.SAMPLERS:  # DPM++ 2M's Karras sigmas are our "dpm++_karras"
        raise JobParameterError(fields={"scheduler": f"Scheduler {scheduler!r} cannot be painted with {sampler.name} here."})
    shown = "Automatic" if asked in AUTOMATIC else SCHEDULER_NAMES.get(asked, scheduler)
    return ours, {"sampler": sampler.name, "scheduler": shown}


def eta(body: dict, ours: str) -> float | None:
    """The ``eta`` to paint with: DDIM's (passed to its scheduler's step, on txt2img and img2img
    alike), None elsewhere. Ancestral samplers paint with eta 1 in diffusers: another value is a 400
    naming ``eta``; other samplers ignore it, as in A1111."""
    value = body.get("eta")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise JobParameterError(fields={"eta": "eta must be a number between 0 and 1."})
    sampler = find(ours.removesuffix("_karras").removesuffix("_exponential")) if ours else None
    if ours in backends.ETA_SAMPLERS:
        return float(value)
    if sampler is not None and sampler.ancestral and value != 1:
        raise JobParameterError(fields={"eta": f"eta={value!r}: {sampler.name} paints with eta 1 in diffusers (leave it null or 1)."})
    return None
