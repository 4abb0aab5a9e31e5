"""Reductions: sum, mean, max, var over some or all axes.

The gradient of a sum is the upstream gradient copied back to every element that
was summed (a broadcast); mean divides by the count; max sends the gradient only
to the elements that were the maximum.
"""
import builtins

import numpy

from minigan.autograd import Function, Tensor
from minigan.ops.shape import broadcast_to, reshape


def _normalize_axis(axis, ndim, op):
    """``axis`` as a sorted tuple of non-negative ints (all axes for None)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(a % builtins.max(ndim, 1) for a in axes))


def _kept_shape(shape, axes):
    """The shape after reducing ``axes`` with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """y = sum of x over ``axes``; dL/dx = dL/dy broadcast back over those axes."""

    def forward(self, xp, x):
        self.input_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        grad = reshape(grad, _kept_shape(self.input_shape, self.axes))
        return broadcast_to(grad, self.input_shape)


class Max(Function):
    """y = max of x over ``axes``; the gradient is shared equally by the elements tied at the max."""

    def forward(self, xp, x):
        self.input_shape = x.shape
        kept = x.max(axis=self.axes, keepdims=True)
        is_max = (x == kept).astype(x.dtype)
        self.share = is_max / is_max.sum(axis=self.axes, keepdims=True)
        return kept if self.keepdims else kept.reshape(
            tuple(n for i, n in enumerate(x.shape) if i not in self.axes))

    def backward(self, grad):
        grad = reshape(grad, _kept_shape(self.input_shape, self.axes))
        return grad * Tensor(self.share)


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (an int, a tuple, or None for all axes)."""
    return Sum.apply(x, axes=_normalize_axis(axis, x.ndim, "sum"), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """The arithmetic mean over ``axis``: sum / count."""
    axes = _normalize_axis(axis, x.ndim, "mean")
    count = int(numpy.prod([x.shape[a] for a in axes]))
    return sum(x, axes, keepdims) * (1.0 / count)


def max(x, axis=None, keepdims=False):
    """The maximum over ``axis``."""
    return Max.apply(x, axes=_normalize_axis(axis, x.ndim, "max"), keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    """The minimum over ``axis``: -max(-x)."""
    _normalize_axis(axis, x.ndim, "min")
    return -max(-x, axis, keepdims)


def var(x, axis=None, keepdims=False, correction=1):
    """The variance sum((x - mean)^2) / (count - correction), as PyTorch's ``var``.

    ``correction=1`` (the default, as in PyTorch) gives the unbiased estimate;
    ``correction=0`` the population variance that batch norm uses.
    """
    axes = _normalize_axis(axis, x.ndim, "var")
    count = int(numpy.prod([x.shape[a] for a in axes]))
    if count <= correction:
        raise ValueError(f"var: {count} value(s) per result is too few for correction="
                         f"{correction} (tensor of shape {x.shape}, axes {axes})")
    centred = x - mean(x, axes, keepdims=True)
    return sum(centred * centred, axes, keepdims) * (1.0 / (count - correction))
