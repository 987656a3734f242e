"""``convtheory matrix``, ``graph`` and ``receptive-field``: one conv's views from the command line.

``matrix`` prints the conv matrix as a table (``.`` where no tap lands) or
saves its spy plot; ``graph`` builds the layer as a networkx graph,
summarises its sparsity and sharing and can draw it beside the dense layer;
``receptive-field`` composes a stack of layers.  Each is a thin front end
that calls the library as a user would, refusing oversized work by a count
made first.
"""

from __future__ import annotations

import os

from .cli_arguments import EXIT_OK, UsageError, _build_conv, _require

__all__ = ["MAX_DRAWN_UNITS", "MAX_GRAPH_EDGES", "MAX_TABLE_COLUMNS"]

# ---- matrix -----------------------------------------------------------------

#: Widest matrix ``convtheory matrix`` prints as a table; beyond it, use --spy.
MAX_TABLE_COLUMNS = 64


def _cmd_matrix(args) -> int:
    from .matrices import conv_matrix
    from .weights import conv_arguments

    weight, shape, conv = _build_conv(args, "matrix")
    if args.spy:
        _check_figure_path(args.spy, "matrix", "--spy")
    try:
        w, spec = conv_arguments(weight, shape, **conv)
        if args.spy:
            return _save_spy(w, spec, args.spy, values=args.kernel is not None)
        rows, cols = spec.matrix_shape
        if cols > MAX_TABLE_COLUMNS or rows > 4 * MAX_TABLE_COLUMNS:
            raise UsageError(f"convtheory matrix: error: a {rows} x {cols} matrix is too big for a "
                             f"table (at most {MAX_TABLE_COLUMNS} columns); use --spy FILE.png")
        M = conv_matrix(w, spec)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"convtheory matrix: error: {exc}") from None
    print(_matrix_table(M, spec))
    return EXIT_OK


def _save_spy(w, spec, path, *, values: bool) -> int:
    from .figures.matrices import MAX_SPY_CELLS, spy_conv_vs_dense

    # Size first: the spy plot draws one cell per matrix entry.
    rows, cols = spec.matrix_shape
    if rows * cols > MAX_SPY_CELLS:
        raise UsageError(f"convtheory matrix: error: a {rows:,} x {cols:,} matrix is too big for "
                         f"--spy (at most {MAX_SPY_CELLS:,} entries); use a smaller --input")
    # A numeric kernel is drawn by value; a symbolic one by which weight lands where.
    return _write_figure(spy_conv_vs_dense(w, spec, values=values), path, "matrix", "--spy")


#: File types a figure option writes.
_FIGURE_TYPES = (".png", ".svg", ".pdf")


def _check_figure_path(path, command: str, option: str) -> None:
    """Refuse a figure file name of the wrong type before any work is done."""
    if os.path.splitext(path)[1].lower() not in _FIGURE_TYPES:
        raise UsageError(f"convtheory {command}: error: {option} {path!r} must end in .png, "
                         f".svg or .pdf")


def _write_figure(fig, path, command: str, option: str) -> int:
    """Save ``fig`` to ``path`` for ``convtheory COMMAND OPTION``; a failure is a usage error."""
    from .figures import savefig

    _check_figure_path(path, command, option)
    try:
        savefig(fig, path)
    except OSError as exc:
        raise UsageError(f"convtheory {command}: error: cannot write {option} {path!r}: "
                         f"{exc.strerror or exc}") from None
    print(f"wrote {path}")
    return EXIT_OK


def _matrix_table(M, spec) -> str:
    """The matrix as a text table: rows are outputs, columns inputs, '.' where no tap lands."""
    rows, cols = spec.matrix_shape
    cells = [["."] * cols for _ in range(rows)]
    if hasattr(M, "indptr"):  # scipy csr_array: the structural pattern, zeros included
        for r in range(rows):
            for k in range(M.indptr[r], M.indptr[r + 1]):
                cells[r][M.indices[k]] = _number(M.data[k])
    else:  # sympy sparse matrix
        for (r, c), v in M.todok().items():
            cells[r][c] = str(v)
    row_labels = [_position("y", i, spec.output_shape) for i in range(rows)]
    col_labels = [_position("x", j, spec.input_shape) for j in range(cols)]
    width = max(max(len(c) for row in cells for c in row), max(len(c) for c in col_labels))
    label_width = max(len(r) for r in row_labels)
    stored = sum(c != "." for row in cells for c in row)
    zeros = sum(c == "0" for row in cells for c in row)
    held = f" ({zeros} hold 0)" if zeros else ""
    kernel = "x".join(map(str, spec.weight_shape))
    lines = [f"conv_matrix: {rows} x {cols}, {stored} stored entries{held}, {spec.n_weights} weights "
             f"(kernel {kernel} on input {'x'.join(map(str, spec.input_shape))}); "
             f"'.' = no connection", ""]
    lines.append(" " * label_width + "  " + " ".join(c.rjust(width) for c in col_labels))
    for label, row in zip(row_labels, cells):
        lines.append(label.rjust(label_width) + "  " + " ".join(c.rjust(width) for c in row))
    return "\n".join(lines)


