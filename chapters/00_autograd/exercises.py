"""Chapter 00 exercises: write the backward passes yourself.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch00

Arrays in, arrays out (NumPy, float64), except in exercise 0.5, which uses minigan
itself. The tests compare your answers with finite differences and closed forms, to
rounding error, and check that your functions leave the arrays passed in unchanged
(other nodes of a graph may still use them).
"""


def mul_backward(a, b, grad):
    """Exercise 0.1. y = a * b (elementwise, same shapes). Given grad = dL/dy,
    return (dL/da, dL/db)."""
    raise NotImplementedError("Exercise 0.1: mul_backward")


def matmul_backward(a, b, grad):
    """Exercise 0.2. Y = A @ B with A (n, k) and B (k, m). Given grad = dL/dY (n, m),
    return (dL/dA, dL/dB), shaped like A and B."""
    raise NotImplementedError("Exercise 0.2: matmul_backward")


def unbroadcast(grad, shape):
    """Exercise 0.3. An operand of shape ``shape`` was broadcast to grad.shape (a bias
    (C,) added to (N, C), say). Return its gradient: grad summed back to ``shape``.
    (NumPy lines the two shapes up from the right: (3, 1) broadcast to (2, 3, 3) gained
    a new axis in front and was stretched along its last axis.)"""
    raise NotImplementedError("Exercise 0.3: unbroadcast")


def tanh_backward(y, grad):
    """Exercise 0.4. y = tanh(x). Given the *output* y and grad = dL/dy, return dL/dx.
    (Why is the output enough?)"""
    raise NotImplementedError("Exercise 0.4: tanh_backward")


def second_derivative(f, x):
    """Exercise 0.5. f maps a minigan Tensor to a Tensor elementwise (like tanh).
    Return f''(x) at every element of the NumPy array x, as a NumPy array of x's shape,
    using minigan.grad twice (the first time with create_graph=True)."""
    raise NotImplementedError("Exercise 0.5: second_derivative")
