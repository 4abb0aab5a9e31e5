"""Padding the borders of an array: with a constant, or with the array's own reflection.

``widths`` gives one (before, after) pair per axis of x, as ``numpy.pad`` takes it;
``nn.functional.pad`` turns PyTorch's (left, right, top, bottom) tuple into it.

**Constant padding** puts x inside a larger array filled with ``value``:

    y[b_0 + i_0, b_1 + i_1, ...] = x[i_0, i_1, ...],   y = value in the border.

The border does not depend on x, so dL/dx is the interior of dL/dy, a slice. A slice's
own backward pads with zeros, so gradients of every order follow.

**Reflect padding** mirrors x about its first and last elements, without repeating
them. Along one axis of size n, with b elements before and a after:

    x[b], ..., x[1] | x[0], ..., x[n-1] | x[n-2], ..., x[n-1-a]

so b and a must be smaller than n. It is written as two reversed slices joined to x,
with no backward of its own: a border element is a copy of an interior one, so that
interior element's gradient gets the border's too (getitem's backward adds it, and
concatenate's splits the gradient back into the three pieces). Axes are padded one
after the other, so a corner is the reflection of a reflection, as in ``numpy.pad``.
"""
from minigan.autograd import Function
from minigan.ops.shape import concatenate, getitem


def _interior(widths, padded_shape):
    """The slices that pick x back out of the padded array."""
    return tuple(slice(before, n - after) for (before, after), n in zip(widths, padded_shape))


class Pad(Function):
    """y = x surrounded by ``value``: ``widths[k]`` = (before, after) elements on axis k."""

    def __init__(self, widths, value):
        self.widths = widths
        self.value = value

    def forward(self, xp, x):
        return xp.pad(x, self.widths, mode="constant", constant_values=self.value)

    def backward(self, grad, needs_input_grad):
        return getitem(grad, _interior(self.widths, grad.shape))


def constant_pad(x, widths, value=0.0):
    """``x`` padded with ``value``; no checks (see nn.functional.pad)."""
    return Pad.apply(x, widths=tuple(widths), value=value)


def _reversed_run(first, last):
    """The slice first, first - 1, ..., last (inclusive; a stop of -1 would mean 'the end')."""
    return slice(first, last - 1 if last > 0 else None, -1)


def reflect_pad(x, widths):
    """``x`` padded with its reflection (module docstring); each width < its axis' size."""
    for axis, (before, after) in enumerate(widths):
        n, lead = x.shape[axis], (slice(None),) * axis
        pieces = [x]
        if before:
            pieces.insert(0, getitem(x, lead + (_reversed_run(before, 1),)))
        if after:
            pieces.append(getitem(x, lead + (_reversed_run(n - 2, n - 1 - after),)))
        if len(pieces) > 1:
            x = concatenate(pieces, axis=axis)
    return x
