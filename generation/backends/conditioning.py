"""What a diffusers pipeline call gets besides size, steps and callbacks: its text conditioning
(prompts; weighted embeddings, CLIP skip, textual-inversion embeddings) and, for A1111's
variation seeds, its starting noise.

``pipeline_call_kwargs(torch, pipeline, batch, generators)`` returns those keyword arguments; the
backend (generation.backends.diffusion) adds the rest and calls the pipeline.

- A prompt with no weight syntax, within one 75-token window, at CLIP skip 1 goes as ``prompt=``
  (the pipeline's own encoding, unchanged pixels).
- Weights, longer prompts or CLIP skip > 1 on a one-encoder pipeline (SD 1.x/2.x) go as
  ``prompt_embeds=``/``negative_prompt_embeds=`` built by generation.backends.prompt_weights
  (compel). CLIP skip goes there too because diffusers 0.42's own ``clip_skip`` path reads
  ``text_encoder.text_model``, which transformers 5's CLIPTextModel no longer has.
- SDXL pipelines: weights and long prompts go as ``prompt_embeds``/``pooled_prompt_embeds`` (and
  the negatives) built from both encoders; plain prompts keep ``prompt=`` and the pipeline's own
  ``clip_skip`` (which works there). Textual-inversion embeddings are not loaded into SDXL.
- Other pipelines (no CLIP encoder) get plain prompts.
- ``subseed_strength > 0`` adds ``latents=``: each image's noise slerped toward its subseed's
  (text-to-image only: an image-to-image batch starts from its picture).
"""

from __future__ import annotations

import logging
import weakref

from generation.backends import BackendError, Batch, prompt_weights

log = logging.getLogger(__name__)
# Tokens in one CLIP window besides BOS/EOS.
WINDOW_TOKENS = 75
# Per text encoder: the textual-inversion tokens already loaded into it ({name: path}). Keyed on the
# encoder, not the pipeline object: pipelines made with from_pipe share it (and its tokenizer).
_LOADED_EMBEDDINGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def pipeline_call_kwargs(torch, pipeline, batch: Batch, generators: list) -> dict:
    count = len(batch.seeds)
    load_embeddings(pipeline, batch.extra.get("embeddings") or [])
    use_negative = bool(batch.negative_prompt) and batch.guidance > 1
    if _needs_embeds(pipeline, batch):
        kwargs = _weighted_embeds(torch, pipeline, batch, count)
    else:
        kwargs = {"prompt": [batch.prompt] * count}
        if use_negative:
            kwargs["negative_prompt"] = [batch.negative_prompt] * count
        if batch.clip_skip > 1:
            # diffusers counts the layers skipped after the last one (A1111's 2 = diffusers' 1).
            kwargs["clip_skip"] = batch.clip_skip - 1
    if batch.subseed_strength > 0:
        if batch.init_image is not None:  # img2img noises the init picture itself: no latents to vary
            raise BackendError("A variation seed (subseed_strength) does not apply to an image-to-image batch.")
        latents = variation_latents(torch, pipeline, batch, generators)
        if latents is not None:
            kwargs["latents"] = latents
    return kwargs


def _is_single_encoder(pipeline) -> bool:
    """One CLIP text encoder (SD 1.x/2.x): what compel's provider and the weighting here handle."""
    encoder = getattr(pipeline, "text_encoder", None)
    return (
        getattr(pipeline, "text_encoder_2", None) is None
        and getattr(pipeline, "tokenizer", None) is not None
        and type(encoder).__name__.startswith("CLIPTextModel")
    )


def _needs_embeds(pipeline, batch: Batch) -> bool:
    sdxl = prompt_weights.is_sdxl(pipeline)
    if not (sdxl or _is_single_encoder(pipeline)):
        return False
    prompts = [batch.prompt, batch.negative_prompt if batch.guidance > 1 else ""]
    return (
        # SDXL's own clip_skip works (it reads hidden_states, not text_model); SD 1.x/2.x's does not.
        (batch.clip_skip > 1 and not sdxl)
        or any(prompt_weights.has_weight_syntax(prompt) for prompt in prompts)
        or any(prompt_weights.token_count(pipeline, prompt) > WINDOW_TOKENS for prompt in prompts)
    )


