"""The operations, one property at a time, over the shared oracle table.

For every operation we check four things, each against an independent reference:

1. its values equal NumPy's (the oracle) for the same inputs;
2. its dtype is kept: float32 in, float32 out, and float32 gradients;
3. its gradient equals central finite differences (``minigan.gradcheck``);
4. the gradient of its gradient does too (``minigan.gradgradcheck``), which is what a
   gradient penalty such as WGAN-GP's differentiates.

Shapes and values are drawn by hypothesis from ``tests/strategies.py``, kept away from
kinks, so that a failure is always a real bug and never a finite-difference artefact.
"""
import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan import ops
from tests.strategies import (BINARY, REARRANGEMENTS, REDUCTIONS, UNARY, anywhere,
                              broadcastable_shapes, by_name, distinct, leaf, matmul_shapes,
                              operands, reduction_inputs, shapes)

pytestmark = pytest.mark.ch00

ELEMENTWISE = UNARY + BINARY
FLOAT32_RTOL = 1e-5   # float32 has about 7 significant digits; allow for a few roundings


def squared(fn):
    """x -> fn(x)^2, for second-order checks.

    If fn is linear (add, reshape, indexing ...) its second derivative is 0 and a
    gradgradcheck of fn alone passes however wrong the backward of its backward is.
    Squaring makes the first derivative 2 J^T (v * fn(x)) depend on x *through* the
    backward of fn, so that backward is differentiated too.
    """
    return lambda *xs: fn(*xs) * fn(*xs)


# --- elementwise operations ------------------------------------------------------------
@pytest.mark.parametrize("case", by_name(ELEMENTWISE))
@given(data=st.data())
def test_elementwise_values_match_numpy(case, data):
    """op(x) equals NumPy's op(x), shape included, broadcasting operands like NumPy.

    The forward pass is what everything else builds on: a gradient of the wrong
    function is worthless however correct its derivation.
    """
    arrays = data.draw(operands(case))
    out = case.fn(*[leaf(a) for a in arrays])
    expected = case.oracle(*arrays)
    assert out.shape == numpy.shape(expected)
    numpy.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", by_name(ELEMENTWISE))
@settings(max_examples=5)
@given(data=st.data())
def test_elementwise_keeps_the_dtype(case, dtype, data):
    """float32 in gives float32 out and float32 gradients; the same for float64.

    A silent upcast to float64 halves the speed on a GPU and doubles the memory,
    and the next op that meets a float32 tensor then refuses to mix the two.
    """
    arrays = data.draw(operands(case))
    inputs = [leaf(a, dtype=dtype) for a in arrays]
    out = case.fn(*inputs)
    assert out.dtype == dtype
    numpy.testing.assert_allclose(out.numpy(), case.oracle(*arrays), rtol=FLOAT32_RTOL,
                                  atol=FLOAT32_RTOL)
    out.sum().backward()
    assert [x.grad.dtype for x in inputs] == [numpy.dtype(dtype)] * len(inputs)


@pytest.mark.parametrize("case", by_name(ELEMENTWISE))
@settings(max_examples=15)
@given(data=st.data())
def test_elementwise_gradient_matches_finite_differences(case, data):
    """backward gives the vector-Jacobian product that finite differences estimate.

    With broadcast operands this also checks the un-broadcast: an operand of shape
    (3, 1) used against (1, 4) must get the sum over the 4 copies of each element.
    """
    arrays = data.draw(operands(case))
    assert minigan.gradcheck(case.fn, [leaf(a) for a in arrays])


@pytest.mark.parametrize("case", by_name(ELEMENTWISE))
@settings(max_examples=8)
@given(data=st.data())
def test_elementwise_second_derivative_matches_finite_differences(case, data):
    """The gradient, taken with create_graph=True, is itself correctly differentiable.

    This holds only if every backward is written with differentiable Tensor
    operations; a backward that falls back to raw arrays gives a correct first
    derivative and a wrong (zero) second one.
    """
    arrays = data.draw(operands(case))
    assert minigan.gradgradcheck(squared(case.fn), [leaf(a) for a in arrays])


# --- broadcasting ----------------------------------------------------------------------
@given(shapes_=broadcastable_shapes(2))
def test_broadcast_operand_gets_one_gradient_per_use(shapes_):
    """d/da sum(a + b) counts how often each element of a was used: size(out) / size(a).

    Broadcasting copies an element of a to every position along the stretched axes;
    the chain rule adds one 1 per copy. The gradient must also come back in a's own
    shape, not the broadcast shape.
    """
    (shape_a, shape_b), out_shape = shapes_.input_shapes, shapes_.result_shape
    a, b = leaf(numpy.zeros(shape_a)), leaf(numpy.zeros(shape_b))
    (a + b).sum().backward()
    out_size = int(numpy.prod(out_shape))
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    numpy.testing.assert_array_equal(a.grad.numpy(), out_size / a.size)
    numpy.testing.assert_array_equal(b.grad.numpy(), out_size / b.size)


