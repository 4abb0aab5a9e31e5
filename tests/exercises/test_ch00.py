"""Chapter 00's exercises: the backward passes of mul, matmul, broadcasting, tanh; f''.

Each ``check_*`` states the property an answer must have and asserts it. The tests
run them on the chosen solutions and on planted wrong answers (mutants).

A backward pass is exact arithmetic, so the checks compare with the closed forms to
about 1e-12: an answer computed in float32, or by finite differences, is close but
not right. A backward pass also leaves its inputs alone (the forward values and the
upstream gradient may be shared with other nodes), so the checks pass the arrays
themselves and look at them afterwards.
"""
import itertools

import numpy as np
import pytest

import minigan
from tests.exercises.harness import assert_close, make_tests

pytestmark = pytest.mark.ch00
SHAPES = [(3,), (2, 3), (4, 1, 3)]


def numerical_vjp(function, arrays, grad, eps=1e-6):
    """d<grad, function(*arrays)>/d(array) by central differences, for each array."""
    result = []
    for i, array in enumerate(arrays):
        derivative = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            values = []
            for step in (eps, -eps):
                moved = [a.copy() for a in arrays]
                moved[i][index] += step
                values.append(np.sum(grad * function(*moved)))
            derivative[index] = (values[0] - values[1]) / (2 * eps)
        result.append(derivative)
    return result


def assert_unchanged(before, after, what):
    """The arrays passed in (``after``) still hold the values they had (``before``)."""
    for name, old in before.items():
        assert np.array_equal(after[name], old), (
            f"{what} changed its argument {name} in place; a backward pass must leave its "
            "inputs alone (other nodes may still use them)")


# --- 0.1 mul -------------------------------------------------------------------------------
def check_mul_backward(mul_backward):
    """(dL/da, dL/db) = (grad * b, grad * a): each factor's gradient is the other factor."""
    a, b, grad = np.array([1.0, 2.0, 3.0]), np.array([4.0, -5.0, 6.0]), np.array([1.0, 10.0, 100.0])
    ga, gb = mul_backward(a, b, grad)
    assert_close(ga, np.array([4.0, -50.0, 600.0]),
                 "mul_backward(a=[1, 2, 3], b=[4, -5, 6], grad=[1, 10, 100]): dL/da = grad * b")
    assert_close(gb, np.array([1.0, 20.0, 300.0]),
                 "mul_backward(a=[1, 2, 3], b=[4, -5, 6], grad=[1, 10, 100]): dL/db = grad * a")

    rng = np.random.default_rng(0)
    for shape in SHAPES:
        a, b, grad = (rng.standard_normal(shape) for _ in range(3))
        before = {"a": a.copy(), "b": b.copy(), "grad": grad.copy()}
        ga, gb = mul_backward(a, b, grad)
        assert_unchanged(before, {"a": a, "b": b, "grad": grad}, "mul_backward")
        a, b, grad = before["a"], before["b"], before["grad"]
        fd_a, fd_b = numerical_vjp(np.multiply, [a, b], grad)
        for mine, finite, exact, name in [(ga, fd_a, grad * b, "a"), (gb, fd_b, grad * a, "b")]:
            what = f"mul_backward with shapes {shape}: dL/d{name}"
            assert_close(mine, finite, what + " (finite differences)", rtol=1e-6, atol=1e-8)
            assert_close(mine, exact, what)


# --- 0.2 matmul ----------------------------------------------------------------------------
def check_matmul_backward(matmul_backward):
    """dL/dA = G B^T and dL/dB = A^T G, shaped like A and B (square and oblong cases):
    dL/dA[i, t] = sum_j G[i, j] B[t, j] and dL/dB[t, j] = sum_i A[i, t] G[i, j]."""
    a, b, grad = np.array([[1.0, 2.0]]), np.array([[3.0], [4.0]]), np.array([[5.0]])
    ga, gb = matmul_backward(a, b, grad)
    what = "matmul_backward(A=[[1, 2]], B=[[3], [4]], G=[[5]])"
    assert_close(ga, np.array([[15.0, 20.0]]), f"{what}: dL/dA = G B^T")
    assert_close(gb, np.array([[5.0], [10.0]]), f"{what}: dL/dB = A^T G")

    rng = np.random.default_rng(1)
    for n, k, m in [(3, 3, 3), (2, 4, 3), (5, 1, 2), (1, 3, 4), (4, 2, 5)]:
        a, b = rng.standard_normal((n, k)), rng.standard_normal((k, m))
        grad = rng.standard_normal((n, m))
        before = {"A": a.copy(), "B": b.copy(), "grad": grad.copy()}
        ga, gb = matmul_backward(a, b, grad)
        assert_unchanged(before, {"A": a, "B": b, "grad": grad}, "matmul_backward")
        a, b, grad = before["A"], before["B"], before["grad"]
        fd_a, fd_b = numerical_vjp(np.matmul, [a, b], grad)
        what = f"matmul_backward with A {a.shape}, B {b.shape}"
        for mine, finite, exact, name in [
                (ga, fd_a, np.einsum("ij,tj->it", grad, b), "dL/dA = G B^T"),
                (gb, fd_b, np.einsum("it,ij->tj", a, grad), "dL/dB = A^T G")]:
            assert_close(mine, finite, f"{what}: {name} (finite differences)", rtol=1e-6, atol=1e-8)
            assert_close(mine, exact, f"{what}: {name}", rtol=1e-10, atol=1e-12)


