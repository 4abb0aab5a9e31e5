"""Reductions: sum, mean, max, var over some or all axes.

The gradient of a sum is the upstream gradient copied back to every element that
was summed (a broadcast); mean divides by the count; max sends the gradient only
to the elements that were the maximum.
"""
import builtins
import operator

import numpy

from minigan.autograd import Function, Tensor
from minigan.ops.shape import broadcast_to, reshape


def _normalize_axis(axis, ndim, op):
    """``axis`` as a sorted tuple of distinct non-negative ints (all axes for None)."""
    if axis is None:
        return tuple(range(ndim))
    try:
        if isinstance(axis, int):
            axes = (axis,)
        elif isinstance(axis, (tuple, list, range)) or getattr(axis, "ndim", 0) == 1:
            axes = tuple(map(operator.index, axis))
        else:
            axes = (operator.index(axis),)   # a NumPy integer, say
    except TypeError:
        raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, "
                        f"got {axis!r}") from None
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
    axes = tuple(sorted(a % builtins.max(ndim, 1) for a in axes))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis {axis!r} names the same axis twice")
    return axes


def _check_tensor(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}; make one with "
                        f"minigan.tensor(...)")


def _check_not_empty(op, x, axes, what):
    """Refuse a reduction over an axis of size 0: a mean, max or min of no values."""
    if x.size == 0 and any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{op}: the {what} of no values is undefined (tensor of shape {x.shape}, "
                         f"reduced over axes {axes})")


def _kept_shape(shape, axes):
    """The shape after reducing ``axes`` with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _broadcastable(grad, input_shape, axes):
    """The gradient of a reduction, shaped to broadcast back over the reduced ``axes``.

    Broadcasting adds missing axes in front, so when the reduced axes are the leading
    ones (a bias gradient's sum over the batch, a sum of everything) the gradient
    broadcasts as it is; otherwise it gets its reduced axes back with size 1.
    """
    if axes == tuple(range(len(axes))):
        return grad
    return reshape(grad, _kept_shape(input_shape, axes))


class Sum(Function):
    """y = sum of x over ``axes``; dL/dx = dL/dy broadcast back over those axes."""

    def __init__(self, axes, keepdims):
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, xp, x):
        self.input_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad, needs_input_grad):
        return broadcast_to(_broadcastable(grad, self.input_shape, self.axes), self.input_shape)


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (an int, a tuple, or None for all axes); the sum of no values is 0."""
    _check_tensor("sum", x)
    return Sum.apply(x, axes=_normalize_axis(axis, x.ndim, "sum"), keepdims=keepdims)


class Max(Function):
    """y = max of x over ``axes``; the gradient is shared equally by the elements tied at the max."""

    def __init__(self, axes, keepdims):
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, xp, x):
        self.input_shape = x.shape
        kept = x.max(axis=self.axes, keepdims=True)
        is_max = (x == kept).astype(x.dtype)
        self.share = is_max / is_max.sum(axis=self.axes, keepdims=True)
        return kept if self.keepdims else kept.reshape(
            tuple(n for i, n in enumerate(x.shape) if i not in self.axes))

    def backward(self, grad, needs_input_grad):
        return _broadcastable(grad, self.input_shape, self.axes) * Tensor(self.share)


def max(x, axis=None, keepdims=False):
    """The maximum over ``axis``."""
    _check_tensor("max", x)
    axes = _normalize_axis(axis, x.ndim, "max")
    _check_not_empty("max", x, axes, "maximum")
    return Max.apply(x, axes=axes, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """The arithmetic mean over ``axis``: sum / count."""
    _check_tensor("mean", x)
    axes = _normalize_axis(axis, x.ndim, "mean")
    count = int(numpy.prod([x.shape[a] for a in axes]))
    if count == 0:
        _check_not_empty("mean", x, axes, "mean")
    return sum(x, axes, keepdims) * (1.0 / count)


def min(x, axis=None, keepdims=False):
    """The minimum over ``axis``: -max(-x)."""
    _check_tensor("min", x)
    _check_not_empty("min", x, _normalize_axis(axis, x.ndim, "min"), "minimum")
    return -max(-x, axis, keepdims)


def var(x, axis=None, keepdims=False, correction=1):
    """The variance sum((x - mean)^2) / (count - correction), as PyTorch's ``var``.

    ``correction=1`` (the default, as in PyTorch) gives the unbiased estimate;
    ``correction=0`` the population variance that batch norm uses.
    """
    _check_tensor("var", x)
    axes = _normalize_axis(axis, x.ndim, "var")
    count = int(numpy.prod([x.shape[a] for a in axes]))
    if count <= correction:
        raise ValueError(f"var: {count} value(s) per result is too few for correction="
                         f"{correction} (tensor of shape {x.shape}, axes {axes})")
    centred = x - mean(x, axes, keepdims=True)
    return sum(centred * centred, axes, keepdims) * (1.0 / (count - correction))
