"""A1111's ``resize_mode`` for img2img (modules/images.py ``resize_image``), in Pillow.

When A1111 repaints the whole picture (``inpaint_full_res: 0``, or no mask), it first brings the
init image and the mask to ``width`` × ``height``, and the answer has that size:

- 0 "Just resize": stretched to width × height;
- 1 "Crop and resize": scaled to cover width × height, centred, the overflow cut off;
- 2 "Resize and fill": scaled to fit inside, centred, the gaps filled by stretching the picture's
  outermost row or column;
- 3 "Just resize (latent upscale)": A1111 scales the latents instead; we have no latent upscaler,
  so it is resized as 0 (the answer's ``info`` says so).

Every resize is Lanczos, as A1111's without an upscaler. Pictures keep their mode (a mask's alpha
plane, a source's transparency), where A1111 flattens modes 1 and 2 to RGB.
"""

from __future__ import annotations

from PIL import Image

LANCZOS = Image.Resampling.LANCZOS
RESIZE_MODES = {0: "just resize", 1: "crop and resize", 2: "resize and fill", 3: "just resize (latent upscale)"}
LATENT_UPSCALE = 3


def resize_image(mode: int, picture: Image.Image, width: int, height: int) -> Image.Image:
    if mode in (0, LATENT_UPSCALE):
        return picture if picture.size == (width, height) else picture.resize((width, height), LANCZOS)
    ratio, source_ratio = width / height, picture.width / picture.height
    if mode == 1:
        scaled_w = width if ratio > source_ratio else picture.width * height // picture.height
        scaled_h = height if ratio <= source_ratio else picture.height * width // picture.width
    else:
        scaled_w = width if ratio < source_ratio else picture.width * height // picture.height
        scaled_h = height if ratio >= source_ratio else picture.height * width // picture.width
    resized = picture.resize((scaled_w, scaled_h), LANCZOS)
    result = Image.new(picture.mode, (width, height))
    result.paste(resized, box=(width // 2 - scaled_w // 2, height // 2 - scaled_h // 2))
    if mode == 2 and ratio < source_ratio:
        fill = height // 2 - scaled_h // 2
        if fill > 0:
            result.paste(resized.resize((width, fill), box=(0, 0, width, 0)), box=(0, 0))
            result.paste(resized.resize((width, fill), box=(0, resized.height, width, resized.height)), box=(0, fill + scaled_h))
    elif mode == 2 and ratio > source_ratio:
        fill = width // 2 - scaled_w // 2
        if fill > 0:
            result.paste(resized.resize((fill, height), box=(0, 0, 0, height)), box=(0, 0))
            result.paste(resized.resize((fill, height), box=(resized.width, 0, resized.width, height)), box=(fill + scaled_w, 0))
    return result
