"""Signed C2PA manifests (c2pa-python): a ``c2pa.created`` or ``c2pa.edited`` action with the
IPTC digital source type, signed with the configured certificate chain and key; and reading one
back with its validation state.

Off unless GARDEN_C2PA_CERT and GARDEN_C2PA_KEY name PEM files. The claim thumbnail is turned
off: it would add bytes and time to every picture (docs/benchmarks.md) to say what the picture
itself shows.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from config.caches import memoized

MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class SigningConfig:
    cert: bytes
    key: bytes
    alg: str = "es256"


def configured() -> SigningConfig | None:
    """The signing chain and key from settings; None when C2PA is off (either path empty)."""
    cert_path, key_path = settings.GARDEN_C2PA_CERT, settings.GARDEN_C2PA_KEY
    if not (cert_path and key_path):
        return None
    return _load(cert_path, key_path, settings.GARDEN_C2PA_ALG)


@memoized(key="(certificate path, key path, algorithm)", fresh="none: the files as first read (new files: new paths or a restart)")
def _load(cert_path: str, key_path: str, alg: str) -> SigningConfig:
    # Read once per process: every encode would otherwise open both files.
    return SigningConfig(cert=Path(cert_path).read_bytes(), key=Path(key_path).read_bytes(), alg=alg)


# One signer per process and signing configuration (cheap to build from the PEMs), kept open; one
# signature at a time through it.
_signing = threading.Lock()


@memoized(key="the signing configuration", fresh="none: a pure function of its key")
def _signer(config: SigningConfig):
    import c2pa

    return c2pa.Signer.from_info(c2pa.C2paSignerInfo(config.alg, config.cert, config.key, None))


@memoized(key="nothing", fresh="none: fixed settings")
def _context():
    import c2pa

    return c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))


def manifest(*, source_type: str, model: str, software: str, edited: bool, title: str = "") -> dict:
    action = {
        "action": "c2pa.edited" if edited else "c2pa.created",
        "digitalSourceType": source_type,
        "softwareAgent": {"name": software},
        "parameters": {"model": model} if model else {},
    }
    return {
        "claim_generator_info": [{"name": software}],
        "title": title or "picture",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
    }


def sign(
    content: bytes,
    *,
    image_format: str,
    source_type: str,
    model: str,
    software: str,
    config: SigningConfig,
    ingredient: bytes | None = None,
) -> bytes:
    """``content`` with a signed manifest embedded. ``ingredient``: the source picture of an edit,
    recorded as the parent ingredient (its own manifest, if any, comes along)."""
    import c2pa

    mime = MIME_TYPES[image_format.upper()]
    with (
        _signing,
        c2pa.Builder(
            manifest(source_type=source_type, model=model, software=software, edited=ingredient is not None), context=_context()
        ) as builder,
    ):
        signer = _signer(config)
        if ingredient is not None:
            # The edit intent adds the c2pa.opened action on the parent that C2PA wants first.
            builder.set_intent(c2pa.C2paBuilderIntent.EDIT)
            builder.add_ingredient({"title": "source", "relationship": "parentOf"}, _sniff(ingredient), io.BytesIO(ingredient))
        out = io.BytesIO()
        builder.sign(signer, mime, io.BytesIO(content), out)
    return out.getvalue()


def _sniff(content: bytes) -> str:
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(content)) as picture:
        return MIME_TYPES.get(picture.format or "", "image/jpeg")


def read(content: bytes) -> dict | None:
    """The active manifest, validation state and failure codes; None for a file without one."""
    import c2pa

    reader = c2pa.Reader.try_create(_sniff(content), io.BytesIO(content))
    if reader is None:
        return None
    with reader:
        active = reader.get_active_manifest() or {}
        results = reader.get_validation_results() or {}
        state = reader.get_validation_state()
    failures = [entry["code"] for entry in results.get("activeManifest", {}).get("failure", [])]
    actions = [
        {"action": action.get("action"), "digital_source_type": action.get("digitalSourceType")}
        for assertion in active.get("assertions", [])
        if assertion.get("label", "").startswith("c2pa.actions")
        for action in assertion.get("data", {}).get("actions", [])
    ]
    return {
        "validation_state": state,
        "failures": failures,
        "actions": actions,
        "claim_generator": [info.get("name") for info in active.get("claim_generator_info", [])],
        "signer": (active.get("signature_info") or {}).get("common_name"),
        "ingredients": [ingredient.get("title") for ingredient in active.get("ingredients", [])],
    }
