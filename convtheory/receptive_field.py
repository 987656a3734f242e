r"""Receptive fields of whole networks: closed form, and exact graph ancestry.

The receptive field of an output unit is the set of input units with a path
to it in the stacked layer graph.  For a network of convolutions and pools it
is an axis-aligned box described, per spatial axis, by three integers
(Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019):

* ``size`` :math:`r_0`, the number of input units it spans;
* ``stride`` :math:`S_0`, the *jump*: how far it moves in the input when the
  output index grows by one;
* ``padding`` :math:`P_0`, the *effective padding*: unit ``o`` covers inputs
  ``o*S_0 - P_0, ..., o*S_0 - P_0 + r_0 - 1``.  This is Araujo et al.'s sign
  convention: ``P_0 >= 0`` means the field of output 0 starts ``P_0`` units
  *before* input 0, in the padding (their :math:`u_0 = -P_0`).

With layers ``l = 1..L`` (input side first) of kernel size :math:`k_l`,
dilation :math:`d_l` (folded into the kernel as :math:`d_l(k_l-1)+1`),
stride :math:`s_l` and low-side padding :math:`p_l`, the closed forms are

.. math::

    r_0 = 1 + \sum_l (d_l(k_l-1)) \prod_{i<l} s_i, \quad
    S_0 = \prod_l s_l, \quad
    P_0 = \sum_l p_l \prod_{i<l} s_i.

:func:`receptive_field` evaluates them (``method="closed"``, any size of
network), or reads the field off the stacked layer graph by ancestry
(``method="exact"``, small inputs), built from the same per-axis taps as the
conv matrices; the tests assert the two agree.

The per-output-position view of one conv (the box each output reads, and
which outputs a translation moves without meeting a border) is
:class:`~convtheory.receptive_field_map.ReceptiveFieldMap`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from .receptive_field_closed import _closed_form, _summarise
from .receptive_field_exact import _exact
from .receptive_field_layers import LAYER_KEYS, POINTWISE_LAYERS, _endpoints, _network, _output_shapes

__all__ = ["LAYER_KEYS", "POINTWISE_LAYERS", "ReceptiveField", "receptive_field"]

_METHODS = ("closed", "exact")


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of a network's output units, per spatial axis.

    Attributes
    ----------
    size : tuple of int
        :math:`r_0`: input units spanned by one output unit's field.
    stride : tuple of int
        :math:`S_0`, the jump: input units between the fields of neighbouring
        output units.
    padding : tuple of int
        :math:`P_0`, the effective padding (Araujo et al.'s sign): the field
        of output unit 0 starts at input ``-P_0``.
    aligned : bool
        True when every input-to-output path has the same jump and the same
        field centre, so that one ``(size, stride, padding)`` describes the
        network.  Always true for a chain of layers.
    paths : int
        Number of input-to-output paths (1 for a chain).
    method : str
        ``"closed"`` or ``"exact"``.
    output_shape : tuple of int or None
        Spatial output shape, when ``input_shape`` was given.
    note : str
        Why the network is not aligned (empty when it is).

    Examples
    --------
    >>> rf = receptive_field([{"kernel_size": 3, "padding": 1}] * 2)
    >>> rf.size, rf.stride, rf.padding
    ((5, 5), (1, 1), (2, 2))
    >>> rf.region((0, 3))
    ((-2, 3), (1, 6))
    """

    size: tuple
    stride: tuple
    padding: tuple
    aligned: bool = True
    paths: int = 1
    method: str = "closed"
    output_shape: tuple | None = None
    note: str = ""

    @property
    def ndim(self) -> int:
        return len(self.size)

    @property
    def start(self) -> tuple:
        """Input index where the field of output unit 0 begins, ``-padding``."""
        return tuple(-p for p in self.padding)

    @property
    def center(self) -> tuple:
        """Centre of the field of output unit 0, ``(size - 1)/2 - padding``."""
        return tuple((r - 1) / 2 - p for r, p in zip(self.size, self.padding))

    def region(self, index) -> tuple:
        """Half-open input interval ``(start, stop)`` per axis seen by output unit ``index``.

        Not clipped to the input: a negative ``start`` lies in the padding.
        """
        index = (index,) * self.ndim if isinstance(index, numbers.Integral) else tuple(index)
        if len(index) != self.ndim:
            raise ValueError(f"index must have {self.ndim} entries, got index={index!r}")
        return tuple((o * s - p, o * s - p + r)
                     for o, r, s, p in zip(index, self.size, self.stride, self.padding))



