"""How many tokens CLIP's tokenizer makes of a text, in any process.

The web tier composes live prompts to fit one CLIP window, and has open_clip's BPE file
(requirements/models.txt) but not the tokenizer libraries of the GPU image (transformers). The
count follows OpenAI CLIP's simple tokenizer: lower case, spaces collapsed, the text split into
words, single digits and runs of other signs, each word's UTF-8 bytes merged by BPE rank.
tests/generation/test_clip_tokens.py holds it against transformers' CLIPTokenizer.
"""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import math
import re
import unicodedata
from pathlib import Path

from config.caches import memoized
from library import checkpoints

# Tokens between a window's start and end tokens (77 in all): what an SD model reads in one pass.
WINDOW_TOKENS = 75
# CLIP's pattern with Python's classes: letters ([^\W\d_]), one digit, runs of anything else but space.
_PIECES = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+", re.IGNORECASE)


def _byte_symbols() -> dict[int, str]:
    """Byte → CLIP's printable stand-in (bytes_to_unicode lists the printable bytes first, as
    themselves, then the others in byte order)."""
    symbols = checkpoints.bytes_to_unicode()
    printable = [ord(symbol) for symbol in symbols if ord(symbol) < 256]
    return dict(zip(printable + [byte for byte in range(256) if byte not in printable], symbols, strict=True))


_BYTE_SYMBOLS = _byte_symbols()


def bpe_file() -> Path | None:
    """open_clip's BPE file (``bpe_simple_vocab_16e6.txt.gz``), located without importing open_clip
    (its __init__ imports torchvision); None when open_clip_torch is not installed."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"


def bpe_merges(source: Path) -> list[str]:
    """CLIP's 48,894 merges ("a b"), in rank order, as its simple tokenizer reads them."""
    return gzip.decompress(source.read_bytes()).decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]


@memoized(key="nothing", fresh="none: open_clip's BPE file, installed with the code", maxsize=1)
def _ranks() -> dict[tuple[str, str], int]:
    source = bpe_file()
    if source is None:
        raise FileNotFoundError("open_clip's BPE file: pip install --no-deps -r requirements/models.txt")
    return {tuple(merge.split()): rank for rank, merge in enumerate(bpe_merges(source))}  # type: ignore[misc]


@memoized(key="one word (lower case)", fresh="none: a pure function of its key", maxsize=4096)
def _word_tokens(word: str) -> int:
    """BPE pieces of one word: its bytes' symbols, the last marked ``</w>``, the pair of lowest rank
    merged wherever it stands, again until no pair is a merge."""
    ranks = _ranks()
    parts = [_BYTE_SYMBOLS[byte] for byte in word.encode("utf-8")]
    parts[-1] += "</w>"
    while len(parts) > 1:
        best = min(itertools.pairwise(parts), key=lambda pair: ranks.get(pair, math.inf))
        if best not in ranks:
            break
        joined, index = [], 0
        while index < len(parts):
            if index + 1 < len(parts) and (parts[index], parts[index + 1]) == best:
                joined.append(parts[index] + parts[index + 1])
                index += 2
            else:
                joined.append(parts[index])
                index += 1
        parts = joined
    return len(parts)


def count(text: str) -> int:
    """CLIP tokens of ``text`` without the start and end tokens."""
    cleaned = " ".join(unicodedata.normalize("NFC", text).split()).lower()
    return sum(_word_tokens(piece) for piece in _PIECES.findall(cleaned))
