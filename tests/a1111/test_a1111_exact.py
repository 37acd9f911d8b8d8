"""An A1111 client inpainting a rectangle gets the untouched area back byte for byte, with every
provenance default on (issue 49): webuiapi 0.9.17 against a live server on the tiny model, the
watermark on, XMP, and C2PA signing with the test chain. A1111 itself pastes the original back
where its blurred mask is 0 (its overlay step); so must we.
"""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from generation.models import GenerationJob
from provenance import report, watermark, xmp
from tests.a1111.test_a1111_client import api, pixels  # noqa: F401 (the live-server client fixture)
from tests.retouch.test_retouch_exact import BLUR, a1111_blurred, mask_of, provenance_on, source_picture  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("only_masked", [True, False])
def test_an_a1111_inpaint_gives_the_outside_back_byte_for_byte(api, provenance_on, only_masked):  # noqa: F811
    source, mask = source_picture(seed=4), mask_of("rectangle")
    # webuiapi's defaults otherwise: inpainting_fill 0 (fill), inpaint_full_res_padding 0, denoising 0.75.
    fields = {"width": 64, "height": 64} if only_masked else {"width": source.width, "height": source.height}
    result = api.img2img(
        images=[source], mask_image=mask, mask_blur=BLUR, prompt="a red flower", seed=7, steps=4,
        inpaint_full_res=only_masked, alwayson_scripts={}, **fields,
    )  # fmt: skip
    answered, original = pixels(result.image), pixels(source)
    assert answered.shape == original.shape
    outside = a1111_blurred(mask, BLUR) == 0
    changed = (answered != original).any(axis=-1)
    assert not changed[outside].any(), f"{changed[outside].sum()} pixels differ outside the mask and its blur"
    assert changed[~outside].sum() > 1000

    # The answer is the stored edit, which carries the mark over the box it repainted.
    job = GenerationJob.objects.get(pk=result.info["job_id"])
    image = job.images.get()
    with default_storage.open(image.key, "rb") as handle:
        found = report.describe(handle.read())
    x, y, w, h = image.parameters[watermark.REGION_PARAMETER]
    assert found["watermark"]["checked"] and found["watermark"]["region"] == [x, y, w, h]
    assert watermark.matching_bits(result.image.convert("RGB").crop((x, y, x + w, y + h))) == found["watermark"]["matching_bits"]
    if only_masked:
        assert found["watermark"]["matching_bits"] == 48
    # Painting the whole picture at its own size, the random-weight model paints per-pixel colour
    # noise, on which dwtDctSvd itself reads back only part of the 48 bits (39 here; 31-48 on whole
    # pictures of synthetic noise). On painted content it reads 48 (tests/retouch/test_retouch_exact.py).
    assert found["xmp"]["digital_source_type"] == xmp.COMPOSITE and found["c2pa"]["validation_state"] == "Valid"