def receptive_field(layers, input_shape=None, *, method="closed", at=None) -> ReceptiveField:
    r"""Receptive field size, jump and effective padding of a network.

    Parameters
    ----------
    layers : iterable of layer descriptions, networkx.DiGraph, or a model
        A model is any ``torch.nn.Module`` (``Sequential``, nested or not,
        ResNets, ...), a path to an ``.onnx`` file or an ``onnx.ModelProto``,
        or a :class:`~convtheory.network.NetworkGraph` (a captured
        :mod:`convtheory.nn` network, for example): it is captured
        (:func:`convtheory.network.capture`) and the field is that of the
        output of its spatial part, which ends before ``Flatten``,
        ``Linear`` and pools to one unit per axis (several spatial outputs,
        such as a detector's heads, are merged).
        Otherwise a chain, input side first (a list, or a
        :mod:`convtheory.nn` ``Sequential``).  Each layer is a mapping with keys
        ``kernel_size``, ``stride``, ``padding``, ``dilation`` (defaults 1,
        0, 1; ints or per-axis tuples; ``padding`` also takes ``(lo, hi)``
        pairs and ``"valid"``/``"same"``/``"full"``, and ``"same_upper"``/``"same_lower"``
        given ``input_shape``), or any object with
        those attributes (``torch.nn.Conv2d``, ``MaxPool2d``, ``AvgPool2d``
        and their convtheory counterparts; a missing ``dilation`` means 1;
        a pool's ``ceil_mode=True`` is refused only when ``input_shape`` is
        given, since it changes output shapes and not the field).
        A transposed conv is a mapping with ``output_padding`` (or
        ``transposed=True``), or a ``ConvTransposeNd`` object: it upsamples,
        dividing the jump by its stride, so ``size``, ``stride`` and
        ``padding`` may become ``fractions.Fraction``; the field of output
        ``o`` is then the input units inside the real interval ``o*S_0 - P_0
        + [0, r_0 - 1]`` (exactly for one transposed conv of dilation 1, a bounding
        box in general).
        A layer object without ``kernel_size`` that acts on each position
        alone (its class name in :data:`POINTWISE_LAYERS`: ``ReLU``,
        ``BatchNorm2d``, ``Dropout``, ... of PyTorch or :mod:`convtheory.nn`;
        or a ``pointwise = True`` attribute) is an identity layer, as is
        ``None``.  Anything else without ``kernel_size`` is refused:
        ``Flatten`` and ``Linear`` mix every position, so the spatial part
        of the network, and its receptive field, ends before them.
        A ``DiGraph`` is a network with branches: one input node, one output
        node, each node's ``"layer"`` attribute a layer description applied
        to the merged outputs of its predecessors (no ``"layer"``: the node
        only merges, as an addition or concatenation does).
    input_shape : tuple of int, optional
        Spatial input shape ``(n1, ..., nd)``.  Checks that every layer's
        input is large enough and gives ``output_shape``; required for
        ``method="exact"``.  Without it, the number of axes comes from the
        first per-axis tuple in the layers, or is 2.
    method : {"closed", "exact"}
        ``"closed"``: the closed form over every path (any network size).
        ``"exact"``: ancestry in the stacked layer graph of ``input_shape``
        (small inputs), read off output units the border does not clip.
    at : str, optional
        For a model only: the name of the captured node whose output's
        field is wanted (default: the end of the spatial part).

    For a model, ``input_shape`` may be spatial ``(n1, ..., nd)`` (the
    channels are read from the model) or ``(C, n1, ..., nd)``; without it a
    torch model is traced on a nominal 224 per axis (64 in 3-D), and
    ``output_shape`` is None.

    Returns
    -------
    ReceptiveField
        Per axis ``size`` :math:`r_0`, ``stride`` :math:`S_0` (the jump)
        and ``padding`` :math:`P_0` (the effective padding, Araujo et al.'s
        sign: output unit 0's field starts at input :math:`-P_0`).  For a
        DAG, the largest field over all paths; ``aligned`` is False, with a
        ``note``, when paths disagree on the jump or on the centre.

    Raises
    ------
    TypeError, ValueError
        For a bad layer (an unknown key, a negative kernel size, a zero
        stride, ...), naming the layer index (or DAG node) and the key.

    Notes
    -----
    Closed form (Araujo, Norris & Sim, Distill 2019), dilation folded into
    the kernel, ``p_l`` the low-side padding::

        r_0 = 1 + sum_l d_l (k_l - 1) prod_{i<l} s_i
        S_0 = prod_l s_l
        P_0 = sum_l p_l prod_{i<l} s_i

    For a DAG it is evaluated along every path (distinct results are kept,
    so a ResNet's exponentially many paths cost little).  Paths are
    *aligned* when their fields share the jump and the centre
    ``(r_0 - 1)/2 - P_0``; then the largest field contains every other.

    The exact method builds, per axis (the connectivity of a conv or pool
    is a product over axes), the stacked graph whose edges are each layer's
    taps and takes the input ancestors of every output unit.

    Examples
    --------
    >>> from convtheory import nn

    Two 3x3 convs see 5x5; a stride-2 pool in between doubles the growth:

    >>> receptive_field([{"kernel_size": 3}, {"kernel_size": 3}]).size
    (5, 5)
    >>> rf = receptive_field([{"kernel_size": 3, "padding": 1},
    ...                       {"kernel_size": 2, "stride": 2},
    ...                       {"kernel_size": 3, "padding": 1}])
    >>> rf.size, rf.stride, rf.padding
    ((8, 8), (2, 2), (3, 3))

    Dilation 2 makes a 3-tap kernel span 5 inputs; the exact ancestry agrees:

    >>> layers = [{"kernel_size": 3, "dilation": 2}, {"kernel_size": 3}]
    >>> receptive_field(layers, (20,)).size
    (7,)
    >>> receptive_field(layers, (20,), method="exact").size
    (7,)

    A captured model's field is that of its spatial part (before Flatten):

    >>> from convtheory.network import capture
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
    >>> rf = receptive_field(capture(net, (1, 10, 10)))
    >>> rf.size, rf.stride, rf.output_shape
    ((4, 4), (2, 2), (4, 4))

    Layer objects work as they are; a ReLU between them changes nothing:

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    >>> receptive_field(net).size == receptive_field([net[0], net[2]]).size == (4, 4)
    True
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got method={method!r}")
    if _is_model(layers):
        return _model_field(layers, input_shape, method, at)
    if at is not None:
        raise TypeError(f"at={at!r} names a node of a model; layers is a "
                        f"{type(layers).__name__}, not a model")
    dag, ndim, input_shape, parsed, where = _network(layers, input_shape)
    if dag.number_of_nodes() == 0:  # an empty chain: the identity
        shape = input_shape
        if method == "exact" and input_shape is None:
            raise ValueError("method='exact' needs input_shape")
        return ReceptiveField((1,) * ndim, (1,) * ndim, (0,) * ndim, method=method,
                              output_shape=shape)
    source, sink = _endpoints(dag, where)
    shape, inputs = None, {}
    if input_shape is not None:
        shape = _output_shapes(dag, parsed, where, input_shape, source, inputs)[sink]
    candidates, paths = _closed_form(dag, parsed, source, sink, ndim, where, inputs)
    size, stride, padding, aligned, note = _summarise(candidates, ndim)
    closed = ReceptiveField(size, stride, padding, aligned, paths, "closed", shape, note)
    if method == "closed":
        return closed
    if input_shape is None:
        raise ValueError("method='exact' needs input_shape (small: the stacked graph is built)")
    size, stride, padding, linear = _exact(dag, parsed, source, sink, input_shape, ndim, closed, inputs)
    note = "" if linear else ("not aligned: the fields of unclipped output units do not "
                              "start at o*stride - padding for one stride and padding")
    return ReceptiveField(size, stride, padding, linear and aligned, paths, "exact", shape,
                          note or closed.note)


def _is_model(layers) -> bool:
    """A model to capture (torch, ONNX, a NetworkGraph), not a list of layers."""
    from .network.capture import _is_onnx, _is_torch_module
    from .network.graph import NetworkGraph

    return (isinstance(layers, NetworkGraph) or _is_torch_module(layers)
            or (_is_onnx(layers) and not isinstance(layers, str))
            or (isinstance(layers, str) and layers.endswith(".onnx")))


def _model_field(model, input_shape, method, at) -> ReceptiveField:
    """The field of a captured model: its layer DAG composed by the closed form."""
    from dataclasses import replace

    from .network.fields import layer_dag, model_graph

    from .network.capture import _is_torch_module

    # A torch model traced at a nominal size reports no output shape.
    nominal = input_shape is None and _is_torch_module(model)
    graph = model_graph(model, input_shape)
    dag, output_spatial = layer_dag(graph, at)
    spatial = graph.input_shape[1:]
    rf = receptive_field(dag, spatial if method == "exact" else None, method=method)
    return replace(rf, output_shape=None if nominal else output_spatial)
