"""A picture ready to store (``Rendered``): the type storing.py and card_finishing.py both hand on, in
a module of its own so neither imports the other for it."""

from __future__ import annotations

from dataclasses import dataclass, field

from safety.images import Verdict


@dataclass(frozen=True)
class Rendered:
    """A picture ready to store, whoever made it (the CPU path: storing.render_generated_image, or the
    card: card_finishing): JPEG bytes and their safety verdict; ``key`` and ``parameters`` once they
    are a job's picture. ``bare``: the bytes still lack their EXIF/XMP (finished on the card); storing
    splices them in."""

    content: bytes
    verdict: Verdict
    key: str = ""
    parameters: dict = field(default_factory=dict)
    bare: bool = False