def _weighted_embeds(torch, pipeline, batch: Batch, count: int) -> dict:
    encoder = prompt_weights.WeightedPromptEncoder(torch, pipeline, batch.clip_skip)
    sdxl = prompt_weights.is_sdxl(pipeline)
    positive = encoder.encode(batch.prompt)
    kwargs = {}
    if sdxl:
        kwargs["pooled_prompt_embeds"] = encoder.pooled(batch.prompt).repeat(count, 1)
    if batch.guidance > 1:
        # Passed even for an empty negative prompt: the pipeline would pad "" to 77 tokens only.
        negative = encoder.encode(batch.negative_prompt or "")
        positive, negative = encoder.pad_to_same_length(positive, negative)
        negative_pooled = encoder.pooled(batch.negative_prompt or "") if sdxl else None
        if sdxl and not batch.negative_prompt and pipeline.config.get("force_zeros_for_empty_prompt", False):
            # What SDXL does with no negative prompt: zeros, not the empty prompt's embedding.
            negative, negative_pooled = torch.zeros_like(negative), torch.zeros_like(negative_pooled)
        kwargs["negative_prompt_embeds"] = negative.repeat(count, 1, 1)
        if sdxl:
            kwargs["negative_pooled_prompt_embeds"] = negative_pooled.repeat(count, 1)
    kwargs["prompt_embeds"] = positive.repeat(count, 1, 1)
    return kwargs


def load_embeddings(pipeline, embeddings) -> None:
    """Load each (name, path) textual inversion into ``pipeline`` once (remembered per text encoder)."""
    if not embeddings:
        return
    loaded: dict = _LOADED_EMBEDDINGS.setdefault(pipeline.text_encoder, {})
    for name, path in embeddings:
        if loaded.get(name) == str(path):
            continue
        if name in loaded:
            raise BackendError(f"Embedding {name!r} is already loaded from {loaded[name]}; restart the worker to load {path}.")
        if not _is_single_encoder(pipeline):
            # diffusers loads SDXL embeddings per encoder (two files' worth of vectors): not handled.
            log.warning("Embedding %s not loaded: this pipeline has two text encoders (SDXL).", name)
            continue
        try:
            pipeline.load_textual_inversion(str(path), token=name)
        except Exception as exc:
            raise BackendError(f"Cannot load the embedding {name!r} ({path}): {exc}") from exc
        loaded[name] = str(path)


def variation_latents(torch, pipeline, batch: Batch, generators: list):
    """A1111's variation seeds: noise(seed) slerped toward noise(subseed) by ``subseed_strength``.

    Each seed's noise is drawn from its own CPU generator exactly as the pipeline's
    prepare_latents would (same shape, dtype, draw order), so the generator is left where the
    pipeline would leave it; the pipeline scales by init_noise_sigma itself.
    """
    if not batch.subseeds:
        log.warning("subseed_strength %s without subseeds: no variation.", batch.subseed_strength)
        return None
    if len(batch.subseeds) != len(batch.seeds):
        raise BackendError(f"{len(batch.seeds)} seeds but {len(batch.subseeds)} subseeds.")
    scale = getattr(pipeline, "vae_scale_factor", 8)
    shape = (1, pipeline.unet.config.in_channels, batch.height // scale, batch.width // scale)
    # prepare_latents draws in the prompt embeddings' dtype: the text encoder's (SDXL refiner: none).
    text_encoder = getattr(pipeline, "text_encoder", None) or getattr(pipeline, "text_encoder_2", None)
    dtype = (text_encoder if text_encoder is not None else pipeline.unet).dtype
    strength = min(float(batch.subseed_strength), 1.0)
    noises = []
    for generator, subseed in zip(generators, batch.subseeds, strict=True):
        noise = torch.randn(shape, generator=generator, dtype=dtype)
        sub_generator = torch.Generator(device="cpu").manual_seed(int(subseed))
        subnoise = torch.randn(shape, generator=sub_generator, dtype=dtype)
        noises.append(slerp(torch, strength, noise, subnoise).to(dtype))
    device = getattr(pipeline, "_execution_device", None) or pipeline.device
    return torch.cat(noises).to(device)


def slerp(torch, strength: float, low, high):
    """Spherical interpolation from ``low`` (0) to ``high`` (1), as A1111's processing.slerp.

    A1111 normalises along dim 1 of a (C, H, W) tensor; here the whole per-image noise is one
    vector, so the angle is the noises' own. The ends are returned as they are (bit-exact).
    """
    if strength <= 0:
        return low
    if strength >= 1:
        return high
    low32, high32 = low.float().flatten(), high.float().flatten()
    dot = torch.dot(low32 / low32.norm(), high32 / high32.norm()).clamp(-1.0, 1.0)
    if dot > 0.9995:  # nearly parallel: the sine formula divides by ~0
        mixed = low32 * (1 - strength) + high32 * strength
    else:
        omega = torch.acos(dot)
        mixed = (torch.sin((1 - strength) * omega) * low32 + torch.sin(strength * omega) * high32) / torch.sin(omega)
    return mixed.reshape(low.shape)
