"""Pictures for comparing the image check's runtimes (tests/safety/test_classifier_runtimes.py,
bench/gpu_proof.py): a procedural painting of each emotion, photos of skin, faces and things
from scikit-image (scores from ~0 to ~0.3), a flat skin tone and noise."""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage

EMOTIONS = ("happy", "sad", "angry", "calm", "surprised", "fear", "disgusted", "confused")
PHOTOS = ("astronaut", "coffee", "chelsea", "retina", "colorwheel")


def comparison_pictures() -> list[tuple[str, PILImage.Image]]:
    from skimage import data

    from generation.backends import procedural

    pictures = [
        (emotion, procedural.paint(emotion=emotion, favorite="summer,sunny,day", seed=5, width=256, height=256)) for emotion in EMOTIONS
    ]
    pictures += [(name, PILImage.fromarray(getattr(data, name)()).convert("RGB")) for name in PHOTOS]
    pictures.append(("skin tone", PILImage.new("RGB", (256, 256), (230, 180, 160))))
    pictures.append(("noise", PILImage.fromarray(np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8))))
    return pictures
