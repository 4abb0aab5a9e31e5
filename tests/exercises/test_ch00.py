"""Chapter 00's exercises: the backward passes of mul, matmul, broadcasting, tanh; f''.

Each ``check_*`` states the property an answer must have and asserts it. The tests
run them on the chosen solutions and on planted wrong answers (mutants).
"""
import numpy as np
import pytest

import minigan
from tests.exercises.harness import make_tests

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


def check_mul_backward(mul_backward):
    """(dL/da, dL/db) = (grad * b, grad * a): each factor's gradient is the other factor."""
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        a, b, grad = (rng.standard_normal(shape) for _ in range(3))
        got = mul_backward(a, b, grad)
        for mine, expected in zip(got, numerical_vjp(np.multiply, [a, b], grad)):
            np.testing.assert_allclose(mine, expected, rtol=1e-6, atol=1e-8)


def check_matmul_backward(matmul_backward):
    """dL/dA = G B^T and dL/dB = A^T G, shaped like A and B (square and oblong cases)."""
    rng = np.random.default_rng(1)
    for n, k, m in [(3, 3, 3), (2, 4, 3), (5, 1, 2)]:
        a, b, grad = rng.standard_normal((n, k)), rng.standard_normal((k, m)), rng.standard_normal((n, m))
        ga, gb = matmul_backward(a, b, grad)
        expected_a, expected_b = numerical_vjp(np.matmul, [a, b], grad)
        assert np.shape(ga) == a.shape and np.shape(gb) == b.shape, "gradients must match the inputs' shapes"
        np.testing.assert_allclose(ga, expected_a, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(gb, expected_b, rtol=1e-6, atol=1e-8)


def check_unbroadcast(unbroadcast):
    """The gradient of a broadcast operand is the upstream gradient summed over every
    axis the operand was stretched along or prepended to, and has the operand's shape."""
    rng = np.random.default_rng(2)
    for shape, big in [((3,), (4, 3)), ((4, 1), (4, 5)), ((1, 3), (2, 4, 3)), ((2, 3), (2, 3)),
                       ((), (2, 2)), ((2, 1, 1), (2, 3, 4))]:
        grad = rng.standard_normal(big)
        a = rng.standard_normal(shape)
        (expected,) = numerical_vjp(lambda a: np.broadcast_to(a, big), [a], grad)
        got = unbroadcast(grad, shape)
        assert np.shape(got) == shape, f"expected shape {shape}, got {np.shape(got)}"
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def check_tanh_backward(tanh_backward):
    """d tanh(x)/dx = 1 - tanh(x)^2 = 1 - y^2: the output alone gives the derivative."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, size=(4, 5))
    grad = rng.standard_normal(x.shape)
    (expected,) = numerical_vjp(np.tanh, [x], grad)
    np.testing.assert_allclose(tanh_backward(np.tanh(x), grad), expected, rtol=1e-6, atol=1e-8)


def check_second_derivative(second_derivative):
    """f'' agrees with the closed form for polynomials, exp and tanh (tanh'' = -2 t (1 - t^2))."""
    x = np.linspace(-2, 2, 9)
    cases = [(lambda t: t ** 3, 6 * x),
             (lambda t: minigan.exp(t) * t, np.exp(x) * (x + 2)),
             (minigan.tanh, -2 * np.tanh(x) * (1 - np.tanh(x) ** 2))]
    for f, expected in cases:
        np.testing.assert_allclose(second_derivative(f, x.copy()), expected, rtol=1e-6, atol=1e-9)


# --- planted wrong answers -----------------------------------------------------------------
def mul_swapped(a, b, grad):
    """Gives each factor its own value instead of the other's."""
    return grad * a, grad * b


def matmul_missing_transpose(a, b, grad):
    """Forgets to transpose B: G B instead of G B^T."""
    return grad @ b, a.T @ grad


def matmul_transposed_result(a, b, grad):
    """Gives dL/dB transposed: G^T A instead of A^T G."""
    return grad @ b.T, grad.T @ a


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


def tanh_applies_tanh_again(y, grad):
    """Treats y as x: 1 - tanh(y)^2 instead of 1 - y^2."""
    return grad * (1 - np.tanh(y) ** 2)


def second_derivative_returns_first(f, x):
    """Stops after one derivative."""
    x = minigan.tensor(x, requires_grad=True)
    (first,) = minigan.grad(f(x).sum(), x)
    return first.numpy()


CHECKS = {"mul_backward": check_mul_backward, "matmul_backward": check_matmul_backward,
          "unbroadcast": check_unbroadcast, "tanh_backward": check_tanh_backward,
          "second_derivative": check_second_derivative}
MUTANTS = {"mul_backward": [mul_swapped],
           "matmul_backward": [matmul_missing_transpose, matmul_transposed_result],
           "unbroadcast": [unbroadcast_only_leading, unbroadcast_mean],
           "tanh_backward": [tanh_applies_tanh_again],
           "second_derivative": [second_derivative_returns_first]}

test_exercise, test_mutant_is_rejected = make_tests("00", CHECKS, MUTANTS)