# --- 0.3 unbroadcast -----------------------------------------------------------------------
# (operand shape, broadcast shape): shapes line up from the RIGHT, so the cases mix prepended
# axes with stretched size-1 axes, and square ones where lining up from the left or taking
# the extra axes off the end gives the right shape but the wrong sum.
UNBROADCAST_CASES = [((3, 1), (2, 3, 3)), ((3,), (3, 3)), ((3,), (4, 3)), ((4, 1), (4, 5)),
                     ((1, 3), (2, 4, 3)), ((1, 3), (3, 3)), ((3, 1), (2, 5, 3, 4)),
                     ((1, 4, 1), (3, 2, 4, 5)), ((5,), (2, 3, 5)), ((2, 3), (2, 3)),
                     ((), (2, 2)), ((1, 1), (3, 4)), ((2, 1, 1), (2, 3, 4)), ((1,), (3, 1)),
                     ((3, 1, 2), (4, 3, 5, 2))]


def summed_back(grad, shape):
    """The definition: every entry of grad adds onto the operand entry it is a copy of."""
    out = np.zeros(shape)
    tail = grad.ndim - len(shape)              # the prepended axes come first
    for index in np.ndindex(grad.shape):
        source = tuple(0 if n == 1 else i for i, n in zip(index[tail:], shape))
        out[source] += grad[index]
    return out


def _summed_axes(grad, shape):
    lead = grad.ndim - len(shape)
    return tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and grad.shape[lead + i] != 1)


def _which_sum(got, grad, expected):
    """Over which axes of grad ``got`` is a sum, if it is one (to name a learner's slip)."""
    got = np.ravel(got)
    if np.allclose(got * (grad.size / max(expected.size, 1)), expected.ravel()):
        return "the mean instead of the sum"
    for count in range(grad.ndim + 1):
        for axes in itertools.combinations(range(grad.ndim), count):
            total = grad.sum(axis=axes).ravel()
            if total.shape == got.shape and np.allclose(total, got, rtol=1e-9, atol=1e-12):
                return f"the sum over axes {axes}"
    return "something else"


def check_unbroadcast(unbroadcast):
    """The gradient of a broadcast operand is the upstream gradient summed over every
    axis the operand was stretched along or prepended to, and has the operand's shape.
    Shapes line up from the right: (3, 1) against (2, 3, 3) sums axes 0 and 2."""
    rng = np.random.default_rng(2)
    hand_made = np.arange(18.0).reshape(2, 3, 3)
    cases = [(hand_made, (3, 1))] + [(rng.standard_normal(big), shape)
                                    for shape, big in UNBROADCAST_CASES]
    for grad, shape in cases:
        before = grad.copy()
        got = np.asarray(unbroadcast(grad, shape))
        assert_unchanged({"grad": before}, {"grad": grad}, "unbroadcast")
        what = f"unbroadcast(grad of shape {grad.shape}, shape {shape})"
        axes = _summed_axes(grad, shape)
        assert got.shape == shape, (
            f"{what}: expected the sum over axes {axes}, of shape {shape}, got shape {got.shape}")
        expected = summed_back(grad, shape)
        if not np.allclose(got, expected, rtol=1e-10, atol=1e-12):
            shown = [np.round(a.ravel()[:4], 4).tolist() for a in (expected, got)]
            raise AssertionError(f"{what}: expected the sum over axes {axes} = {shown[0]}..., "
                                 f"got {_which_sum(got, grad, expected)} = {shown[1]}...")
        assert_close(got, expected, what, rtol=1e-10, atol=1e-12)


