"""Hypothesis strategies and the oracle table that the engine tests share.

Two ideas from minitorch's test suite organise this file.

**One table of math functions.** Each entry pairs a minigan operation with a NumPy
*oracle* that computes the same values, and says on which inputs the operation is
smooth. ``test_ops.py`` runs every entry through the same checks (values against the
oracle, dtype preservation, first- and second-order gradients against finite
differences), so adding an operation to the table adds it to every one of those tests.

**Kink-free inputs.** A finite difference estimates a derivative from f(x + eps) and
f(x - eps). Where f has a kink (|x| and relu at 0, clip at its bounds, max at a tie)
the two points can straddle it, and the estimate is an average of two slopes that no
analytic gradient should equal. Every draw is therefore kept a safe distance from
every kink (0.05, far more than eps = 1e-6), so a derandomized run can never flake
on an unlucky example.

Arrays are drawn as float64 NumPy arrays; a test moves them to the suite's device
with :func:`leaf` or ``minigan.tensor``.
"""
import dataclasses
from typing import Callable

import numpy
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigan
from minigan import ops

MAX_SIDE = 3    # at most 3 x 3 x 3 = 27 elements: each costs two evaluations in gradcheck
KINK_GAP = 0.05


# --- tensors ---------------------------------------------------------------------------
def leaf(array, dtype=numpy.float64, requires_grad=True):
    """``array`` as a Tensor on the suite's device that requires grad (float64 by default)."""
    return minigan.tensor(numpy.asarray(array, dtype=dtype), requires_grad=requires_grad)


