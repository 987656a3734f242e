"""The network analysis as a report: Markdown, self-contained HTML and JSON, with figures.

Written like ``convtheory verify``'s report: the output directory is checked
first (:func:`~convtheory.report.output.prepare_output`), every file goes
through :func:`~convtheory.atomic.atomic_write`, and figures are
deterministic PNGs (:func:`~convtheory.figures.figure_bytes`) in
``figures/``.
"""

from __future__ import annotations

import base64
import os
import re

import numpy as np

from ..atomic import atomic_write
from ..report.output import prepare_output
from ..report.render import _CSS, FIGURE_DIR, _e

__all__ = ["ANALYSIS_FILES", "FIGURES", "render_html", "render_markdown", "write_analysis"]

#: Report formats and the file each one writes.
ANALYSIS_FILES = {"md": "analysis.md", "html": "analysis.html", "json": "analysis.json"}

#: Figure name -> caption.
FIGURES = {
    "norms": "Per layer: the exact spectral norm with its guaranteed bracket, the reshaped-weight "
             "estimate (torch.nn.utils.spectral_norm) and the circular (FFT) approximation.",
    "receptive_field": "Receptive-field growth through the network, per spatial axis.",
    "border": "The output border band: output positions whose receptive field touches padding.",
    "shift_consistency": "Per-layer shift consistency under a one-pixel input shift "
                         "(cosine similarity, aligned where the layer's jump allows; 1 = equivariant).",
    "parameters": "Parameters of each weighted layer against the dense layer between the same units.",
}


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (tuple, list)):
        return "x".join(_fmt(x) for x in v) if all(isinstance(x, int) for x in v) else \
            "(" + ", ".join(_fmt(x) for x in v) + ")"
    return str(v)


def _summary(a) -> list:
    eq = a.equivariance or {}
    dev = eq.get("max_deviation")
    return [
        ("input shape", _fmt(a.input_shape)),
        ("layers", str(len(a.layers))),
        ("receptive field of the output (per axis)", _fmt(a.receptive_field)),
        ("jump (cumulative stride) of the output", _fmt(a.jump)),
        ("equivariant shifts (multiples of, per axis)", _fmt(a.equivariant_shifts)),
        ("output positions touching padding (per axis)", _fmt(a.border)),
        ("Lipschitz upper bound (exact layer norms)", _fmt(a.lipschitz_upper_bound)),
        ("same product with reshaped-weight norms", _fmt(a.reshaped_lipschitz_estimate)),
        ("measured deviation under a lattice shift", "not measured" if dev is None else f"{dev:.3g}"),
        ("equivariance measured on", eq.get("measured_on", "not measured")),
    ]


_HEAD = ("layer", "kind", "output", "RF", "jump", "norm", "bracket", "reshaped", "circular",
         "shift consistency", "params", "dense params")


def _rows(a) -> list:
    rows = []
    for l in a.layers:
        kind = l.kind + (f" (folded into {a.folded[l.name]})" if l.name in a.folded else "")
        if l.name in a.folded.values():
            kind += " + batch norm"
        rows.append((l.name, kind, _fmt(l.output_shape), _fmt(l.receptive_field), _fmt(l.jump),
                     _fmt(l.spectral_norm),
                     "-" if l.spectral_norm_bounds is None else
                     f"[{l.spectral_norm_bounds[0]:.6g}, {l.spectral_norm_bounds[1]:.6g}]",
                     _fmt(l.reshaped_norm), _fmt(a.circular_norms.get(l.name)),
                     _fmt(a.shift_consistency.get(l.name)), str(l.parameters),
                     str(l.dense_parameters)))
    return rows


