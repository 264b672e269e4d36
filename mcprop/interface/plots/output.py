"""Figure output: formats, resolution, atomic writing; labels shared by the figures.

Figures are built on :class:`matplotlib.figure.Figure` (no pyplot state), rendered in
memory and written atomically, so a failed command writes nothing.
"""

import io
from pathlib import Path

from matplotlib.figure import Figure

from mcprop.errors import OutputError
from mcprop.files import atomic_write_bytes
from mcprop.interface import formats

#: Resolution of every figure [dots per inch].
DPI = 150
#: Output formats by file suffix.
FORMATS = {".png": "png", ".pdf": "pdf"}


def percent(credibility: float) -> str:
    """A credibility as a percentage: 0.9 -> '90%'."""
    return f"{100 * credibility:.4g}%"


def model_tex(model: str) -> str:
    """A U(1)' model name in TeX: 'Lmu-Ltau' -> '$L_\\mu - L_\\tau$'."""
    names = {"e": "e", "mu": r"\mu", "tau": r"\tau"}
    parts = [f"L_{names[p[1:]]}" if p[1:] in names and p[0] == "L" else p
             for p in model.split("-")]
    return "$" + " - ".join(parts) + "$"


def check_output(out: Path) -> None:
    """OutputError unless ``out`` has a known suffix, its folder exists and it is not a
    symlink or a device (see :func:`mcprop.interface.formats.check_output`)."""
    formats.check_output(out, default="the default file")
    if out.suffix.lower() not in FORMATS:
        raise OutputError(f"{out}: unsupported output format {out.suffix or '(none)'!r}; "
                        f"use {' or '.join(FORMATS)}")
    if not out.parent.is_dir():
        raise OutputError(f"{out}: the folder {out.parent} does not exist")


def save_figure(fig: Figure, out: Path) -> None:
    """Render ``fig`` in memory in the format of ``out``'s suffix and write it atomically."""
    check_output(out)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=FORMATS[out.suffix.lower()], dpi=fig.dpi)
    try:
        atomic_write_bytes(out, buffer.getvalue())
    except OSError as exc:
        raise OutputError(f"{out}: cannot write ({exc.strerror or exc})") from None
