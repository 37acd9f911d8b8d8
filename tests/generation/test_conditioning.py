"""Prompt conditioning for the diffusers backend, shown in pixels of a tiny prompt-sensitive pipeline:
weights, long prompts, CLIP skip, textual-inversion embeddings and variation seeds."""

from __future__ import annotations

import numpy as np
import pytest

from generation.backends import Batch, conditioning, prompt_weights
from testkit.tiny_models import (
    TINY_SIZE,
    build_sensitive_pipeline,
    build_sensitive_sdxl_pipeline,
    save_sensitive_pipeline,
    write_tiny_embedding,
)

# Depends on no database, cache or broker of the run: CI runs it once, in the pass on the embedded defaults.
pytestmark = pytest.mark.backend_free

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def pipeline():
    return build_sensitive_pipeline()


def make_batch(prompt="a red flower", **fields) -> Batch:
    values = dict(negative_prompt="", width=TINY_SIZE, height=TINY_SIZE, steps=2, guidance=7.0, seeds=[11])
    values.update(fields)
    return Batch(prompt=prompt, **values)


def render(pipeline, batch: Batch) -> np.ndarray:
    """What the backend does: per-image CPU generators, our kwargs, the pipeline call."""
    generators = [torch.Generator(device="cpu").manual_seed(seed) for seed in batch.seeds]
    kwargs = conditioning.pipeline_call_kwargs(torch, pipeline, batch, generators)
    with torch.inference_mode():
        result = pipeline(
            height=batch.height,
            width=batch.width,
            num_inference_steps=batch.steps,
            guidance_scale=batch.guidance,
            generator=generators,
            output_type="pil",
            **kwargs,
        )
    return np.stack([np.asarray(image) for image in result.images])