# --- shapes ----------------------------------------------------------------------------
def shapes(min_dims=0, max_dims=3, min_side=1, max_side=MAX_SIDE):
    """Array shapes such as (), (3,), (2, 1, 3)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes=2, max_dims=3):
    """``num_shapes`` shapes that broadcast together, e.g. (2, 1, 3) and (4, 1).

    Yields hypothesis' ``BroadcastableShapes(input_shapes, result_shape)``.
    """
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=0,
                                             max_dims=max_dims, max_side=MAX_SIDE)


@st.composite
def axes(draw, ndim):
    """An ``axis`` argument for a reduction over ``ndim`` dimensions.

    None (every axis), one int (possibly negative, counted from the end), or a tuple
    of distinct axes.
    """
    if ndim == 0:
        return None
    one_axis = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
    return draw(st.one_of(st.none(), one_axis, several.map(tuple)))


@st.composite
def matmul_shapes(draw):
    """Shapes (a, b) valid for ``a @ b`` under NumPy's rules.

    Matrices (n, k) @ (k, m), with optional batch axes on either side that broadcast
    against each other, and 1-D operands on either or both sides.
    """
    n, k, m = (draw(st.integers(1, MAX_SIDE)) for _ in range(3))
    batch_a, batch_b = draw(broadcastable_shapes(2, max_dims=2)).input_shapes
    kind = draw(st.sampled_from(["matrix @ matrix", "vector @ matrix", "matrix @ vector",
                                 "vector @ vector"]))
    a = (k,) if kind.startswith("vector") else batch_a + (n, k)
    b = (k,) if kind.endswith("vector") else batch_b + (k, m)
    return a, b


# --- values ----------------------------------------------------------------------------
def _push_away(array, kinks, gap):
    """Move every element closer than ``gap`` to a kink out to exactly ``gap`` from it."""
    array = numpy.array(array, dtype=numpy.float64)
    for kink in kinks:
        offset = array - kink
        near = numpy.abs(offset) < gap
        array[near] = kink + numpy.where(offset[near] < 0, -gap, gap)
    return array


def values(shape, low=-2.0, high=2.0, kinks=()):
    """float64 arrays of ``shape`` with elements in [low, high], ``KINK_GAP`` from every kink."""
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    return hnp.arrays(numpy.float64, shape, elements=elements).map(
        lambda array: _push_away(array, kinks, KINK_GAP))


def anywhere(shape):
    """Inputs for operations that are smooth everywhere: [-2, 2]."""
    return values(shape)


def positive(shape):
    """Inputs for log, sqrt, 1/x and fractional powers: [0.2, 3], away from the pole at 0."""
    return values(shape, low=0.2, high=3.0)


def away_from_zero(shape):
    """Inputs for |x|, relu and leaky_relu, whose kink is at 0."""
    return values(shape, kinks=(0.0,))


def away_from_half(shape):
    """Inputs for clip(x, -0.5, 0.5), whose kinks are at the bounds."""
    return values(shape, kinks=(-0.5, 0.5))


def on_grid(shape, offset=0.0):
    """Values k/8 + ``offset`` for integers |k| <= 16.

    Two draws with offsets 0 and 1/16 never tie, element by element or after
    broadcasting, so maximum/minimum always has one clear winner 1/16 away.
    """
    elements = st.integers(-16, 16).map(lambda k: k / 8 + offset)
    return hnp.arrays(numpy.float64, shape, elements=elements)


def off_grid(shape):
    """The second operand of maximum/minimum: the grid shifted by half a step."""
    return on_grid(shape, offset=1 / 16)


def distinct(shape):
    """Arrays whose elements are all different (at least 1/8 apart): a max has no ties."""
    size = int(numpy.prod(shape))
    elements = st.integers(-4 * MAX_SIDE ** 3, 4 * MAX_SIDE ** 3).map(lambda k: k / 8)
    return hnp.arrays(numpy.float64, size, elements=elements, unique=True).map(
        lambda flat: flat.reshape(shape))


# --- the oracle table ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Case:
    """One row of the table: a minigan operation, its NumPy oracle, and its smooth inputs.

    Attributes:
        name: the test id.
        fn: the minigan operation, taking one Tensor per entry of ``domains``.
        oracle: the same map on NumPy arrays.
        domains: for each operand, a function shape -> strategy of float64 arrays on
            which ``fn`` is smooth.
    """
    name: str
    fn: Callable
    oracle: Callable
    domains: tuple

    @property
    def arity(self):
        return len(self.domains)

    def __repr__(self):   # hypothesis prints this when an example fails
        return self.name


def _sigmoid(a):
    return 1 / (1 + numpy.exp(-a))


def _leaky_relu(slope):
    return lambda a: numpy.where(a > 0, a, slope * a)


UNARY = [
    Case("neg", lambda x: -x, numpy.negative, (anywhere,)),
    Case("exp", minigan.exp, numpy.exp, (anywhere,)),
    Case("log", minigan.log, numpy.log, (positive,)),
    Case("sqrt", minigan.sqrt, numpy.sqrt, (positive,)),
    Case("abs", minigan.abs, numpy.abs, (away_from_zero,)),
    Case("tanh", minigan.tanh, numpy.tanh, (anywhere,)),
    Case("sigmoid", minigan.sigmoid, _sigmoid, (anywhere,)),
    Case("softplus", ops.softplus, lambda a: numpy.logaddexp(0, a), (anywhere,)),
    Case("relu", ops.relu, lambda a: numpy.maximum(a, 0), (away_from_zero,)),
    Case("leaky_relu", lambda x: ops.leaky_relu(x, 0.2), _leaky_relu(0.2), (away_from_zero,)),
    # A slope above 1 takes the other branch of LeakyRelu.forward (x * slope).
    Case("leaky_relu_steep", lambda x: ops.leaky_relu(x, 1.5), _leaky_relu(1.5),
         (away_from_zero,)),
    Case("clip", lambda x: minigan.clip(x, -0.5, 0.5), lambda a: numpy.clip(a, -0.5, 0.5),
         (away_from_half,)),
    Case("clamp_min", lambda x: minigan.clamp(x, min=-0.5), lambda a: numpy.maximum(a, -0.5),
         (away_from_half,)),
    Case("clamp_max", lambda x: minigan.clamp(x, max=0.5), lambda a: numpy.minimum(a, 0.5),
         (away_from_half,)),
    # Pow has its own branch for the exponent 2, so both 2 and 3 are listed.
    Case("square", lambda x: x ** 2, numpy.square, (anywhere,)),
    Case("cube", lambda x: x ** 3, lambda a: a ** 3, (anywhere,)),
    Case("pow_half", lambda x: x ** 0.5, numpy.sqrt, (positive,)),
    Case("pow_minus_one", lambda x: x ** -1, lambda a: 1 / a, (positive,)),
    Case("pow_two_and_a_half", lambda x: x ** 2.5, lambda a: a ** 2.5, (positive,)),
    # A number on the left of an operator goes through Tensor's reflected methods.
    Case("add_constant", lambda x: 1.5 + x, lambda a: 1.5 + a, (anywhere,)),
    Case("sub_from_constant", lambda x: 2.0 - x, lambda a: 2.0 - a, (anywhere,)),
    Case("mul_by_constant", lambda x: 3.0 * x, lambda a: 3.0 * a, (anywhere,)),
    Case("div_constant_by", lambda x: 2.0 / x, lambda a: 2.0 / a, (positive,)),
    Case("constant_pow", lambda x: 2.0 ** x, lambda a: 2.0 ** a, (anywhere,)),
]

BINARY = [
    Case("add", lambda a, b: a + b, numpy.add, (anywhere, anywhere)),
    Case("sub", lambda a, b: a - b, numpy.subtract, (anywhere, anywhere)),
    Case("mul", lambda a, b: a * b, numpy.multiply, (anywhere, anywhere)),
    Case("div", lambda a, b: a / b, numpy.divide, (anywhere, positive)),
    Case("maximum", minigan.maximum, numpy.maximum, (on_grid, off_grid)),
    Case("minimum", minigan.minimum, numpy.minimum, (on_grid, off_grid)),
    Case("binary_cross_entropy_with_logits", ops.elementwise.binary_cross_entropy_with_logits,
         lambda x, t: numpy.logaddexp(0, x) - t * x, (anywhere, anywhere)),
]


@dataclasses.dataclass(frozen=True)
class Reduction:
    """One reduction: ``fn(x, axis, keepdims)`` and its NumPy oracle with the same signature.

    ``min_side`` and ``min_dims`` keep every drawn tensor at least that big (the unbiased
    variance divides by count - 1, so it needs two elements along every axis).
    """
    name: str
    fn: Callable
    oracle: Callable
    domain: Callable
    min_side: int = 1
    min_dims: int = 0

    def __repr__(self):
        return self.name


REDUCTIONS = [
    Reduction("sum", minigan.sum, numpy.sum, anywhere),
    Reduction("mean", minigan.mean, numpy.mean, anywhere),
    Reduction("max", minigan.max, numpy.max, distinct),
    Reduction("min", minigan.min, numpy.min, distinct),
    Reduction("var", minigan.var,
              lambda a, axis, keepdims: numpy.var(a, axis=axis, keepdims=keepdims, ddof=1),
              anywhere, min_side=2, min_dims=1),
    Reduction("var_population",
              lambda x, axis, keepdims: minigan.var(x, axis, keepdims, correction=0),
              lambda a, axis, keepdims: numpy.var(a, axis=axis, keepdims=keepdims),
              anywhere),
]


@st.composite
def operands(draw, case):
    """Inputs for an elementwise ``case``: one array per operand, broadcastable shapes."""
    if case.arity == 1:
        operand_shapes = (draw(shapes()),)
    else:
        operand_shapes = draw(broadcastable_shapes(case.arity)).input_shapes
    return [draw(domain(shape)) for domain, shape in zip(case.domains, operand_shapes)]


@st.composite
def reduction_inputs(draw, reduction):
    """(array, axis, keepdims) for ``reduction``."""
    shape = draw(shapes(min_dims=reduction.min_dims, min_side=reduction.min_side))
    return draw(reduction.domain(shape)), draw(axes(len(shape))), draw(st.booleans())


# --- operations that move elements: each draws (array, argument) ---------------------------
@st.composite
def reshape_arguments(draw):
    """A shape and a new shape of the same size: its sides permuted, 1s inserted, maybe a -1."""
    shape = draw(shapes())
    target = list(draw(st.permutations(shape)))
    for _ in range(draw(st.integers(0, 2))):
        target.insert(draw(st.integers(0, len(target))), 1)
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return draw(anywhere(shape)), tuple(target)


@st.composite
def permutation_arguments(draw):
    """An array and a permutation of its axes, some written as negative numbers."""
    shape = draw(shapes())
    order = draw(st.permutations(range(len(shape))))
    order = tuple(draw(st.sampled_from([a, a - len(shape)])) for a in order)
    return draw(anywhere(shape)), order


@st.composite
def swapaxes_arguments(draw):
    """An array with at least one axis and two of its axes (possibly the same one)."""
    shape = draw(shapes(min_dims=1))
    axis = st.integers(-len(shape), len(shape) - 1)
    return draw(anywhere(shape)), (draw(axis), draw(axis))


@st.composite
def flatten_arguments(draw):
    """An array and a range start_dim <= end_dim of axes to merge."""
    shape = draw(shapes(min_dims=1))
    start = draw(st.integers(0, len(shape) - 1))
    end = draw(st.integers(start, len(shape) - 1))
    end = draw(st.sampled_from([end, end - len(shape)]))
    return draw(anywhere(shape)), (start, end)


@st.composite
def unsqueeze_arguments(draw):
    """An array and a position for a new axis, from -(ndim + 1) to ndim."""
    shape = draw(shapes())
    return draw(anywhere(shape)), draw(st.integers(-len(shape) - 1, len(shape)))


@st.composite
def squeeze_arguments(draw):
    """An array (sides of 1 are common at this size) and None or one of its axes."""
    shape = draw(shapes(min_dims=1))
    dim = st.integers(-len(shape), len(shape) - 1)
    return draw(anywhere(shape)), draw(st.one_of(st.none(), dim))


@st.composite
def broadcast_arguments(draw):
    """An array and a shape it broadcasts to."""
    shapes_ = draw(broadcastable_shapes(2))
    return draw(anywhere(shapes_.input_shapes[0])), shapes_.result_shape


@st.composite
def basic_index_arguments(draw):
    """An array and a basic index: ints, slices (any step, maybe empty) and Ellipsis."""
    shape = draw(shapes(min_dims=1))
    return draw(anywhere(shape)), draw(hnp.basic_indices(shape))


@st.composite
def integer_array_index_arguments(draw):
    """An array and one integer array per axis (advanced indexing); indices repeat often."""
    shape = draw(shapes(min_dims=1))
    index = draw(hnp.integer_array_indices(shape, result_shape=shapes(min_dims=1, max_dims=2)))
    return draw(anywhere(shape)), index


@st.composite
def row_index_arguments(draw, axis=0):
    """An array and a list of indices along ``axis`` (0: rows, 1: columns), with repeats."""
    shape = draw(shapes(min_dims=axis + 1))
    n = shape[axis]
    rows = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))
    return draw(anywhere(shape)), rows


def _device_index(index):
    """NumPy integer arrays as Tensors, so that the index lives on the suite's device."""
    return tuple(minigan.tensor(i) for i in index)