# --- 0.4 tanh ------------------------------------------------------------------------------
def check_tanh_backward(tanh_backward):
    """d tanh(x)/dx = 1 - tanh(x)^2 = 1 - y^2: the output alone gives the derivative."""
    y, grad = np.array([0.0, 0.5, -0.5, 0.9]), np.array([1.0, 2.0, -1.0, 3.0])
    assert_close(tanh_backward(y, grad), np.array([1.0, 1.5, -0.75, 0.57]),
                 "tanh_backward(y=[0, 0.5, -0.5, 0.9], grad=[1, 2, -1, 3]) = grad * (1 - y^2)")

    rng = np.random.default_rng(3)
    for shape in [(4, 5), (7,), (2, 3, 2)]:
        x = rng.uniform(-3, 3, size=shape)
        y, grad = np.tanh(x), rng.standard_normal(shape)
        before = {"y": y.copy(), "grad": grad.copy()}
        got = tanh_backward(y, grad)
        assert_unchanged(before, {"y": y, "grad": grad}, "tanh_backward")
        y, grad = before["y"], before["grad"]
        (finite,) = numerical_vjp(np.tanh, [x], grad)
        what = f"tanh_backward for shape {shape}: dL/dx"
        assert_close(got, finite, what + " (finite differences)", rtol=1e-6, atol=1e-8)
        assert_close(got, grad * (1 - y ** 2), what + " = grad * (1 - y^2)", rtol=1e-10, atol=1e-12)


# --- 0.5 the second derivative ---------------------------------------------------------------
def check_second_derivative(second_derivative):
    """f'' agrees with the closed form for polynomials, exp, tanh and a log, on arrays of
    any shape (tanh''(x) = -2 tanh(x) (1 - tanh(x)^2)), to rounding error: autograd is
    exact, so a finite difference (good to about 1e-10 at best) or float32 is not enough."""
    def check(f, x, expected, name):
        before = x.copy()
        got = second_derivative(f, x)
        assert isinstance(got, np.ndarray), ("second_derivative must return a NumPy array "
                                             f"(call .numpy()), got {type(got).__name__}")
        assert_unchanged({"x": before}, {"x": x}, "second_derivative")
        assert_close(got, expected, f"f''(x) for f(t) = {name} at x of shape {x.shape}",
                     near_miss=": close, but autograd is exact and finite differences are not")

    check(lambda t: t ** 3, np.array([1.0, 2.0]), np.array([6.0, 12.0]), "t^3")
    x1, x2 = np.linspace(-2, 2, 9), np.array([[-1.7, 0.3, 2.2], [0.9, -0.4, 1.3]])
    for x in (x1, x2):
        tanh = np.tanh(x)
        for f, expected, name in [
                (lambda t: t ** 3, 6 * x, "t^3"),
                (lambda t: minigan.exp(t) * t, np.exp(x) * (x + 2), "t exp(t)"),
                (minigan.tanh, -2 * tanh * (1 - tanh ** 2), "tanh(t)"),
                (lambda t: minigan.log(1 + t * t), 2 * (1 - x * x) / (1 + x * x) ** 2,
                 "log(1 + t^2)")]:
            check(f, x.copy(), expected, name)


# --- planted wrong answers -----------------------------------------------------------------
def mul_swapped(a, b, grad):
    """Gives each factor its own value instead of the other's."""
    return grad * a, grad * b


def mul_in_float32(a, b, grad):
    """Computes in float32: every entry off by up to about 1e-7, relative."""
    a, b, grad = (np.asarray(t, dtype=np.float32) for t in (a, b, grad))
    return grad * b, grad * a


def mul_overwrites_inputs(a, b, grad):
    """Right values, but multiplies a and b in place: the forward values are gone."""
    a *= grad
    b *= grad
    return b, a


def matmul_missing_transpose(a, b, grad):
    """Forgets to transpose B: G B instead of G B^T."""
    return grad @ b, a.T @ grad


def matmul_transposed_result(a, b, grad):
    """Gives dL/dB transposed: G^T A instead of A^T G."""
    return grad @ b.T, grad.T @ a


def matmul_reshape_for_transpose(a, b, grad):
    """Reshapes B to (m, k) instead of transposing it: right shapes, scrambled values."""
    return grad @ b.reshape(b.shape[1], b.shape[0]), a.reshape(a.shape[1], a.shape[0]) @ grad


