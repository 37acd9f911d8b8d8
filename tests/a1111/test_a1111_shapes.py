"""A1111's answers field for field (issue 96): ``info`` as ``Processed.js()`` gives it, on txt2img and
img2img, through webuiapi 0.9.17 (its own ``txt2img``/``img2img`` code, .venv/…/webuiapi/webuiapi.py,
which ``json.loads`` ``info``) against a live server on the tiny models; what a strict client checks:
every key of ``js()`` present with A1111's type, ``sd_model_hash`` a short string for every model kind.

A1111's ``Processed.js()`` (modules/processing.py, 1.10): the keys below, ``sd_model_hash`` a str
(``shared.sd_model.sd_model_hash``: the checkpoint's sha256, first 10 hex), ``sd_vae_name`` and
``sd_vae_hash`` present (None with the model's own VAE).
"""

from __future__ import annotations

import re

import pytest
from PIL import Image

from tests.a1111.test_a1111_client import api  # noqa: F401 (the live-server webuiapi client fixture)
from tests.retouch.retouch_support import MASK_BOX, noise

pytestmark = pytest.mark.django_db(transaction=True)

# Processed.js()'s keys → the types A1111 gives them (None allowed where A1111 writes None).
JS_TYPES: dict[str, tuple[type, ...]] = {
    "prompt": (str,), "all_prompts": (list,), "negative_prompt": (str,), "all_negative_prompts": (list,),
    "seed": (int,), "all_seeds": (list,), "subseed": (int,), "all_subseeds": (list,), "subseed_strength": (int, float),
    "width": (int,), "height": (int,), "sampler_name": (str,), "cfg_scale": (int, float), "steps": (int,),
    "batch_size": (int,), "restore_faces": (bool,), "face_restoration_model": (str, type(None)), "sd_model_name": (str,),
    "sd_model_hash": (str,), "sd_vae_name": (str, type(None)), "sd_vae_hash": (str, type(None)),
    "seed_resize_from_w": (int,), "seed_resize_from_h": (int,), "denoising_strength": (int, float, type(None)),
    "extra_generation_params": (dict,), "index_of_first_image": (int,), "infotexts": (list,), "styles": (list,),
    "job_timestamp": (str,), "clip_skip": (int,), "is_using_inpainting_conditioning": (bool,), "version": (str,),
}  # fmt: skip


def assert_a1111_info(info: dict) -> None:
    wrong = {key: type(info.get(key)).__name__ for key, types in JS_TYPES.items() if key not in info or not isinstance(info[key], types)}
    assert not wrong, f"keys missing or of another type than A1111's: {wrong}"
    assert re.fullmatch(r"[0-9a-f]{10}", info["sd_model_hash"]), info["sd_model_hash"]


def test_txt2img_info_is_processed_js_with_a_short_model_hash(api):  # noqa: F811
    result = api.txt2img(prompt="a red flower", seed=3, width=64, height=64, alwayson_scripts={})
    assert_a1111_info(result.info)
    again = api.txt2img(prompt="a red flower", seed=4, width=64, height=64, alwayson_scripts={})
    assert again.info["sd_model_hash"] == result.info["sd_model_hash"]  # stable for the same model


def test_img2img_and_inpaint_info_are_processed_js(api):  # noqa: F811
    source = noise()
    plain = api.img2img(images=[source], prompt="a red flower", seed=7, steps=2, width=64, height=64, alwayson_scripts={})
    assert_a1111_info(plain.info)
    mask = Image.new("L", source.size, 0)
    mask.paste(255, MASK_BOX)
    inpainted = api.img2img(images=[source], mask_image=mask, prompt="a red flower", seed=7, steps=2, alwayson_scripts={})
    assert_a1111_info(inpainted.info)


def test_img2img_ddim_with_webuiapis_default_eta_paints_with_it(api):  # noqa: F811
    from generation.models import GenerationJob

    # webuiapi's img2img sends eta=1.0 by default (webuiapi.py img2img's signature).
    result = api.img2img(images=[noise()], prompt="a red flower", sampler_name="DDIM", seed=7, steps=2, width=64, height=64,
                         alwayson_scripts={})  # fmt: skip
    assert result.image.size == (64, 64) and result.info["sampler_name"] == "DDIM"
    assert not [warning for warning in result.info["warnings"] if "eta" in warning]
    assert GenerationJob.objects.get(pk=result.info["job_id"]).retouch_job.options["eta"] == 1.0  # what the retouch engine's DDIM step took


def test_restore_faces_paints_without_and_says_so(api):  # noqa: F811
    result = api.txt2img(prompt="a face", seed=5, width=64, height=64, restore_faces=True, alwayson_scripts={})
    assert result.image.size == (64, 64) and result.info["restore_faces"] is False
    assert any("no face restorer" in warning for warning in result.info["warnings"])
    edited = api.img2img(images=[noise()], prompt="a face", seed=5, steps=2, width=64, height=64, restore_faces=True, alwayson_scripts={})
    assert any("no face restorer" in warning for warning in edited.info["warnings"])