def test_bias_gradient_sums_over_the_batch():
    """For y = x W + b with b of shape (C,), dL/db is dL/dy summed over the batch axis.

    This is the un-broadcast every linear layer depends on.
    """
    x = leaf(numpy.arange(6.0).reshape(3, 2))
    b = leaf(numpy.zeros(2))
    upstream = numpy.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    (x + b).backward(minigan.tensor(upstream))
    numpy.testing.assert_array_equal(b.grad.numpy(), upstream.sum(axis=0))
    numpy.testing.assert_array_equal(x.grad.numpy(), upstream)


@pytest.mark.parametrize("axis, nodes", [
    (0, ["broadcast_to"]),                 # leading axes: broadcasting adds them back in front
    (None, ["broadcast_to"]),
    ((0, 1), ["broadcast_to"]),
    (1, ["broadcast_to", "reshape"]),      # a middle axis needs its size-1 axis back first
    ((0, 2), ["broadcast_to", "reshape"]),
])
def test_sum_gradient_is_a_broadcast_with_a_reshape_only_where_needed(axis, nodes):
    """The gradient graph of a sum, walked from the gradient back to the upstream gradient:
    in the unrolled GAN's step each bias gradient is such a sum, differentiated again."""
    x = leaf(numpy.ones((2, 3, 4)))
    (gradient,) = minigan.grad(x.sum(axis=axis), x, grad_outputs=minigan.ones(
        x.sum(axis=axis).shape, dtype=x.dtype, requires_grad=True), create_graph=True)
    walked, tensor = [], gradient
    while tensor.creator is not None:
        walked.append(tensor.creator.name())
        tensor = tensor.creator.inputs[0]
    assert walked == nodes
    numpy.testing.assert_array_equal(gradient.numpy(), numpy.ones((2, 3, 4)))


# --- reductions --------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", by_name(REDUCTIONS))
@given(data=st.data())
def test_reduction_values_match_numpy(reduction, data):
    """sum/mean/max/min/var over any axis (None, an int, negative, a tuple), with and
    without keepdims, equal NumPy's, shape included."""
    array, axis, keepdims = data.draw(reduction_inputs(reduction))
    out = reduction.fn(leaf(array), axis=axis, keepdims=keepdims)
    expected = reduction.oracle(array, axis=axis, keepdims=keepdims)
    assert out.shape == numpy.shape(expected)
    numpy.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", by_name(REDUCTIONS))
@settings(max_examples=5)
@given(data=st.data())
def test_reduction_keeps_the_dtype(reduction, dtype, data):
    """A float32 reduction stays float32 (mean and var divide by a count, which must not
    turn into a float64 constant), and so do its gradients."""
    array, axis, keepdims = data.draw(reduction_inputs(reduction))
    x = leaf(array, dtype=dtype)
    out = reduction.fn(x, axis=axis, keepdims=keepdims)
    assert out.dtype == dtype
    out.sum().backward()
    assert x.grad.dtype == dtype


@pytest.mark.parametrize("reduction", by_name(REDUCTIONS))
@settings(max_examples=15)
@given(data=st.data())
def test_reduction_gradient_matches_finite_differences(reduction, data):
    """The gradient of a reduction is the upstream gradient sent back over the reduced
    axes: copied (sum), divided by the count (mean), routed to the winner (max, min),
    or times 2 (x - mean) / (count - correction) (var)."""
    array, axis, keepdims = data.draw(reduction_inputs(reduction))
    assert minigan.gradcheck(lambda x: reduction.fn(x, axis=axis, keepdims=keepdims),
                             [leaf(array)])


@pytest.mark.parametrize("reduction", by_name(REDUCTIONS))
@settings(max_examples=8)
@given(data=st.data())
def test_reduction_second_derivative_matches_finite_differences(reduction, data):
    """Second derivatives through every reduction are exact: the squared norm of a
    gradient, in a gradient penalty, is a sum differentiated twice, and batch norm's
    variance sits inside a critic that the penalty differentiates."""
    array, axis, keepdims = data.draw(reduction_inputs(reduction))
    fn = squared(lambda x: reduction.fn(x, axis=axis, keepdims=keepdims))
    assert minigan.gradgradcheck(fn, [leaf(array)])