@dataclasses.dataclass(frozen=True)
class Rearrangement:
    """An operation that moves, copies or selects elements: ``fn(x, argument)``.

    ``arguments`` is a strategy of (array, argument) pairs; ``oracle(array, argument)``
    is the NumPy equivalent.
    """
    name: str
    arguments: object
    fn: Callable
    oracle: Callable

    def __repr__(self):
        return self.name


def _squeeze_oracle(a, dim):
    if dim is None:
        return numpy.squeeze(a)
    return numpy.squeeze(a, dim) if a.shape[dim] == 1 else a


def _flatten_oracle(a, dims):
    start, end = dims[0], dims[1] % a.ndim
    return a.reshape(a.shape[:start] + (-1,) + a.shape[end + 1:])


REARRANGEMENTS = [
    Rearrangement("reshape", reshape_arguments(), lambda x, s: x.reshape(s),
                  lambda a, s: a.reshape(s)),
    Rearrangement("transpose", permutation_arguments(), lambda x, p: minigan.transpose(x, p),
                  numpy.transpose),
    Rearrangement("permute", permutation_arguments(), lambda x, p: x.permute(*p),
                  numpy.transpose),
    Rearrangement("T", permutation_arguments(), lambda x, _: x.T, lambda a, _: a.T),
    Rearrangement("swapaxes", swapaxes_arguments(), lambda x, p: ops.swapaxes(x, *p),
                  lambda a, p: numpy.swapaxes(a, *p)),
    Rearrangement("flatten", flatten_arguments(), lambda x, d: minigan.flatten(x, *d),
                  _flatten_oracle),
    Rearrangement("unsqueeze", unsqueeze_arguments(), lambda x, d: x.unsqueeze(d),
                  numpy.expand_dims),
    Rearrangement("squeeze", squeeze_arguments(), lambda x, d: x.squeeze(d), _squeeze_oracle),
    Rearrangement("broadcast_to", broadcast_arguments(), lambda x, s: x.broadcast_to(s),
                  numpy.broadcast_to),
    Rearrangement("basic_index", basic_index_arguments(), lambda x, i: x[i],
                  lambda a, i: a[i]),
    Rearrangement("integer_array_index", integer_array_index_arguments(),
                  lambda x, i: x[_device_index(i)], lambda a, i: a[i]),
    Rearrangement("repeated_rows", row_index_arguments(),
                  lambda x, rows: x[minigan.tensor(rows)], lambda a, rows: a[numpy.array(rows)]),
    Rearrangement("repeated_columns_with_slice", row_index_arguments(axis=1),
                  lambda x, cols: x[1:, minigan.tensor(cols)],
                  lambda a, cols: a[1:, numpy.array(cols)]),
]


def by_name(cases):
    """``cases`` as pytest parameters whose test ids are the cases' names."""
    return [pytest.param(case, id=case.name) for case in cases]


# --- modules in float64 ------------------------------------------------------------------
def double_(module):
    """Convert ``module``'s parameters and float buffers to float64 in place; return it.

    Finite differences need float64 (see ``minigan.gradcheck``), and layers are made in
    float32. Buffers go too, so that a spectral norm's u and v match its weight.
    """
    for t in list(module.parameters()) + list(module.buffers()):
        if t.dtype.kind == "f":
            t.data = t.data.astype(numpy.float64)
    return module
