"""A fake camera for Chromium that films a real face, and the kiosk's screen sizes: shared by the
browser tests (tests/kiosk/conftest.py) and the benches that drive a kiosk (bench/kiosk_soak.py, fleet.py).

The face is the astronaut photo that ships with scikit-image (Eileen Collins, smiling), written as
a .y4m clip that Chromium's fake capture device loops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

FRAME_W, FRAME_H = 640, 480
FAKE_CAMERA_FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "permissions": ["camera"],
}
KIOSK = {"viewport": {"width": 1920, "height": 1080}, "permissions": ["camera"]}
PORTRAIT_KIOSK = {"viewport": {"width": 1080, "height": 1920}, "permissions": ["camera"]}


def rgb_to_i420(rgb: np.ndarray) -> bytes:
    """One RGB frame (H×W×3, uint8, even sides) as planar I420 with BT.601 studio-range levels."""
    x = rgb.astype(np.float32) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    h, w = y.shape
    u = u.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    v = v.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    planes = [np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, u, v)]
    return b"".join(p.tobytes() for p in planes)


def write_y4m(path: Path, rgb: np.ndarray, frames: int = 2) -> Path:
    h, w = rgb.shape[:2]
    frame = rgb_to_i420(rgb)
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            handle.write(b"FRAME\n" + frame)
    return path


def astronaut_frame() -> np.ndarray:
    """The astronaut photo centred on a 640×480 grey frame, like a webcam picture."""
    skimage_data = pytest.importorskip("skimage.data")
    face = PILImage.fromarray(skimage_data.astronaut()).resize((FRAME_H, FRAME_H), PILImage.Resampling.LANCZOS)
    frame = PILImage.new("RGB", (FRAME_W, FRAME_H), (128, 128, 128))
    frame.paste(face, ((FRAME_W - FRAME_H) // 2, 0))
    return np.asarray(frame)