def unbroadcast_only_leading(grad, shape):
    """Sums the prepended axes but not the stretched size-1 axes."""
    grad = np.asarray(grad)
    lead = grad.ndim - len(shape)
    return grad.sum(axis=tuple(range(lead)))


def unbroadcast_mean(grad, shape):
    """Averages instead of summing (a common slip: the bias gradient is a sum)."""
    from tests.exercises.ch00_reference import unbroadcast
    count = np.asarray(grad).size / max(int(np.prod(shape)), 1)
    return unbroadcast(grad, shape) / count


def unbroadcast_aligned_left(grad, shape):
    """Lines the shapes up from the left (zip): (3, 1) against (2, 3, 3) sums axes 0, 1."""
    grad = np.asarray(grad)
    for i, (g, s) in enumerate(zip(grad.shape, shape)):
        if g != s:
            grad = grad.sum(axis=i, keepdims=True)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad.reshape(shape)


def unbroadcast_sums_trailing_axes(grad, shape):
    """Takes the extra axes off the end instead of the front."""
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=-1)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(axis=i, keepdims=True)
    return grad


def unbroadcast_forgets_offset(grad, shape):
    """Sums the prepended and the size-1 axes in one go, indexing the latter from 0."""
    grad = np.asarray(grad)
    lead = grad.ndim - len(shape)
    axes = set(range(lead)) | {i for i, n in enumerate(shape) if n == 1}
    return grad.sum(axis=tuple(sorted(axes))).reshape(shape)


def tanh_applies_tanh_again(y, grad):
    """Treats y as x: 1 - tanh(y)^2 instead of 1 - y^2."""
    return grad * (1 - np.tanh(y) ** 2)


def tanh_sigmoid_derivative(y, grad):
    """Uses the sigmoid's y (1 - y) for tanh's 1 - y^2."""
    return grad * y * (1 - y)


def tanh_scales_grad_in_place(y, grad):
    """Right values, but multiplies the upstream gradient in place and returns it."""
    grad *= 1 - y ** 2
    return grad


def second_derivative_returns_first(f, x):
    """Stops after one derivative."""
    x = minigan.tensor(x, requires_grad=True)
    (first,) = minigan.grad(f(x).sum(), x)
    return first.numpy()


def second_derivative_by_differences(f, x, h=6e-6):
    """A central difference of the first derivative: close (about 1e-10), not exact."""
    def first(t):
        t = minigan.tensor(t, requires_grad=True)
        (g,) = minigan.grad(f(t).sum(), t)
        return g.numpy()
    return (first(x + h) - first(x - h)) / (2 * h)


def second_derivative_in_float32(f, x):
    """Runs autograd on a float32 copy of x: right to about 1e-7 only."""
    x = minigan.tensor(np.asarray(x, dtype=np.float32), requires_grad=True)
    (first,) = minigan.grad(f(x).sum(), x, create_graph=True)
    (second,) = minigan.grad(first.sum(), x)
    return second.numpy()


def second_derivative_flattened(f, x):
    """Flattens x and never restores its shape."""
    x = minigan.tensor(np.ravel(x), requires_grad=True)
    (first,) = minigan.grad(f(x).sum(), x, create_graph=True)
    (second,) = minigan.grad(first.sum(), x)
    return second.numpy()


CHECKS = {"mul_backward": check_mul_backward, "matmul_backward": check_matmul_backward,
          "unbroadcast": check_unbroadcast, "tanh_backward": check_tanh_backward,
          "second_derivative": check_second_derivative}
MUTANTS = {"mul_backward": [mul_swapped, mul_in_float32, mul_overwrites_inputs],
           "matmul_backward": [matmul_missing_transpose, matmul_transposed_result,
                               matmul_reshape_for_transpose],
           "unbroadcast": [unbroadcast_only_leading, unbroadcast_mean, unbroadcast_aligned_left,
                           unbroadcast_sums_trailing_axes, unbroadcast_forgets_offset],
           "tanh_backward": [tanh_applies_tanh_again, tanh_sigmoid_derivative,
                             tanh_scales_grad_in_place],
           "second_derivative": [second_derivative_returns_first,
                                 second_derivative_by_differences, second_derivative_in_float32,
                                 second_derivative_flattened]}

test_exercise, test_mutant_is_rejected = make_tests("00", CHECKS, MUTANTS)
