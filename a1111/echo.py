"""The ``parameters`` of a txt2img or img2img answer: A1111's request model dumped, so only A1111's
own request fields (``modules/api/models.py``: the processing classes' fields plus the API's own,
``StableDiffusionTxt2ImgProcessingAPI`` / ``StableDiffusionImg2ImgProcessingAPI``). A client's other
keys (SillyTavern forwards its ``url`` and ``auth`` inside the body) never come back.
"""

from __future__ import annotations

COMMON = frozenset(
    (
        "prompt", "negative_prompt", "styles", "seed", "subseed", "subseed_strength", "seed_resize_from_h",
        "seed_resize_from_w", "sampler_name", "scheduler", "batch_size", "n_iter", "steps", "cfg_scale", "width",
        "height", "restore_faces", "tiling", "do_not_save_samples", "do_not_save_grid", "eta", "denoising_strength",
        "s_min_uncond", "s_churn", "s_tmax", "s_tmin", "s_noise", "override_settings",
        "override_settings_restore_afterwards", "refiner_checkpoint", "refiner_switch_at", "disable_extra_networks",
        "firstpass_image", "comments", "sampler_index", "script_name", "script_args", "send_images", "save_images",
        "alwayson_scripts", "force_task_id", "infotext",
    )
)  # fmt: skip
TXT2IMG = COMMON | frozenset(
    (
        "enable_hr", "firstphase_width", "firstphase_height", "hr_scale", "hr_upscaler", "hr_second_pass_steps",
        "hr_resize_x", "hr_resize_y", "hr_checkpoint_name", "hr_sampler_name", "hr_scheduler", "hr_prompt",
        "hr_negative_prompt",
    )
)  # fmt: skip
IMG2IMG = COMMON | frozenset(
    (
        "init_images", "resize_mode", "image_cfg_scale", "mask", "mask_blur_x", "mask_blur_y", "mask_blur", "mask_round",
        "inpainting_fill", "inpaint_full_res", "inpaint_full_res_padding", "inpainting_mask_invert",
        "initial_noise_multiplier", "latent_mask", "include_init_images",
    )
)  # fmt: skip


def txt2img_parameters(body: dict) -> dict:
    return {name: value for name, value in body.items() if name in TXT2IMG}


def img2img_parameters(body: dict) -> dict:
    """A1111 drops the init images and mask from the echo unless ``include_init_images``."""
    parameters = {name: value for name, value in body.items() if name in IMG2IMG}
    if not body.get("include_init_images"):
        parameters.update(init_images=None, mask=None)
    return parameters
