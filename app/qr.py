"""QR codes of enrollment links (segno): SVG for pages, PNG to print or send, the module matrix for PDFs.

An enrollment URL carries its token: the images are made on request and never stored or cached.
"""

from __future__ import annotations

import io

import segno

#: Error correction "M" (15 %): a printed sheet with a crease or a smudge still reads.
ERROR = "m"


def make(url: str) -> segno.QRCode:
    return segno.make_qr(url, error=ERROR, boost_error=False)


def svg(url: str, *, scale: int = 6) -> bytes:
    buffer = io.BytesIO()
    make(url).save(buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, title=None)
    return buffer.getvalue()


def png(url: str, *, scale: int = 10) -> bytes:
    buffer = io.BytesIO()
    make(url).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def modules(url: str) -> list[list[bool]]:
    """The dark (True) and light modules, row by row, without the quiet zone (a PDF draws them itself)."""
    return [[bool(cell) for cell in row] for row in make(url).matrix]
