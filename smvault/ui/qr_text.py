"""A QR code as terminal text: two modules per character row, with half-block characters.

No Textual here: `qr_lines` returns plain strings, and the widget that shows them gives
them an explicit style (dark foreground on a light background), so a dark terminal theme
cannot invert the code. In each character the upper module is the upper half and the
lower module the lower half; a dark module is drawn in the foreground colour:

    upper  lower   char
    dark   dark    █
    dark   light   ▀
    light  dark    ▄
    light  light   (space: the light background)

The quiet zone (`border` modules, light) is part of the lines, so the code scans on any
background. A matrix with an odd number of rows gets a light lower half on its last line.
"""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_L

BORDER = 2  # modules of quiet zone on each side (the standard asks 4; 2 scans in practice)

_CHARS = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}


def qr_matrix(data: str, border: int = BORDER) -> list[list[bool]]:
    """qrcode's module matrix (True = dark) for `data`, quiet zone included."""
    code = qrcode.QRCode(border=border, error_correction=ERROR_CORRECT_L)
    code.add_data(data)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def matrix_lines(matrix: list[list[bool]]) -> list[str]:
    """Half-block text for a module matrix: one line per two rows of modules."""
    lines = []
    for top in range(0, len(matrix), 2):
        upper = matrix[top]
        lower = matrix[top + 1] if top + 1 < len(matrix) else [False] * len(upper)
        lines.append("".join(_CHARS[(bool(a), bool(b))] for a, b in zip(upper, lower)))
    return lines


def qr_lines(data: str) -> list[str]:
    """`data` as a QR code (error correction L, 2-module quiet zone) in half-block text.

    Every line has the same width (the module count, quiet zone included) and there are
    ceil(modules / 2) lines."""
    return matrix_lines(qr_matrix(data))