def plain_render(pipeline, prompt: str, seed: int = 11, guidance: float = 7.0) -> np.ndarray:
    """Today's path, without our function: the pipeline's own prompt encoding."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    with torch.inference_mode():
        image = pipeline(
            prompt=[prompt], height=TINY_SIZE, width=TINY_SIZE, num_inference_steps=2, guidance_scale=guidance, generator=[generator]
        ).images[0]
    return np.asarray(image)[None]


def differ(first: np.ndarray, second: np.ndarray) -> bool:
    return not np.array_equal(first, second)


# --- the tiny model itself ------------------------------------------------------------------------


def test_tiny_model_pixels_follow_prompt_and_cfg(pipeline):
    assert differ(plain_render(pipeline, "a red flower"), plain_render(pipeline, "a dog"))
    assert differ(plain_render(pipeline, "a red flower", guidance=1.0), plain_render(pipeline, "a red flower", guidance=7.0))


# --- the A1111 syntax ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a red flower", [("a red flower", 1.0)]),
        ("a (red:1.4) flower", [("a ", 1.0), ("red", 1.4), (" flower", 1.0)]),
        ("(red)", [("red", pytest.approx(1.1))]),
        ("((red))", [("red", pytest.approx(1.21))]),
        ("[red]", [("red", pytest.approx(1 / 1.1))]),
        (r"a \(red\) flower", [("a (red) flower", 1.0)]),
        ("(red", [("red", pytest.approx(1.1))]),
        ("", [("", 1.0)]),
    ],
)
def test_parse_attention_follows_a1111(prompt, expected):
    assert prompt_weights.parse_attention(prompt) == expected


def test_weight_syntax_detection_ignores_escapes():
    assert prompt_weights.has_weight_syntax("a (red:1.2) flower")
    assert prompt_weights.has_weight_syntax("[red]")
    assert not prompt_weights.has_weight_syntax(r"a \(red\) flower, 3:2")


# --- plain prompts keep today's path -----------------------------------------------------------------


def test_plain_prompt_keeps_prompt_argument_and_pixels(pipeline):
    batch = make_batch("a red flower")
    kwargs = conditioning.pipeline_call_kwargs(torch, pipeline, batch, [torch.Generator().manual_seed(11)])
    assert kwargs == {"prompt": ["a red flower"]}
    assert np.array_equal(render(pipeline, batch), plain_render(pipeline, "a red flower"))


# --- weights and long prompts ---------------------------------------------------------------------


def test_weighted_prompt_goes_as_embeds_and_changes_pixels(pipeline):
    batch = make_batch("a (red:1.5) flower", negative_prompt="[dog]", seeds=[11, 12])
    kwargs = conditioning.pipeline_call_kwargs(torch, pipeline, batch, [torch.Generator() for _ in batch.seeds])
    assert "prompt" not in kwargs and "negative_prompt" not in kwargs
    assert kwargs["prompt_embeds"].shape == (2, 77, 32)
    assert kwargs["negative_prompt_embeds"].shape == (2, 77, 32)
    assert differ(render(pipeline, make_batch("a (red:1.5) flower")), render(pipeline, make_batch("a red flower")))
    assert differ(render(pipeline, make_batch("a [red] flower")), render(pipeline, make_batch("a red flower")))


def test_weight_one_matches_the_plain_prompt(pipeline):
    """Weights of 1 through compel give the pipeline's own embedding (same tokens, same layer)."""
    encoder = prompt_weights.WeightedPromptEncoder(torch, pipeline, clip_skip=1)
    ids = pipeline.tokenizer("a red flower", padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        expected = pipeline.text_encoder(ids)[0]
    assert torch.allclose(encoder.encode("a (red:1.0) flower"), expected, atol=1e-5)


def test_long_prompt_is_chunked_not_truncated(pipeline):
    words = " ".join(["red flower"] * 30)  # 30 × (3 + 1) tokens: beyond one 75-token window
    assert prompt_weights.token_count(pipeline, words) > conditioning.WINDOW_TOKENS
    batch = make_batch(words, negative_prompt="dog")
    kwargs = conditioning.pipeline_call_kwargs(torch, pipeline, batch, [torch.Generator()])
    assert kwargs["prompt_embeds"].shape[1] == 2 * 77
    assert kwargs["negative_prompt_embeds"].shape[1] == 2 * 77  # padded to the same length
    # The words past the first window reach the picture.
    assert differ(render(pipeline, batch), render(pipeline, make_batch(words + " dog dog dog cat", negative_prompt="dog")))


# --- CLIP skip ---------------------------------------------------------------------------------


def test_clip_skip_changes_pixels_on_both_paths(pipeline):
    plain = render(pipeline, make_batch("a red flower"))
    skip_two = render(pipeline, make_batch("a red flower", clip_skip=2))
    skip_three = render(pipeline, make_batch("a red flower", clip_skip=3))
    assert differ(plain, skip_two) and differ(skip_two, skip_three)
    weighted = render(pipeline, make_batch("a (red:1.3) flower"))
    assert differ(weighted, render(pipeline, make_batch("a (red:1.3) flower", clip_skip=2)))


def test_clip_skip_reads_the_earlier_layer_normalised(pipeline):
    encoder = prompt_weights.WeightedPromptEncoder(torch, pipeline, clip_skip=2)
    ids = pipeline.tokenizer("a red flower", padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        hidden = pipeline.text_encoder(ids, output_hidden_states=True).hidden_states[-2]
        expected = pipeline.text_encoder.final_layer_norm(hidden)
    assert torch.allclose(encoder.encode("a red flower"), expected, atol=1e-5)


# --- textual-inversion embeddings ---------------------------------------------------------------------


def test_embedding_named_in_prompt_changes_pixels_and_loads_once(tmp_path):
    pipeline = build_sensitive_pipeline()
    path = write_tiny_embedding(tmp_path / "glowy.safetensors")
    without = render(pipeline, make_batch("a red flower glowy"))
    weighted_without = render(pipeline, make_batch("a red flower (glowy:1.2)"))
    batch = make_batch("a red flower glowy", extra={"embeddings": [("glowy", str(path))]})
    with_embedding = render(pipeline, batch)
    assert differ(with_embedding, without)
    assert "glowy" in pipeline.tokenizer.get_vocab()
    vocabulary = len(pipeline.tokenizer)
    assert np.array_equal(render(pipeline, batch), with_embedding)  # second batch: not loaded again
    assert len(pipeline.tokenizer) == vocabulary
    # A pipeline sharing the components (the retouch engine's from_pipe) finds it loaded too.
    from diffusers import StableDiffusionImg2ImgPipeline

    sibling = StableDiffusionImg2ImgPipeline.from_pipe(pipeline)
    conditioning.load_embeddings(sibling, batch.extra["embeddings"])
    assert len(sibling.tokenizer) == vocabulary
    # Through the weighted path (compel) too.
    assert differ(render(pipeline, make_batch("a red flower (glowy:1.2)", extra=batch.extra)), weighted_without)


# --- variation seeds ------------------------------------------------------------------------------


def test_variation_seed_strengths(pipeline):
    today = render(pipeline, make_batch(seeds=[11, 12]))
    assert np.array_equal(render(pipeline, make_batch(seeds=[11, 12], subseeds=[5, 6], subseed_strength=0.0)), today)
    full = render(pipeline, make_batch(seeds=[11, 12], subseeds=[5, 6], subseed_strength=1.0))
    assert np.array_equal(full, render(pipeline, make_batch(seeds=[5, 6])))
    half = render(pipeline, make_batch(seeds=[11, 12], subseeds=[5, 6], subseed_strength=0.5))
    assert differ(half[0], today[0]) and differ(half[0], full[0])
    assert differ(half[1], today[1]) and differ(half[1], full[1])


def test_slerp_keeps_the_noise_scale():
    low, high = (
        torch.randn(4, 8, 8, generator=torch.Generator().manual_seed(1)),
        torch.randn(4, 8, 8, generator=torch.Generator().manual_seed(2)),
    )
    middle = conditioning.slerp(torch, 0.5, low, high)
    assert 0.9 < (middle.norm() / low.norm()).item() < 1.1  # a plain average would shrink it to ~0.71
    assert conditioning.slerp(torch, 0.0, low, high) is low and conditioning.slerp(torch, 1.0, low, high) is high


# --- through the backend -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sensitive_model_dir(tmp_path_factory):
    return save_sensitive_pipeline(tmp_path_factory.mktemp("models") / "tiny-sensitive-sd")


def test_backend_generate_honours_weights_and_variation_seeds(sensitive_model_dir):
    from generation.backends.diffusion import DiffusersBackend

    backend = DiffusersBackend(model=str(sensitive_model_dir), device="cpu")

    def pixels(**fields):
        return np.stack([np.asarray(image) for image in backend.generate(make_batch(**fields))])

    plain = pixels()
    assert differ(pixels(prompt="a (red:1.5) flower"), plain)
    assert differ(pixels(clip_skip=2), plain)
    assert differ(pixels(subseeds=[5], subseed_strength=0.5), plain)
    assert np.array_equal(pixels(subseeds=[5], subseed_strength=0.0), plain)


def test_clip_skip_past_the_first_layer_reads_the_token_embeddings(pipeline):
    """A1111 allows up to 12 on any model; a shallower encoder stops at its token embeddings."""
    deepest = conditioning.pipeline_call_kwargs(torch, pipeline, make_batch(clip_skip=12), [torch.Generator()])
    at_embeddings = conditioning.pipeline_call_kwargs(torch, pipeline, make_batch(clip_skip=4), [torch.Generator()])
    assert torch.equal(deepest["prompt_embeds"], at_embeddings["prompt_embeds"])


def test_variation_strength_without_subseeds_keeps_the_seed_noise(pipeline):
    kwargs = conditioning.pipeline_call_kwargs(torch, pipeline, make_batch(subseed_strength=0.5), [torch.Generator()])
    assert "latents" not in kwargs


# --- SDXL: two encoders and a pooled embedding -----------------------------------------------------


@pytest.fixture(scope="module")
def sdxl_pipeline():
    return build_sensitive_sdxl_pipeline()


def test_sdxl_plain_prompt_keeps_the_pipeline_path(sdxl_pipeline):
    kwargs = conditioning.pipeline_call_kwargs(torch, sdxl_pipeline, make_batch(clip_skip=2), [torch.Generator()])
    assert kwargs == {"prompt": ["a red flower"], "clip_skip": 1}


def test_sdxl_weights_one_match_the_pipeline_own_encoding(sdxl_pipeline):
    """Weights of 1 through compel give what SDXL's encode_prompt gives: embeds, pooled, zero negatives."""
    ours = conditioning.pipeline_call_kwargs(torch, sdxl_pipeline, make_batch("a (red:1.0) flower"), [torch.Generator()])
    with torch.no_grad():
        embeds, negative, pooled, negative_pooled = sdxl_pipeline.encode_prompt("a red flower", device="cpu")
    assert torch.allclose(ours["prompt_embeds"], embeds, atol=1e-5)
    assert torch.allclose(ours["pooled_prompt_embeds"], pooled, atol=1e-5)
    assert torch.equal(ours["negative_prompt_embeds"], negative)
    assert torch.equal(ours["negative_pooled_prompt_embeds"], negative_pooled)
    # CLIP skip 2 (A1111) is the pipeline's clip_skip=1.
    skipped = conditioning.pipeline_call_kwargs(torch, sdxl_pipeline, make_batch("a (red:1.0) flower", clip_skip=2), [torch.Generator()])
    with torch.no_grad():
        expected = sdxl_pipeline.encode_prompt("a red flower", device="cpu", clip_skip=1)[0]
    assert torch.allclose(skipped["prompt_embeds"], expected, atol=1e-5)


def test_sdxl_weights_change_pixels(sdxl_pipeline):
    plain = render(sdxl_pipeline, make_batch("a red flower", negative_prompt="dog"))
    weighted = render(sdxl_pipeline, make_batch("a (red:1.5) flower", negative_prompt="dog"))
    assert differ(plain, weighted)
    assert differ(weighted, render(sdxl_pipeline, make_batch("a (red:1.5) flower", negative_prompt="dog", clip_skip=2)))