def render_markdown(a, figures=()) -> str:
    """The analysis as Markdown (figures referenced from ``figures/``)."""
    out = ["# convtheory network analysis", ""]
    out += ["| quantity | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in _summary(a)]
    if a.equivariance.get("note"):
        out += ["", f"Note: {a.equivariance['note']}."]
    out += ["", "## Layers", "", "| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    out += ["| " + " | ".join(r) + " |" for r in _rows(a)]
    out += ["", "Norms are the largest singular value of the layer's linear map (no bias) at "
            "this input shape; the bracket is guaranteed. A batch norm in eval mode is folded "
            "into the conv before it.", ""]
    for name, filename, _ in figures:
        out += [f"![{FIGURES[name]}]({FIGURE_DIR}/{filename})", "", f"*{FIGURES[name]}*", ""]
    return "\n".join(out).rstrip() + "\n"


def render_html(a, figures=()) -> str:
    """The analysis as one self-contained HTML page (figures embedded)."""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>convtheory network analysis</title>", f"<style>{_CSS}</style>",
           "</head><body>", "<h1>convtheory network analysis</h1>", "<table>"]
    out += [f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in _summary(a)]
    out += ["</table>", "<h2>Layers</h2><table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in _HEAD)
            + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in _rows(a)]
    out.append("</table>")
    for name, _, png in figures:
        data = base64.b64encode(png).decode("ascii")
        out.append(f'<figure><img alt="{_e(FIGURES[name])}" src="data:image/png;base64,{data}">'
                   f"<figcaption>{_e(FIGURES[name])}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ---- figures -----------------------------------------------------------------

def _draw(a) -> list:
    """``[(name, filename, png bytes)]`` of every figure the analysis has data for."""
    from ..figures import figure_bytes, new_figure

    drawn = []

    def keep(name, fig):
        drawn.append((name, f"analysis.{name}.png", figure_bytes(fig, "png")))

    normed = [l for l in a.layers if l.spectral_norm_bounds is not None
              and l.kind not in ("identity", "flatten")]
    if normed:
        fig, ax = new_figure(figsize=(max(5.0, 0.6 * len(normed) + 2), 3.6))
        x = np.arange(len(normed))
        lo = np.array([l.spectral_norm_bounds[0] for l in normed])
        hi = np.array([l.spectral_norm_bounds[1] for l in normed])
        ax.vlines(x, lo, hi, color="C0", lw=6, alpha=0.4, label="guaranteed bracket")
        ax.plot(x, [l.spectral_norm for l in normed], "o", color="C0", label="exact norm")
        ax.plot(x, [l.reshaped_norm for l in normed], "s", color="C1", mfc="none",
                label="reshaped weight")
        circ = [(i, a.circular_norms[l.name]) for i, l in enumerate(normed) if l.name in a.circular_norms]
        if circ:
            ax.plot(*zip(*circ), "^", color="C2", mfc="none", label="circular (FFT)")
        ax.set_xticks(x, [l.name for l in normed], rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("largest singular value")
        ax.legend(fontsize=7)
        keep("norms", fig)
    spatial = [l for l in a.layers if l.jump is not None]
    if spatial:
        fig, ax = new_figure(figsize=(max(5.0, 0.4 * len(spatial) + 2), 3.4))
        for axis in range(len(a.input_shape) - 1):
            ax.plot([float(l.receptive_field[axis]) for l in spatial], "o-", label=f"axis {axis}")
        ax.set_xticks(range(len(spatial)), [l.name for l in spatial], rotation=60, ha="right",
                      fontsize=7)
        ax.set_ylabel("receptive field (input pixels)")
        ax.legend(fontsize=7)
        keep("receptive_field", fig)
    if a.border_masks:
        fig, ax = new_figure(figsize=(3.6, 3.4))
        masks = [np.asarray(m, dtype=bool) for m in a.border_masks]
        band = masks[0][:, None] | (masks[1][None, :] if len(masks) > 1 else False)
        ax.imshow(band.astype(float), cmap="Greys", vmin=0, vmax=1.5, aspect="auto")
        ax.set_title(f"{int(band.sum())} of {band.size} outputs touch padding", fontsize=8)
        ax.set_xlabel("output position (axis 1)" if len(masks) > 1 else "")
        ax.set_ylabel("output position (axis 0)")
        keep("border", fig)
    if a.shift_consistency:
        fig, ax = new_figure(figsize=(max(5.0, 0.4 * len(a.shift_consistency) + 2), 3.4))
        names = list(a.shift_consistency)
        ax.bar(range(len(names)), [a.shift_consistency[n] for n in names], color="C3")
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
        ax.set_ylim(min(0.0, min(a.shift_consistency.values())), 1.05)
        ax.set_ylabel("cosine similarity")
        keep("shift_consistency", fig)
    weighted = [l for l in a.layers if l.dense_parameters]
    if weighted:
        fig, ax = new_figure(figsize=(max(5.0, 0.6 * len(weighted) + 2), 3.4))
        x = np.arange(len(weighted))
        ax.bar(x - 0.2, [l.parameters for l in weighted], 0.4, label="parameters")
        ax.bar(x + 0.2, [l.dense_parameters for l in weighted], 0.4, label="dense equivalent")
        ax.set_yscale("log")
        ax.set_xticks(x, [l.name for l in weighted], rotation=60, ha="right", fontsize=7)
        ax.legend(fontsize=7)
        keep("parameters", fig)
    return drawn


def write_analysis(a, out_dir, formats=("md", "html", "json")) -> list:
    """Write the figures and report files of analysis ``a``; return the paths written.

    Raises
    ------
    ValueError
        For a format outside md, html, json.
    OutputError
        When ``out_dir`` cannot be created or written (nothing is left behind).

    Examples
    --------
    >>> import tempfile
    >>> from convtheory.network.graph import Node, NetworkGraph
    >>> from convtheory.network.analysis import analyze_network
    >>> g = NetworkGraph((Node("c", "conv", ("input",), ((1, 8),), (1, 6),
    ...                        {"weight": np.ones((1, 1, 3))}),), (1, 8), ("c",))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = write_analysis(analyze_network(g), d, ("md",))
    ...     sorted(os.path.basename(p) for p in paths)[-2:]
    ['analysis.receptive_field.png', 'analysis.shift_consistency.png']
    """
    if isinstance(formats, str):
        formats = (formats,)
    unknown = [f for f in formats if f not in ANALYSIS_FILES]
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty subset of {sorted(ANALYSIS_FILES)}, got "
                         f"formats={formats!r}")
    prepare_output(out_dir)
    figure_dir = os.path.join(os.fspath(out_dir), FIGURE_DIR)
    figures = _draw(a)
    written = []
    for _, filename, png in figures:
        written.append(atomic_write(os.path.join(figure_dir, filename), png))
    ours = re.compile(r"^analysis\..+\.png$")
    names = {f for _, f, _ in figures}
    for name in sorted(os.listdir(figure_dir)):
        if ours.match(name) and name not in names:
            os.unlink(os.path.join(figure_dir, name))
    render = {"md": lambda: render_markdown(a, figures), "html": lambda: render_html(a, figures),
              "json": a.to_json}
    for fmt in formats:
        written.append(atomic_write(os.path.join(os.fspath(out_dir), ANALYSIS_FILES[fmt]), render[fmt]()))
    return written
