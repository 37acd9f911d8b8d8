"""QR codes as the project draws them (the share page's, a screen's enrolment link): segno, SVG."""

from __future__ import annotations

import io

import segno


def qr_svg(text: str) -> bytes:
    """A QR code of ``text`` as a scalable SVG: black on white with the standard 4-module quiet zone."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="svg", border=4, xmldecl=False, omitsize=True, dark="#000", light="#fff")
    return buffer.getvalue()
