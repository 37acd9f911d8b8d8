"""The app's random draws where a simulation needs them repeatable.

Production draws as before: ``secrets`` for new generation seeds, fresh unseeded NumPy
generators for /garden's exploration draws, ``random``'s default generator for the rest.
``seed(n)`` (a simulation, bench/gardener.py) makes every draw that goes through this module come
from one stream seeded with ``n``, so a run with the same seed and the same calls makes the same
draws on any machine; ``seed(None)`` goes back to the defaults.
"""

from __future__ import annotations

import random
import secrets

import numpy as np

_stream: random.Random | None = None


def seed(value: int | None) -> None:
    """Draw from one stream seeded with ``value`` from now on (None: the defaults again)."""
    global _stream
    _stream = None if value is None else random.Random(value)


def seeded() -> bool:
    return _stream is not None


def randbelow(n: int) -> int:
    """An int in [0, n): ``secrets.randbelow`` unless seeded."""
    return secrets.randbelow(n) if _stream is None else _stream.randrange(n)


def rng() -> random.Random:
    """A ``random.Random`` for a caller's own draws: a fresh one seeded from the stream when seeded,
    else one seeded from the OS (as ``random``'s default generator is)."""
    return random.Random(_stream.getrandbits(64)) if _stream is not None else random.Random()


def numpy_rng() -> np.random.Generator:
    """A NumPy generator: seeded from the stream when seeded, else a fresh unseeded one."""
    return np.random.default_rng(_stream.getrandbits(64)) if _stream is not None else np.random.default_rng()


def token_hex(nbytes: int) -> str:
    """``nbytes`` random bytes as hex: ``secrets.token_hex`` unless seeded."""
    return secrets.token_hex(nbytes) if _stream is None else _stream.randbytes(nbytes).hex()
