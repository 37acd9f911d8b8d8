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
  ``clip_skip`` (which works there). SDXL textual inversions (``clip_l`` and ``clip_g``) load into
  both encoders, each its own vectors.
- Transformer families (Flux, SD3, PixArt, Sana) get plain prompts, and their pipeline's own
  encoding: a batch asking them for what only the CLIP code here does (weight syntax, a CLIP skip
  their pipeline does not take, a textual inversion) is refused with a BackendError naming it, and
  so is a variation seed on a pipeline that paints at its own resolution bins (PixArt, Sana).
- ``batch.extra["prompts"]`` (one per seed: live requests painted in one call) conditions each
  picture on its own prompt. ``prompt_groups`` says which pictures share an encoding of the same
  shape (plain, or the same count of 77-token windows): the backend paints each group in a call
  of its own, so a picture painted in a batch is conditioned exactly as it is alone.
- ``subseed_strength > 0`` adds ``latents=``: each image's noise slerped toward its subseed's
  (text-to-image only: an image-to-image batch starts from its picture), drawn in the shape the
  pipeline would draw it (Flux's packed 2x2 patches too).
"""

from __future__ import annotations

import inspect
import logging
import weakref
from dataclasses import replace
from pathlib import Path

from generation.backends import BackendError, Batch, denoiser, prompt_weights

log = logging.getLogger(__name__)
# Tokens in one CLIP window besides BOS/EOS.
WINDOW_TOKENS = 75
# Per text encoder: the textual-inversion tokens already loaded into it ({name: path}). Keyed on the
# encoder, not the pipeline object: pipelines made with from_pipe share it (and its tokenizer).
_LOADED_EMBEDDINGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def batch_prompts(batch: Batch) -> list[str]:
    """Each picture's prompt: ``extra["prompts"]`` (one per seed) or the batch's prompt for all."""
    prompts = batch.extra.get("prompts")
    if not prompts:
        return [batch.prompt] * len(batch.seeds)
    if len(prompts) != len(batch.seeds):
        raise BackendError(f"prompts: expected {len(batch.seeds)} (one per seed), got {len(prompts)}")
    return list(prompts)


def prompt_groups(pipeline, batch: Batch) -> list[list[int]]:
    """The batch's pictures (indexes) grouped by the shape of their prompt's encoding alone: plain,
    or weighted with the same count of 77-token windows. One group: one call paints them as each alone."""
    groups: dict[tuple, list[int]] = {}
    for index, prompt in enumerate(batch_prompts(batch)):
        groups.setdefault(_encoding_shape(pipeline, batch, prompt), []).append(index)
    return list(groups.values())


def _encoding_shape(pipeline, batch: Batch, prompt: str) -> tuple:
    alone = replace(batch, prompt=prompt, seeds=[0], extra={k: v for k, v in batch.extra.items() if k != "prompts"})
    if not _needs_embeds(pipeline, alone):
        return ("plain",)
    # compel tokenizes each weighted fragment apart and chunks the joined ids by 75.
    tokens = sum(prompt_weights.token_count(pipeline, text) for text, _ in prompt_weights.parse_attention(prompt))
    return ("embeds", max(1, -(-tokens // WINDOW_TOKENS)))


def pipeline_call_kwargs(torch, pipeline, batch: Batch, generators: list) -> dict:
    count = len(batch.seeds)
    load_embeddings(pipeline, batch.extra.get("embeddings") or [])
    use_negative = bool(batch.negative_prompt) and batch.guidance > 1
    if not (is_sdxl(pipeline) or is_single_encoder(pipeline)):
        _refuse_clip_options(pipeline, batch)
    if _needs_embeds(pipeline, batch):
        kwargs = _weighted_embeds(torch, pipeline, batch, count)
    else:
        kwargs = {"prompt": batch_prompts(batch)}
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


def is_single_encoder(pipeline) -> bool:
    """One CLIP text encoder (SD 1.x/2.x): what compel's provider and the weighting here handle."""
    encoder = getattr(pipeline, "text_encoder", None)
    return (
        getattr(pipeline, "text_encoder_2", None) is None
        and getattr(pipeline, "tokenizer", None) is not None
        and type(encoder).__name__.startswith("CLIPTextModel")
    )


def is_sdxl(pipeline) -> bool:
    """SDXL: two CLIP encoders and a UNet (Flux and SD3 have a second encoder too, and a transformer)."""
    return prompt_weights.is_sdxl(pipeline) and getattr(pipeline, "unet", None) is not None


def _refuse_clip_options(pipeline, batch: Batch) -> None:
    """What only the CLIP code here does, asked of a pipeline it does not fit (Flux, SD3, PixArt…)."""
    kind = type(pipeline).__name__
    prompts = [*set(batch_prompts(batch)), batch.negative_prompt if batch.guidance > 1 else ""]
    if any(prompt_weights.has_weight_syntax(prompt) for prompt in prompts):
        raise BackendError(
            f"Prompt weights ((word:1.2), [word]) apply to SD 1.x/2.x and SDXL models; {kind} would read them as plain text: "
            "write the prompt without them."
        )
    if batch.clip_skip > 1 and "clip_skip" not in inspect.signature(pipeline.__call__).parameters:
        raise BackendError(f"CLIP skip (clip_skip, A1111's CLIP_stop_at_last_layers) does not apply to {kind}: use 1.")


def _needs_embeds(pipeline, batch: Batch) -> bool:
    sdxl = is_sdxl(pipeline)
    if not (sdxl or is_single_encoder(pipeline)):
        return False
    prompts = [*set(batch_prompts(batch)), batch.negative_prompt if batch.guidance > 1 else ""]
    return (
        # SDXL's own clip_skip works (it reads hidden_states, not text_model); SD 1.x/2.x's does not.
        (batch.clip_skip > 1 and not sdxl)
        or any(prompt_weights.has_weight_syntax(prompt) for prompt in prompts)
        or any(prompt_weights.token_count(pipeline, prompt) > WINDOW_TOKENS for prompt in prompts)
    )


def _weighted_embeds(torch, pipeline, batch: Batch, count: int) -> dict:
    prompts = batch_prompts(batch)
    if len(set(prompts)) > 1:  # one per picture, encoded each alone (prompt_groups: the same shape)
        return _per_picture_embeds(torch, pipeline, batch, prompts)
    encoder = prompt_weights.WeightedPromptEncoder(torch, pipeline, batch.clip_skip)
    sdxl = is_sdxl(pipeline)
    positive = encoder.encode(prompts[0])
    kwargs = {}
    if sdxl:
        kwargs["pooled_prompt_embeds"] = encoder.pooled(prompts[0]).repeat(count, 1)
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


def _per_picture_embeds(torch, pipeline, batch: Batch, prompts: list[str]) -> dict:
    """``_weighted_embeds`` of each picture's prompt, stacked: every row as that prompt's alone."""
    rows = [_weighted_embeds(torch, pipeline, replace(batch, prompt=prompt, seeds=[0], extra={}), 1) for prompt in prompts]
    shapes = {row["prompt_embeds"].shape for row in rows}
    if len(shapes) > 1:  # the backend splits by prompt_groups first; this is a programming error
        raise BackendError(f"Prompts of different encoding shapes in one call: {sorted(shapes)}")
    return {name: torch.cat([row[name] for row in rows]) for name in rows[0]}


def load_embeddings(pipeline, embeddings) -> None:
    """Load each (name, path) textual inversion into ``pipeline`` once (remembered per text encoder)."""
    if not embeddings:
        return
    encoder = getattr(pipeline, "text_encoder", None)
    loaded: dict = _LOADED_EMBEDDINGS.setdefault(encoder if encoder is not None else pipeline, {})
    for name, path in embeddings:
        if loaded.get(name) == str(path):
            continue
        if name in loaded:
            raise BackendError(f"Embedding {name!r} is already loaded from {loaded[name]}; restart the worker to load {path}.")
        if is_sdxl(pipeline):
            _load_sdxl_embedding(pipeline, name, path)
        elif is_single_encoder(pipeline):
            try:
                pipeline.load_textual_inversion(str(path), token=name)
            except Exception as exc:
                raise BackendError(f"Cannot load the embedding {name!r} ({path}): {exc}") from exc
        else:
            raise BackendError(
                f"The prompt names the embedding {name!r}: textual inversions apply to SD 1.x/2.x and SDXL models, "
                f"not {type(pipeline).__name__}. Take its name out of the prompt."
            )
        loaded[name] = str(path)


def _load_sdxl_embedding(pipeline, name: str, path) -> None:
    """An SDXL textual inversion: its ``clip_l`` vectors into the first encoder, ``clip_g`` into the
    second, under the same token (diffusers' load_textual_inversion once per encoder)."""
    try:
        vectors = _read_vectors(path)
    except Exception as exc:
        raise BackendError(f"Cannot read the embedding {name!r} ({path}): {exc}") from exc
    if not {"clip_l", "clip_g"} <= set(vectors):
        raise BackendError(
            f"The embedding {name!r} ({path}) has no clip_l and clip_g vectors (it holds {', '.join(sorted(vectors)) or 'nothing'}): "
            "it is not an SDXL embedding; use one made for SDXL."
        )
    pairs = (("clip_l", pipeline.text_encoder, pipeline.tokenizer), ("clip_g", pipeline.text_encoder_2, pipeline.tokenizer_2))
    for key, text_encoder, tokenizer in pairs:
        try:
            pipeline.load_textual_inversion(vectors[key], token=name, text_encoder=text_encoder, tokenizer=tokenizer)
        except Exception as exc:
            raise BackendError(f"Cannot load the embedding {name!r} ({path}) into the {key} text encoder: {exc}") from exc


def _read_vectors(path) -> dict:
    """An embedding file's tensors by name (safetensors, or a .pt/.bin read with weights_only)."""
    if Path(path).suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    import torch

    return dict(torch.load(str(path), map_location="cpu", weights_only=True))


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
    if "use_resolution_binning" in inspect.signature(pipeline.__call__).parameters:
        # PixArt and Sana paint at the nearest of their trained sizes and resize: their noise is not the batch's size.
        raise BackendError(
            f"A variation seed (subseed_strength) does not apply to {type(pipeline).__name__}: it paints at its own "
            "resolution bins, not at the job's size. Use subseed_strength 0."
        )
    scale = getattr(pipeline, "vae_scale_factor", 8)
    network = denoiser(pipeline)
    channels = network.config.in_channels
    # Flux packs 2x2 latent patches into one token: its noise is drawn unpacked (a quarter of the
    # channels, the size rounded to whole patches) and packed after, as its prepare_latents does.
    packed = hasattr(pipeline, "_pack_latents")
    if packed:
        channels //= 4
        height, width = 2 * (batch.height // (scale * 2)), 2 * (batch.width // (scale * 2))
    else:
        height, width = batch.height // scale, batch.width // scale
    shape = (1, channels, height, width)
    # prepare_latents draws in the prompt embeddings' dtype: the text encoder's (SDXL refiner: none).
    text_encoder = getattr(pipeline, "text_encoder", None) or getattr(pipeline, "text_encoder_2", None)
    dtype = (text_encoder if text_encoder is not None else network).dtype
    strength = min(float(batch.subseed_strength), 1.0)
    noises = []
    for generator, subseed in zip(generators, batch.subseeds, strict=True):
        noise = torch.randn(shape, generator=generator, dtype=dtype)
        sub_generator = torch.Generator(device="cpu").manual_seed(int(subseed))
        subnoise = torch.randn(shape, generator=sub_generator, dtype=dtype)
        mixed = slerp(torch, strength, noise, subnoise).to(dtype)
        noises.append(pipeline._pack_latents(mixed, 1, channels, height, width) if packed else mixed)
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