@pytest.mark.parametrize("fn, expected", [(minigan.max, [0.0, 0.5, 0.5, 0.0]),
                                          (minigan.min, [0.5, 0.0, 0.0, 0.5])])
def test_max_and_min_share_the_gradient_between_ties(fn, expected):
    """At a tie the gradient is split equally, so it still sums to 1.

    max(x + c) = max(x) + c for every c, so the derivative along (1, 1, ..., 1) is 1:
    a gradient that gave 1 to *each* tied element would count the shift twice.
    """
    x = leaf([1.0, 3.0, 3.0, 1.0])
    fn(x).backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), expected)


@given(array=shapes(min_dims=1).flatmap(distinct))
def test_max_gradient_goes_to_the_argmax(array):
    """d max(x) / dx is one-hot at the position of the largest element."""
    x = leaf(array)
    x.max().backward()
    expected = numpy.zeros(array.size)
    expected[numpy.argmax(array)] = 1.0
    numpy.testing.assert_array_equal(x.grad.numpy().ravel(), expected)


# --- matmul ------------------------------------------------------------------------------
@st.composite
def matmul_operands(draw):
    shape_a, shape_b = draw(matmul_shapes())
    return draw(anywhere(shape_a)), draw(anywhere(shape_b))


@given(operands_=matmul_operands())
def test_matmul_values_match_numpy(operands_):
    """a @ b follows NumPy's rules, shape included: batch axes broadcast, a 1-D operand
    on the left is a row and on the right a column, and the axis it added is removed
    again (so vector @ vector is a 0-d scalar)."""
    a, b = operands_
    out = leaf(a) @ leaf(b)
    expected = numpy.matmul(a, b)
    assert out.shape == expected.shape
    numpy.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_vector_dot_vector_is_a_scalar():
    """(k,) @ (k,) is the dot product, a 0-d tensor, as in NumPy and PyTorch.

    A (1,) result would broadcast silently against whatever it meets next, so a
    loss built on it could end up with the wrong shape far from the cause.
    """
    v = leaf([1.0, 2.0, 3.0])
    out = v @ v
    assert out.shape == ()
    assert out.item() == 14.0


@settings(max_examples=20)
@given(operands_=matmul_operands())
def test_matmul_gradient_matches_finite_differences(operands_):
    """dL/dA = dL/dY B^T and dL/dB = A^T dL/dY, each summed over the batch axes along
    which its operand was broadcast."""
    assert minigan.gradcheck(lambda a, b: a @ b, [leaf(x) for x in operands_])


@settings(max_examples=10)
@given(operands_=matmul_operands())
def test_matmul_second_derivative_matches_finite_differences(operands_):
    """matmul's backward is made of matmuls, so it is differentiable again: a critic's
    input gradient, x -> W^T g, can be differentiated with respect to W."""
    assert minigan.gradgradcheck(squared(lambda a, b: a @ b), [leaf(x) for x in operands_])


TRANSPOSE_FLAGS = [(False, False), (True, False), (False, True), (True, True)]
# (op(A) shape, op(B) shape): plain matrices, broadcast batch axes, and k = 1 (the
# outer product that MatMul computes by broadcasting instead of BLAS)
TRANSPOSED_SHAPES = [((3, 4), (4, 2)), ((2, 1, 3, 4), (3, 4, 2)), ((3, 1), (1, 5))]


def _stored(shape, transposed, rng):
    """An operand stored as MatMul with a transpose flag expects it: swapped if flagged."""
    array = rng.standard_normal(shape)
    return numpy.ascontiguousarray(numpy.swapaxes(array, -1, -2)) if transposed else array


