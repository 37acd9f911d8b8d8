"""SDXL textual inversions (``clip_l`` and ``clip_g``) load into both text encoders of a tiny SDXL
pipeline and change its picture; an SD 1.x embedding on SDXL is refused naming it."""

from __future__ import annotations

import numpy as np
import pytest

from generation.backends import BackendError, Batch, conditioning
from testkit.tiny_models import TINY_SIZE, build_sensitive_sdxl_pipeline, write_tiny_embedding, write_tiny_sdxl_embedding

# Depends on no database, cache or broker of the run: CI runs it once, in the pass on the embedded defaults.
pytestmark = pytest.mark.backend_free

torch = pytest.importorskip("torch")
TOKEN = "tinyxl"


def render(pipeline, batch: Batch) -> np.ndarray:
    """What the backend does: per-image CPU generators, our kwargs, the pipeline call."""
    generators = [torch.Generator(device="cpu").manual_seed(seed) for seed in batch.seeds]
    kwargs = conditioning.pipeline_call_kwargs(torch, pipeline, batch, generators)
    with torch.inference_mode():
        images = pipeline(
            height=TINY_SIZE, width=TINY_SIZE, num_inference_steps=2, guidance_scale=batch.guidance, generator=generators, **kwargs
        ).images
    return np.stack([np.asarray(image, dtype=np.int16) for image in images])


def make_batch(prompt: str, embeddings=()) -> Batch:
    return Batch(
        prompt=prompt,
        negative_prompt="",
        width=TINY_SIZE,
        height=TINY_SIZE,
        steps=2,
        guidance=5.0,
        seeds=[3],
        extra={"embeddings": list(embeddings)},
    )


def test_an_sdxl_embedding_loads_into_both_encoders_and_changes_the_picture(tmp_path):
    from safetensors.torch import load_file

    path = write_tiny_sdxl_embedding(tmp_path / f"{TOKEN}.safetensors")
    prompt = f"a red flower, {TOKEN} style"
    before = render(build_sensitive_sdxl_pipeline(), make_batch(prompt))  # the name as plain letters

    pipeline = build_sensitive_sdxl_pipeline()
    after = render(pipeline, make_batch(prompt, [(TOKEN, str(path))]))
    assert not np.array_equal(before, after)

    vectors = load_file(str(path))
    for key, tokenizer, encoder in (
        ("clip_l", pipeline.tokenizer, pipeline.text_encoder),
        ("clip_g", pipeline.tokenizer_2, pipeline.text_encoder_2),
    ):
        ids = tokenizer.convert_tokens_to_ids([TOKEN] + [f"{TOKEN}_{n}" for n in range(1, len(vectors[key]))])
        rows = encoder.get_input_embeddings().weight[ids].detach()
        assert torch.equal(rows, vectors[key]), key  # each encoder holds its own half of the file


def test_an_sd1_embedding_on_sdxl_is_refused_naming_it(tmp_path):
    path = write_tiny_embedding(tmp_path / "sd1-style.safetensors")
    with pytest.raises(BackendError, match=r"'sd1-style'.*no clip_l and clip_g.*emb_params.*not an SDXL embedding"):
        render(build_sensitive_sdxl_pipeline(), make_batch("a flower, sd1-style", [("sd1-style", str(path))]))
