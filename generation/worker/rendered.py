"""A picture ready to store, whoever made it: the CPU path (generation.worker.storing) or the card
(generation.worker.card_finishing). One type for both, so finishing stores either the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

from safety.images import Verdict


@dataclass(frozen=True)
class Rendered:
    """JPEG bytes and their safety verdict; ``key`` and ``parameters`` once they are a job's picture.
    ``bare``: the bytes still lack their EXIF/XMP (finished on the card); storing splices them in."""

    content: bytes
    verdict: Verdict
    key: str = ""
    parameters: dict = field(default_factory=dict)
    bare: bool = False
