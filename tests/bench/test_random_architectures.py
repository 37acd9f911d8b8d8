"""testkit/random_sd.py builds the published architectures: each network's parameter count is the
released checkpoint's (built on torch's meta device: shapes only, no memory, a second or two)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.backend_free
pytest.importorskip("diffusers")

from testkit.random_sd import build_sd15, build_sdxl  # noqa: E402

# Parameter counts of runwayml/stable-diffusion-v1-5, its inpainting model, stabilityai/sd-turbo (its
# text encoder saved with 23 layers) and stabilityai/stable-diffusion-xl-base-1.0.
RELEASED = {
    "sd15": {"unet": 859_520_964, "vae": 83_653_863, "text_encoder": 123_060_480},
    "sd15-inpaint": {"unet": 859_535_364, "vae": 83_653_863, "text_encoder": 123_060_480},
    "sd-turbo": {"unet": 865_910_724, "vae": 83_653_863, "text_encoder": 340_387_840},
    "sdxl": {"unet": 2_567_463_684, "vae": 83_653_863, "text_encoder": 123_060_480, "text_encoder_2": 694_659_840},
}


@pytest.mark.parametrize("architecture", sorted(RELEASED))
def test_each_architecture_has_the_released_parameter_counts(architecture):
    if architecture == "sdxl":
        pipeline = build_sdxl(device="meta")
    else:
        pipeline = build_sd15(device="meta", inpaint=architecture == "sd15-inpaint", turbo=architecture == "sd-turbo")
    counts = {name: sum(p.numel() for p in getattr(pipeline, name).parameters()) for name in RELEASED[architecture]}
    assert counts == RELEASED[architecture]
