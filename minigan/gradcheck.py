"""Checking gradients against finite differences.

For a function f and a fixed random direction v in its output space, the scalar
s(x) = <v, f(x)> has the gradient ds/dx = v^T J (a vector-Jacobian product), which
is exactly what backward computes. Central differences estimate each component:

    ds/dx_i ~= (s(x + eps e_i) - s(x - eps e_i)) / (2 eps)      (error O(eps^2))

A random v checks every output at once: a wrong Jacobian entry would have to be
orthogonal to v to go unnoticed, which happens with probability zero.

Float32 has about 7 significant digits, too few for eps = 1e-6, so the check
runs in float64.
"""
import numpy

from minigan import backend
from minigan.autograd import Tensor, grad


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


def _projection(output, seed):
    """A fixed random direction v with the shape of ``output``."""
    v = numpy.random.default_rng(seed).standard_normal(output.shape)
    return Tensor(backend.array_module(output.data).asarray(v, dtype=output.dtype))


def _check_inputs(caller, inputs):
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise TypeError(f"{caller}: input {i} must be a Tensor with requires_grad=True")
        if x.dtype != numpy.float64:
            raise TypeError(f"{caller}: input {i} has dtype {x.dtype}; finite differences need "
                            f"float64 (pass dtype='float64' when making the tensor)")


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True):
    """Compare the gradients that backward gives for ``fn`` with central differences.

    Args:
        fn: a function of the tensors in ``inputs`` that returns a Tensor.
        inputs: float64 Tensors with ``requires_grad=True``.
        eps, atol, rtol: step size, and the tolerance |analytic - numerical| <=
            atol + rtol * |numerical| that every element must meet.
        raise_exception: raise ``GradcheckError`` naming the input and the element
            that disagree (the default), or return False.

    Returns:
        True when every element agrees.
    """
    inputs = list(inputs)
    _check_inputs("gradcheck", inputs)
    output = fn(*inputs)
    v = _projection(output, seed)

    def scalar(*xs):
        return float((fn(*xs) * v).sum().item())

    if output.requires_grad:
        analytic = grad((output * v).sum(), inputs, allow_unused=True)
    else:   # nothing depends on the inputs, so every derivative is 0
        analytic = [None] * len(inputs)

    for i, x in enumerate(inputs):
        exact = (numpy.zeros(x.shape) if analytic[i] is None else analytic[i].numpy())
        host = x.numpy().copy()
        estimate = numpy.zeros(x.shape)
        # Evaluated with the graph on: fn may itself take gradients (a gradient penalty).
        for index in numpy.ndindex(*x.shape):
            values = []
            for step in (eps, -eps):
                perturbed = host.copy()
                perturbed[index] += step
                x.data = backend.array_module(x.data).asarray(perturbed)
                values.append(scalar(*inputs))
            estimate[index] = (values[0] - values[1]) / (2 * eps)
        x.data = backend.array_module(x.data).asarray(host)
        error = numpy.abs(exact - estimate)
        allowed = atol + rtol * numpy.abs(estimate)
        if numpy.any(error > allowed):
            worst = numpy.unravel_index(numpy.argmax(error - allowed), x.shape)
            message = (f"gradcheck: input {i} (shape {x.shape}) element {tuple(int(k) for k in worst)}: "
                       f"analytic {exact[worst]:.6g} vs numerical {estimate[worst]:.6g} "
                       f"(|difference| {error[worst]:.3g} > {allowed[worst]:.3g}); "
                       f"{int(numpy.sum(error > allowed))} of {x.size} elements disagree")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True):
    """Check second derivatives: gradcheck of x -> <u, d<v, fn(x)>/dx>.

    The inner gradient is taken with ``create_graph=True``, so this tests that every
    backward on the way is itself correctly differentiable (what a gradient penalty needs).
    """
    inputs = list(inputs)
    _check_inputs("gradgradcheck", inputs)
    v = _projection(fn(*inputs), seed)
    directions = [_projection(x, seed + 1 + i) for i, x in enumerate(inputs)]

    def first_derivative_along_u(*xs):
        output = fn(*xs)
        if not output.requires_grad:
            return (output * 0).sum()
        grads = grad((output * v).sum(), xs, create_graph=True, allow_unused=True)
        total = None
        for g, u in zip(grads, directions):
            if g is not None:
                term = (g * u).sum()
                total = term if total is None else total + term
        return total if total is not None else (output * 0).sum()

    return gradcheck(first_derivative_along_u, inputs, eps, atol, rtol, seed, raise_exception)