def _number(v) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.4g}"


def _position(name: str, flat: int, shape) -> str:
    """``y01`` for output (0, 1) (channel left out when there is one; commas past 9)."""
    import numpy as np

    index = [int(i) for i in np.unravel_index(flat, shape)]
    if shape[0] == 1:
        index = index[1:]
    return name + ("".join if max(shape) <= 10 else ",".join)(map(str, index))


# ---- graph ------------------------------------------------------------------

#: Most edges ``convtheory graph`` builds (a few seconds in networkx).
MAX_GRAPH_EDGES = 200_000
#: Most units ``convtheory graph --figure`` draws: beyond it the picture is a blur.
MAX_DRAWN_UNITS = 200


def _cmd_graph(args) -> int:
    _require("convtheory.graph", "graph", "the graph views")
    from .graph import conv_graph, dense_graph, graph_metrics

    weight, shape, conv = _build_conv(args, "graph")
    if args.figure:
        _check_figure_path(args.figure, "graph", "--figure")
    try:
        from .taps import count_taps
        from .weights import conv_arguments

        _, spec = conv_arguments(weight, shape, **conv)
        n_edges = count_taps(spec)
        if n_edges > MAX_GRAPH_EDGES:  # count first, as `matrix` does: networkx is slow to build
            raise UsageError(f"convtheory graph: error: a graph of {n_edges:,} edges is too big "
                             f"to summarise here (at most {MAX_GRAPH_EDGES:,}); use a smaller "
                             f"--input, or conv_graph(..., max_edges=) from Python")
        G = conv_graph(weight, shape, **conv)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"convtheory graph: error: {exc}") from None
    # Refuse an undrawable --figure before printing anything.
    if args.figure and G.number_of_nodes() > MAX_DRAWN_UNITS:
        raise UsageError(f"convtheory graph: error: {G.number_of_nodes()} units are too many to "
                         f"draw with --figure (at most {MAX_DRAWN_UNITS}); use a smaller --input")
    m = graph_metrics(G)
    ties = m.tie_counts[m.tie_counts > 0]
    print(f"conv layer {'x'.join(map(str, G.graph['input_shape']))} -> "
          f"{'x'.join(map(str, G.graph['output_shape']))}: {G.number_of_nodes()} units, "
          f"{m.n_edges} edges of the dense layer's {m.n_dense_edges} "
          f"({100 * m.density:.3g}% kept), {m.n_ties} tie labels (weights)")
    print(f"inputs per output (receptive field): "
          f"{int(m.in_degree.min())}..{int(m.in_degree.max())}; "
          f"outputs per weight (sharing): {int(ties.min())}..{int(ties.max())}")
    if args.figure:
        return _save_graph_figure(G, dense_graph(G.graph["input_shape"], G.graph["output_shape"]),
                                  args.figure)
    return EXIT_OK


def _save_graph_figure(G, D, path) -> int:
    from .figures import new_figure
    from .figures.graph import draw_layer_graph

    fig, (ax_conv, ax_dense) = new_figure(1, 2, figsize=(10.0, 4.5))
    draw_layer_graph(G, ax_conv, title="conv")
    draw_layer_graph(D, ax_dense, title="dense", legend=False)
    return _write_figure(fig, path, "graph", "--figure")


# ---- receptive-field ----------------------------------------------------------

def _cmd_receptive_field(args) -> int:
    _require("convtheory.receptive_field", "receptive-field", "the receptive-field module")
    from .receptive_field import receptive_field

    method = "exact" if args.exact else "closed"
    if args.exact and args.input is None:
        raise UsageError("convtheory receptive-field: error: --exact needs --input")
    try:
        rf = receptive_field(args.layers, args.input, method=method)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"convtheory receptive-field: error: {exc}") from None

    def axes(values):
        return "x".join(str(v) for v in values)

    print(f"receptive field ({method}): size {axes(rf.size)}, jump (stride) {axes(rf.stride)}, "
          f"effective padding {axes(rf.padding)}")
    if rf.output_shape is not None:
        print(f"output {axes(rf.output_shape)}; output unit 0 sees input "
              + ", ".join(f"[{lo}, {hi})" for lo, hi in rf.region((0,) * rf.ndim)))
    return EXIT_OK
