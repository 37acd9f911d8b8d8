"""The retouch engine: diffusers inpainting, with ControlNet and IP-Adapter, inside a GPU worker.

Only worker processes import this module (it imports torch and diffusers). Models come from local
folders named by settings and are loaded on first use, once per process (the ControlNets' folders
are the request's: the runner has them fetched onto this host, retouch.model_folders):

- the inpainting pipeline: ``AutoPipelineForInpainting.from_pretrained`` on
  GARDEN_RETOUCH_INPAINT_MODEL (a 9-channel inpainting checkpoint), or, when that is empty,
  ``from_pipe`` on the text-to-image pipeline already loaded from GARDEN_DIFFUSION_MODEL (same
  weights, loaded once); a job naming another library model (A1111's ``sd_model_checkpoint``)
  gets an engine of its own (``library_engine``) made with ``from_pipe`` on that model's
  text-to-image pipeline from the worker's LRU (a 4-channel UNet inpaints by blending the kept
  latents back at each step, as A1111 does with an ordinary checkpoint);
- ControlNets (GARDEN_RETOUCH_LINEART_CONTROLNET, GARDEN_RETOUCH_CANNY_CONTROLNET: library
  entries or folders), one per folder, checked against the base model's cross-attention width when loaded;
- IP-Adapter weights (GARDEN_RETOUCH_IP_ADAPTER) and their CLIP image encoder, attached to the
  shared UNet for one call and detached afterwards, so text-to-image jobs never see them.

``initial_noise_multiplier`` is not a diffusers argument: retouch.noise scales the starting noise.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from config.lazy import Lazy
from generation import backends
from generation.backends import (
    Batch,
    ModelUnavailable,
    StepCallback,
    TransientBackendError,
    checkpoints,
    conditioning,
    loras,
    safety_checker,
    sampler_options,
)
from generation.backends.diffusion import SCHEDULERS, import_torch
from generation.backends.loading import pick_device
from retouch.model_folders import CONTROLNET_SETTINGS
from retouch.noise import scaled_initial_noise

log = logging.getLogger(__name__)

# A1111's "My prompt is more important" damps the 13 ControlNet residuals by 0.825^(12-i); their
# mean, 0.4, is the closest single scale diffusers takes. "ControlNet is more important" is
# diffusers' guess mode (control on the conditional pass only, residuals on a log scale).
PROMPT_MATTERS_MORE = 0.4


@dataclass(frozen=True)
class ControlInput:
    kind: str
    image: Image.Image  # the edge map at the working size
    scale: float
    start: float
    end: float
    mode: int


@dataclass(frozen=True)
class PaintRequest:
    init: Image.Image
    mask: Image.Image
    prompt: str
    negative_prompt: str
    steps: int
    strength: float
    guidance: float
    seeds: list[int]
    noise_multiplier: float = 1.0
    sampler: str = ""
    eta: float = 0.0  # DDIM's step noise (A1111's eta): the pipeline hands it to a scheduler whose step takes it
    clip_skip: int = 1  # A1111's CLIP_stop_at_last_layers
    # Library LoRAs ((name, weight), …) and their files; textual inversions named in the prompts.
    loras: tuple[tuple[str, float], ...] = ()
    lora_paths: dict[str, str] = field(default_factory=dict)
    embeddings: list = field(default_factory=list)
    controls: list[ControlInput] = field(default_factory=list)
    controlnet_folders: dict[str, str] = field(default_factory=dict)  # kind → its folder on this host
    reference: Image.Image | None = None
    reference_scale: float = 0.6


class RetouchEngine:
    name = "diffusers"

    def __init__(self, *, settings, source=None) -> None:
        # ``source``: a library model's text-to-image backend (backends.LoadedPipelines) to repaint with.
        self.source = source
        self.inpaint_model = "" if source is not None else settings.GARDEN_RETOUCH_INPAINT_MODEL
        self.requested_device = settings.GARDEN_DIFFUSION_DEVICE
        self.offline = settings.GARDEN_HF_OFFLINE
        self.ip_adapter_path = settings.GARDEN_RETOUCH_IP_ADAPTER
        self.image_encoder_path = settings.GARDEN_RETOUCH_IMAGE_ENCODER
        self.base = None
        self.base_model = source.model_id if source is not None else (self.inpaint_model or settings.GARDEN_DIFFUSION_MODEL)
        self.device = ""
        self.dtype = None
        self._controlnets: dict = {}
        self._pipelines: dict = {}
        self._ip_state: dict | None = None
        self._image_encoder = None
        self._default_scheduler: tuple = (None, None)
        self.checker: safety_checker.DiffusersSafetyChecker | None = None  # the model's own, run beside it
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self.base_model

    @property
    def scheduler_name(self) -> str:
        return self._default_scheduler[0].__name__ if self._default_scheduler[0] else ""

    def describe(self) -> dict:
        label = getattr(self.source, "label", "")  # a library model's name, as text-to-image's pictures give it
        return {
            "generator": self.name,
            "model_id": self.base_model,
            **({"model": label} if label else {}),
            "device": self.device,
            "dtype": str(self.dtype or "").removeprefix("torch."),
        }

    def safety_flags(self, pictures: list[Image.Image]) -> list[bool | None]:
        """The model's own safety checker on each finished picture (None: the model ships none)."""
        return safety_checker.picture_flags(self.checker, pictures)

    def load(self) -> None:
        if self.base is not None:
            return
        with self._lock:
            if self.base is None:
                base = self._load_base()
                base.set_progress_bar_config(disable=True)
                # Calls swap the pipeline's scheduler (samplers); this is the one "default" means.
                self._default_scheduler = (type(base.scheduler), base.scheduler.config)
                self.base = base

    def _load_base(self):
        torch, diffusers = import_torch()
        if not self.inpaint_model:
            text_to_image = self.source or backends.get_backend(backends.DIFFUSERS)
            text_to_image.load()
            source = text_to_image.pipeline  # type: ignore[attr-defined]
            self.device, self.dtype = str(source.device), backends.denoiser(source).dtype
            self.checker = text_to_image.checker  # type: ignore[attr-defined]
            try:
                return diffusers.AutoPipelineForInpainting.from_pipe(source)
            except Exception as exc:
                if self.source is not None:
                    name = self.source.label or self.base_model
                    raise ModelUnavailable(f"The model {name!r} has no inpainting pipeline ({exc}): retouch with another model.") from exc
                raise ModelUnavailable(
                    f"GARDEN_DIFFUSION_MODEL ({self.base_model}) has no inpainting pipeline ({exc}): "
                    "set GARDEN_RETOUCH_INPAINT_MODEL to a local inpainting model folder."
                ) from exc
        self.device = pick_device(torch, self.requested_device)
        self.dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        try:
            pipeline = checkpoints.load_inpainting(diffusers, self.inpaint_model, dtype=self.dtype, offline=self.offline)
        except ModelUnavailable:  # a single file that cannot load says why itself
            raise
        except Exception as exc:
            raise ModelUnavailable(
                f"Cannot load the inpainting model {self.inpaint_model!r} ({type(exc).__name__}: {exc}): "
                "set GARDEN_RETOUCH_INPAINT_MODEL to a diffusers inpainting folder or an inpainting checkpoint file, or leave it empty."
            ) from exc
        # The model's own checker runs beside the pipeline (safety_flags), never blacking a result out.
        self.checker = safety_checker.load_checker(self.inpaint_model, pipeline=pipeline, device=self.device, dtype=self.dtype)
        if getattr(pipeline, "safety_checker", None) is not None:
            pipeline.safety_checker = None
        return pipeline.to(self.device)

    # --- the optional models ---------------------------------------------------------------------------

    def controlnet(self, kind: str, path: str):
        """The ControlNet in ``path`` (its folder on this host), loaded once per folder."""
        if path in self._controlnets:
            return self._controlnets[path]
        _, diffusers = import_torch()
        setting = CONTROLNET_SETTINGS[kind]
        if not path:
            raise ModelUnavailable(f"{kind} control needs a ControlNet: set {setting} to a ControlNet of the library or a folder.")
        try:
            model = diffusers.ControlNetModel.from_pretrained(path, dtype=self.dtype, local_files_only=self.offline)
        except Exception as exc:
            raise ModelUnavailable(f"Cannot load the ControlNet {path!r} ({type(exc).__name__}: {exc}): check {setting}.") from exc
        have, want = model.config.cross_attention_dim, self._cross_attention_width(f"{kind} control")
        if have != want:
            raise ModelUnavailable(
                f"The ControlNet in {setting} ({path}) has cross-attention width {have}, "
                f"the inpainting model {self.base_model} has {want}: they belong to different Stable Diffusion families "
                "(e.g. an SD 1.5 ControlNet with SD 2.1). Choose a ControlNet of the model's family."
            )
        self._controlnets[path] = model.to(self.device)
        return self._controlnets[path]

    def _cross_attention_width(self, what: str) -> int:
        """The base model's UNet cross-attention width; ControlNets and IP-Adapters here are UNet models'."""
        unet = getattr(self.base, "unet", None)
        if unet is None:
            raise ModelUnavailable(
                f"{what} needs a UNet model (SD 1.x/2.x, SDXL); {self.base_model} is a transformer model "
                f"({type(self.base).__name__}): repaint without control, or set GARDEN_RETOUCH_INPAINT_MODEL to a UNet model."
            )
        return unet.config.cross_attention_dim

    def _pipeline(self, controls: tuple[tuple[str, str], ...]):
        """The inpainting pipeline with these ControlNets ((kind, folder), …), made once per combination."""
        if not controls:
            return self.base
        if controls not in self._pipelines:
            _, diffusers = import_torch()
            nets = [self.controlnet(kind, path) for kind, path in controls]
            controlnet = nets[0] if len(nets) == 1 else diffusers.MultiControlNetModel(nets)
            pipeline = diffusers.AutoPipelineForInpainting.from_pipe(self.base, controlnet=controlnet)
            pipeline.set_progress_bar_config(disable=True)
            self._pipelines[controls] = pipeline
        return self._pipelines[controls]

    def _reference_parts(self):
        """The IP-Adapter weights (kept in memory) and its image encoder, loaded once."""
        if self._ip_state is not None:
            return self._ip_state, self._image_encoder
        if not self.ip_adapter_path:
            raise ModelUnavailable("Reference control needs an IP-Adapter: set GARDEN_RETOUCH_IP_ADAPTER to its .safetensors file.")
        from safetensors import safe_open
        from transformers import CLIPVisionModelWithProjection

        weights = Path(self.ip_adapter_path)
        encoder_folder = self.image_encoder_path or str(weights.parent / "image_encoder")
        try:
            state: dict = {"image_proj": {}, "ip_adapter": {}}
            with safe_open(str(weights), framework="pt", device="cpu") as handle:
                for key in handle.keys():  # noqa: SIM118 (a safetensors handle, not a dict)
                    group, _, name = key.partition(".")
                    if group in state:
                        state[group][name] = handle.get_tensor(key)
            encoder = CLIPVisionModelWithProjection.from_pretrained(encoder_folder, dtype=self.dtype, local_files_only=True)
        except Exception as exc:
            raise ModelUnavailable(
                f"Cannot load the IP-Adapter {weights} or its image encoder {encoder_folder} ({type(exc).__name__}: {exc}): "
                "check GARDEN_RETOUCH_IP_ADAPTER (a .safetensors file) and GARDEN_RETOUCH_IMAGE_ENCODER."
            ) from exc
        projection = state["image_proj"].get("proj.weight")
        width = self._cross_attention_width("Reference control")
        if projection is None or projection.shape[0] != 4 * width:
            raise ModelUnavailable(f"The IP-Adapter in GARDEN_RETOUCH_IP_ADAPTER does not fit the model (cross-attention width {width}).")
        self._ip_state, self._image_encoder = state, encoder.to(self.device)
        return self._ip_state, self._image_encoder

    @contextlib.contextmanager
    def _reference(self, pipeline, scale: float):
        state, encoder = self._reference_parts()
        pipeline.register_modules(image_encoder=encoder)
        try:
            pipeline.load_ip_adapter({group: dict(values) for group, values in state.items()}, subfolder="", weight_name="")
            pipeline.set_ip_adapter_scale(scale)
            yield
        finally:
            # The UNet is shared with text-to-image jobs: leave it as it was.
            pipeline.unload_ip_adapter()

    # --- one call ----------------------------------------------------------------------------------------

    def _scheduler(self, sampler: str):
        """A fresh scheduler per call (schedulers keep state): the sampler asked for, or the model's own."""
        _, diffusers = import_torch()
        default_class, config = self._default_scheduler
        class_name = SCHEDULERS.get(sampler) if sampler else None
        scheduler_class = getattr(diffusers, class_name) if class_name else default_class
        return scheduler_class.from_config(config, **sampler_options(sampler))

    def paint(self, request: PaintRequest, *, on_step: StepCallback | None = None) -> list[Image.Image]:
        self.load()
        torch, _ = import_torch()
        pipeline = self._pipeline(tuple((c.kind, request.controlnet_folders.get(c.kind, "")) for c in request.controls))
        pipeline.scheduler = self._scheduler(request.sampler)
        width, height = request.init.size

        def step_end(pipe, step_index, timestep, callback_kwargs):
            if on_step is not None:
                on_step(step_index + 1)
            return callback_kwargs

        count = len(request.seeds)
        if request.reference is not None and count != 1:
            raise ValueError("A reference call paints one image (IP-Adapter embeddings do not batch): plan one seed per call.")
        # One copy of everything per seed: each generator then also draws its own VAE sample, so
        # image n depends only on its seed, whatever batch it is painted in.
        kwargs = {
            "image": [request.init] * count,
            "mask_image": [request.mask] * count,
            "height": height,
            "width": width,
            "strength": request.strength,
            "num_inference_steps": request.steps,
            "guidance_scale": request.guidance,
            "generator": [torch.Generator(device="cpu").manual_seed(int(seed)) for seed in request.seeds],
            "callback_on_step_end": step_end,
            "output_type": "pil",
        }
        if request.eta:
            kwargs["eta"] = request.eta
        # Prompts as text-to-image reads them: weights, CLIP skip, textual inversions (the conditioning).
        text = Batch(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            width=width,
            height=height,
            steps=request.steps,
            guidance=request.guidance,
            seeds=list(request.seeds),
            clip_skip=request.clip_skip,
            extra={"embeddings": request.embeddings},
        )
        kwargs.update(conditioning.pipeline_call_kwargs(torch, pipeline, text, kwargs["generator"]))
        if request.controls:
            many = len(request.controls) > 1
            scales = [c.scale * (PROMPT_MATTERS_MORE if c.mode == 1 else 1.0) for c in request.controls]
            kwargs.update(
                control_image=[c.image for c in request.controls] if many else request.controls[0].image,
                controlnet_conditioning_scale=scales if many else scales[0],
                control_guidance_start=[c.start for c in request.controls] if many else request.controls[0].start,
                control_guidance_end=[c.end for c in request.controls] if many else request.controls[0].end,
                guess_mode=any(c.mode == 2 for c in request.controls),
            )
        reference = contextlib.nullcontext()
        if request.reference is not None:
            kwargs["ip_adapter_image"] = request.reference
            reference = self._reference(pipeline, request.reference_scale)
        # The LoRAs live on the UNet this pipeline shares with the base (from_pipe): on for this call only.
        adapters = loras.adapters_for(self.base, self.base_model)
        try:
            with (
                adapters.active(pipeline, request.loras, request.lora_paths),
                reference,
                scaled_initial_noise(pipeline, request.noise_multiplier),
                torch.inference_mode(),
            ):
                result = pipeline(**kwargs)
        except torch.cuda.OutOfMemoryError as exc:
            torch.cuda.empty_cache()
            raise TransientBackendError(f"GPU out of memory retouching at {width}x{height}x{len(request.seeds)}: {exc}") from exc
        return list(result.images)


def engine_settings() -> tuple:
    from django.conf import settings

    names = (
        "GARDEN_RETOUCH_INPAINT_MODEL",
        *CONTROLNET_SETTINGS.values(),
        "GARDEN_RETOUCH_IP_ADAPTER",
        "GARDEN_RETOUCH_IMAGE_ENCODER",
        "GARDEN_DIFFUSION_MODEL",
        "GARDEN_DIFFUSION_DEVICE",
        "GARDEN_DIFFUSION_SCHEDULER",
        "GARDEN_HF_OFFLINE",
    )
    return tuple(getattr(settings, name) for name in names)


def _build_engine() -> RetouchEngine:
    from django.conf import settings

    return RetouchEngine(settings=settings)


# One engine per worker process, rebuilt (not kept beside) when its settings change.
_engine: Lazy[RetouchEngine] = Lazy(
    _build_engine, fingerprint=engine_settings, owner=__name__, name="_engine", fresh="the retouch settings (engine_settings)"
)


def get_engine() -> RetouchEngine:
    return _engine.get()