@pytest.mark.parametrize("flags", TRANSPOSE_FLAGS)
@pytest.mark.parametrize("shapes", TRANSPOSED_SHAPES)
def test_matmul_with_transposed_operands_to_second_order(flags, shapes):
    """MatMul(A, B, transpose_a, transpose_b) = op(A) @ op(B), and each flag's backward
    (written with the flagged products themselves, no transpose nodes) matches finite
    differences to first and second order. A wrong case of the four in backward, such
    as dA = G op(B) instead of op(B) G^T when A is transposed, fails here."""
    (ta, tb), rng = flags, numpy.random.default_rng(sum(map(len, shapes)))
    a, b = _stored(shapes[0], ta, rng), _stored(shapes[1], tb, rng)
    product = ops.linalg.MatMul.apply(leaf(a), leaf(b), transpose_a=ta, transpose_b=tb)
    expected = numpy.matmul(numpy.swapaxes(a, -1, -2) if ta else a,
                            numpy.swapaxes(b, -1, -2) if tb else b)
    numpy.testing.assert_allclose(product.numpy(), expected, rtol=1e-12, atol=1e-12)

    def fn(x, y):
        return ops.linalg.MatMul.apply(x, y, transpose_a=ta, transpose_b=tb)
    assert minigan.gradcheck(fn, [leaf(a), leaf(b)])
    assert minigan.gradgradcheck(squared(fn), [leaf(a), leaf(b)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_keeps_the_dtype(dtype):
    """float32 @ float32 is float32, and so are both gradients."""
    a, b = leaf(numpy.ones((2, 3)), dtype=dtype), leaf(numpy.ones((3, 4)), dtype=dtype)
    out = a @ b
    out.sum().backward()
    assert (out.dtype, a.grad.dtype, b.grad.dtype) == (numpy.dtype(dtype),) * 3


# --- reshaping, transposing, indexing -------------------------------------------------------
@pytest.mark.parametrize("op", by_name(REARRANGEMENTS))
@given(data=st.data())
def test_rearrangement_values_match_numpy(op, data):
    """reshape, transpose/permute, swapaxes, flatten, (un)squeeze, broadcast_to and
    indexing (basic slices, integer arrays, repeated indices) give NumPy's result."""
    array, argument = data.draw(op.arguments)
    out = op.fn(leaf(array), argument)
    expected = op.oracle(array, argument)
    assert out.shape == numpy.shape(expected)
    numpy.testing.assert_array_equal(out.numpy(), expected)


@pytest.mark.parametrize("op", by_name(REARRANGEMENTS))
@settings(max_examples=15)
@given(data=st.data())
def test_rearrangement_gradient_matches_finite_differences(op, data):
    """The backward routes each gradient element back to where its value came from:
    the inverse reshape or permutation, a sum over broadcast copies, or a scatter-add
    into zeros that adds (never overwrites) at repeated indices."""
    array, argument = data.draw(op.arguments)
    assert minigan.gradcheck(lambda x: op.fn(x, argument), [leaf(array)])


@pytest.mark.parametrize("op", by_name(REARRANGEMENTS))
@settings(max_examples=8)
@given(data=st.data())
def test_rearrangement_second_derivative_matches_finite_differences(op, data):
    """The backward of each rearrangement is itself differentiable (a scatter-add's
    backward is a gather), so a gradient penalty can pass through a reshape or a slice."""
    array, argument = data.draw(op.arguments)
    assert minigan.gradgradcheck(squared(lambda x: op.fn(x, argument)), [leaf(array)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", by_name(REARRANGEMENTS))
@settings(max_examples=3)
@given(data=st.data())
def test_rearrangement_keeps_the_dtype(op, dtype, data):
    """Moving elements never changes their type, forward or backward."""
    array, argument = data.draw(op.arguments)
    x = leaf(array, dtype=dtype)
    out = op.fn(x, argument)
    assert out.dtype == dtype
    out.sum().backward()
    assert x.grad.dtype == dtype


@given(data=st.data())
def test_repeated_indices_add_their_gradients(data):
    """x[[0, 0, 2]] uses row 0 twice, so row 0's gradient is 2 (not 1: a plain
    ``grad[index] = upstream`` would let the second copy overwrite the first)."""
    n = data.draw(st.integers(1, 4))
    rows = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=8))
    x = leaf(numpy.zeros((n, 2)))
    x[minigan.tensor(rows)].sum().backward()
    counts = numpy.bincount(rows, minlength=n).astype(numpy.float64)
    numpy.testing.assert_array_equal(x.grad.numpy(), numpy.stack([counts, counts], axis=1))


# --- concatenate and stack -------------------------------------------------------------------
@st.composite
def concatenate_arguments(draw, new_axis=False):
    """Pieces that join along one axis: equal shapes for stack, one side free for concatenate."""
    shape = list(draw(shapes(min_dims=0 if new_axis else 1, max_dims=2)))
    count = draw(st.integers(1, 3))
    if new_axis:
        axis = draw(st.integers(-len(shape) - 1, len(shape)))
        pieces = [draw(anywhere(tuple(shape))) for _ in range(count)]
    else:
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        pieces = []
        for _ in range(count):
            shape[axis] = draw(st.integers(1, 3))
            pieces.append(draw(anywhere(tuple(shape))))
    return pieces, axis


@pytest.mark.parametrize("name, fn, oracle, new_axis", [
    ("concatenate", minigan.concatenate, numpy.concatenate, False),
    ("cat", minigan.cat, numpy.concatenate, False),
    ("stack", minigan.stack, numpy.stack, True),
])
@settings(max_examples=15)
@given(data=st.data())
def test_joining_matches_numpy_and_finite_differences(name, fn, oracle, new_axis, data):
    """concatenate/stack give NumPy's result, and each piece gets back exactly the slice
    of the gradient that its values went to."""
    pieces, axis = data.draw(concatenate_arguments(new_axis))
    out = fn([leaf(p) for p in pieces], axis=axis)
    numpy.testing.assert_array_equal(out.numpy(), oracle(pieces, axis=axis))
    assert minigan.gradcheck(lambda *xs: fn(list(xs), axis=axis), [leaf(p) for p in pieces])
    assert minigan.gradgradcheck(squared(lambda *xs: fn(list(xs), axis=axis)),
                                 [leaf(p) for p in pieces])


@pytest.mark.parametrize("fn", [minigan.concatenate, minigan.stack])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_joining_keeps_the_dtype(fn, dtype):
    """Joining float32 pieces gives float32, and float32 gradients for each piece."""
    pieces = [leaf(numpy.ones((2, 3)), dtype=dtype) for _ in range(2)]
    out = fn(pieces, axis=1)
    out.sum().backward()
    assert [out.dtype] + [p.grad.dtype for p in pieces] == [numpy.dtype(dtype)] * 3


def test_joining_routes_gradient_only_to_pieces_that_require_it():
    """A constant piece (requires_grad=False) gets no .grad; the others get theirs."""
    x, constant = leaf(numpy.ones(2)), leaf(numpy.ones(3), requires_grad=False)
    (minigan.concatenate([constant, x]) * minigan.tensor(numpy.arange(5.0))).sum().backward()
    assert constant.grad is None
    numpy.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


@pytest.mark.parametrize("source, target", [("float32", "float64"), ("float64", "float32")])
def test_explicit_conversion_is_differentiable(source, target):
    """x.astype(target) passes the gradient back converted to x's own dtype.

    Mixing dtypes needs an explicit .float() or .double(); the conversion must not
    cut the graph, and x.grad must still match x (an optimizer adds it to x).
    """
    x = leaf([1.0, 2.0], dtype=source)
    y = x.astype(target)
    assert y.dtype == target
    (y * y).sum().backward()
    assert x.grad.dtype == source
    numpy.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


# --- float32 with NumPy float64 scalars -----------------------------------------------------
SCALAR = numpy.float64(0.5)   # what x.mean().item() or numpy.sqrt(2.0) hands you

SCALAR_OPERANDS = {
    "x + scalar": lambda x: x + SCALAR,
    "scalar + x": lambda x: SCALAR + x,
    "x - scalar": lambda x: x - SCALAR,
    "scalar - x": lambda x: SCALAR - x,
    "x * scalar": lambda x: x * SCALAR,
    "scalar * x": lambda x: SCALAR * x,
    "x / scalar": lambda x: x / SCALAR,
    "scalar / x": lambda x: SCALAR / x,
    "x ** scalar": lambda x: x ** numpy.float64(2.0),
    "x ** fractional scalar": lambda x: x ** numpy.float64(1.5),
    "x ** integer scalar": lambda x: x ** numpy.int64(3),
    "scalar ** x": lambda x: SCALAR ** x,
    "maximum(x, scalar)": lambda x: minigan.maximum(x, SCALAR),
    "minimum(scalar, x)": lambda x: minigan.minimum(SCALAR, x),
    "clip(x, scalar, scalar)": lambda x: minigan.clip(x, -SCALAR, numpy.float64(2.5)),
    "leaky_relu(x, scalar)": lambda x: ops.leaky_relu(x, numpy.float64(0.2)),
}


@pytest.mark.parametrize("fn", SCALAR_OPERANDS.values(), ids=SCALAR_OPERANDS.keys())
def test_float32_survives_numpy_float64_scalars(fn):
    """A NumPy float64 scalar operand does not upcast a float32 tensor.

    Under NumPy 2's promotion rules (NEP 50) float32_array * numpy.float64(0.5) is
    float64; minigan converts constants to the tensor's dtype first, so the result,
    and the gradient, stay float32.
    """
    x = leaf([1.0, 2.0, 3.0], dtype=numpy.float32)
    out = fn(x)
    assert out.dtype == numpy.float32
    out.sum().backward()
    assert x.grad.dtype == numpy.float32
