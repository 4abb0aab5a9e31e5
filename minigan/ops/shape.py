"""Operations that move, select or combine elements without changing their values.

Their backward passes only route gradients back to where each element came from:
a reshape is undone by a reshape, a transpose by the inverse transpose, a
broadcast by a sum, and indexing by scattering into zeros.
"""
import operator

import numpy

from minigan.autograd import Function, Tensor


# --- broadcasting ------------------------------------------------------------------------
def _sum_to_shape(array, shape):
    """Sum ``array`` over the axes that broadcasting added or stretched to reach its shape."""
    lead = array.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and array.shape[lead + i] != 1)
    axes = tuple(range(lead)) + stretched
    if axes:
        array = array.sum(axis=axes, keepdims=True)
    return array.reshape(shape) if lead else array


class SumTo(Function):
    """y = x summed over broadcast axes so that y.shape == shape (the adjoint of broadcast_to)."""

    def __init__(self, shape):
        self.shape = shape

    @classmethod
    def name(cls):
        return "sum_to"

    def forward(self, xp, x):
        self.input_shape = x.shape
        return _sum_to_shape(x, self.shape)

    def backward(self, grad, needs_input_grad):
        return broadcast_to(grad, self.input_shape)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: how a broadcast operand's gradient is un-broadcast."""
    shape = tuple(shape)
    return x if x.shape == shape else SumTo.apply(x, shape=shape)


class BroadcastTo(Function):
    """y = x repeated along new or size-1 axes to ``shape`` (NumPy's broadcasting rules)."""

    def __init__(self, shape):
        self.shape = shape

    @classmethod
    def name(cls):
        return "broadcast_to"

    def forward(self, xp, x):
        self.input_shape = x.shape
        return xp.broadcast_to(x, self.shape)

    def backward(self, grad, needs_input_grad):
        return sum_to(grad, self.input_shape)


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` (a view in the forward pass)."""
    shape = tuple(shape)
    return x if x.shape == shape else BroadcastTo.apply(x, shape=shape)


# --- reshaping and transposing -----------------------------------------------------------
class Reshape(Function):
    """y = x with the same elements in row-major order and a new shape."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, xp, x):
        self.input_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, grad, needs_input_grad):
        return reshape(grad, self.input_shape)


def reshape(x, *shape):
    """``x`` with a new shape of the same size; one dimension may be -1 (inferred)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        shape = tuple(map(operator.index, shape))   # ints only: 2.5 must not become 2
    except TypeError:
        raise TypeError(f"reshape: the new shape must be ints, got {tuple(shape)}") from None
    if x.shape == shape:
        return x
    if -1 not in shape and int(numpy.prod(shape)) != x.size:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x.size} elements) into shape {shape}")
    return Reshape.apply(x, shape=shape)


class Transpose(Function):
    """y = x with its axes permuted: y.shape[i] == x.shape[axes[i]]."""

    def __init__(self, axes):
        self.axes = axes

    def forward(self, xp, x):
        return x.transpose(self.axes)

    def backward(self, grad, needs_input_grad):
        return transpose(grad, tuple(numpy.argsort(self.axes)))


def transpose(x, *axes):
    """Permute the axes of ``x``; with no axes, reverse them (like NumPy's ``.T``)."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = axes[0]
    if x.ndim == 0:
        return x
    axes_given = tuple(axes)
    try:
        in_range = all(-x.ndim <= a < x.ndim for a in axes)
    except TypeError:   # text, None: checked only when the comparison fails, for speed
        raise TypeError(f"transpose: axes must be ints, got {axes_given}") from None
    axes = tuple(range(x.ndim))[::-1] if not axes else tuple(a % x.ndim for a in axes)
    if not in_range or sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes_given} are not a permutation of the {x.ndim} axes "
                         f"of a tensor of shape {x.shape}")
    return x if axes == tuple(range(x.ndim)) else Transpose.apply(x, axes=axes)


def permute(x, *axes):
    """PyTorch's name for :func:`transpose` with an explicit order of all axes."""
    return transpose(x, *axes)


def _check_axis(op, x, axis, extra=0):
    """Refuse an axis that does not exist (``extra`` = 1 where a new axis may be appended)."""
    bound = x.ndim + extra
    if not isinstance(axis, (int, numpy.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r} (tensor of shape {x.shape})")
    if not -bound <= axis < bound:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of shape {x.shape}")
    return axis % bound if bound else 0


def swapaxes(x, axis1, axis2):
    """Exchange two axes (PyTorch's ``transpose(dim0, dim1)``)."""
    axis1, axis2 = _check_axis("swapaxes", x, axis1), _check_axis("swapaxes", x, axis2)
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim`` to ``end_dim`` (inclusive) into one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = _check_axis("flatten", x, start_dim), _check_axis("flatten", x, end_dim)
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a "
                         f"tensor of shape {x.shape}")
    merged = int(numpy.prod(x.shape[start:end + 1]))
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def unsqueeze(x, dim):
    """Insert an axis of size 1 at ``dim``."""
    dim = _check_axis("unsqueeze", x, dim, extra=1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    """Remove axes of size 1 (only ``dim`` when given)."""
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dim = _check_axis("squeeze", x, dim)
    if x.shape[dim] != 1:
        return x
    return reshape(x, x.shape[:dim] + x.shape[dim + 1:])


# --- indexing ----------------------------------------------------------------------------
def _plain_index(index):
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    return index.data if isinstance(index, Tensor) else index


def _is_basic(index):
    """True for indices made of ints, slices, None and Ellipsis (no element repeats)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, slice, type(None), type(Ellipsis))) for p in parts)


class GetItem(Function):
    """y = x[index], with NumPy's basic and advanced indexing."""

    def __init__(self, index):
        self.index = index

    def forward(self, xp, x):
        self.input_shape = x.shape
        return x[self.index]

    def backward(self, grad, needs_input_grad):
        return IndexAdd.apply(grad, index=self.index, shape=self.input_shape)


def getitem(x, index):
    """``x[index]`` with a gradient that flows back to the selected elements."""
    return GetItem.apply(x, index=_plain_index(index))


class IndexAdd(Function):
    """y = zeros(shape); y[index] += g, adding repeated indices (the adjoint of GetItem)."""

    def __init__(self, index, shape):
        self.index = index
        self.shape = shape

    def forward(self, xp, grad):
        from minigan import backend
        result = xp.zeros(self.shape, dtype=grad.dtype)
        if _is_basic(self.index):
            result[self.index] = grad
        else:
            backend.scatter_add(result, self.index, grad)
        return result

    def backward(self, grad, needs_input_grad):
        return getitem(grad, self.index)


# --- joining -----------------------------------------------------------------------------
class Concatenate(Function):
    """y = the inputs joined along ``axis``; the gradient is split back into pieces."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, xp, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        return xp.concatenate(arrays, axis=self.axis)

    def backward(self, grad, needs_input_grad):
        pieces, start = [], 0
        lead = (slice(None),) * (self.axis % grad.ndim)
        for size in self.sizes:
            pieces.append(getitem(grad, lead + (slice(start, start + size),)))
            start += size
        return tuple(pieces)


def concatenate(tensors, axis=0):
    """Join tensors of equal shape except along ``axis`` (PyTorch: ``cat``)."""
    tensors = _tensor_sequence("concatenate", tensors)
    shapes = [t.shape for t in tensors]
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1 and all(d.kind == "f" for d in dtypes):
        raise TypeError(f"concatenate: dtype mismatch, {sorted(str(d) for d in dtypes)}; "
                        f"convert the tensors with .float() or .double() first")
    if len({len(s) for s in shapes}) != 1:
        raise ValueError(f"concatenate: tensors must have the same number of dimensions, "
                         f"got shapes {shapes}")
    if tensors[0].ndim == 0:
        raise ValueError(f"concatenate: 0-dimensional tensors have no axis to join along; "
                         f"use stack, got shapes {shapes}")
    return Concatenate.apply(*tensors, axis=_check_axis("concatenate", tensors[0], axis))


def _tensor_sequence(op, tensors):
    """``tensors`` as a non-empty list of Tensors, or an error naming ``op``."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a sequence of Tensors, got one Tensor of shape "
                        f"{tensors.shape}; write {op}([a, b, ...])")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of Tensors, got none")
    wrong = [f"{i}: {type(t).__name__}" for i, t in enumerate(tensors) if not isinstance(t, Tensor)]
    if wrong:
        raise TypeError(f"{op}: every item must be a Tensor, got {', '.join(wrong)}")
    return tensors


def stack(tensors, axis=0):
    """Join tensors of the same shape along a new axis ``axis``."""
    tensors = _tensor_sequence("stack", tensors)
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1 and all(d.kind == "f" for d in dtypes):
        raise TypeError(f"stack: dtype mismatch, {sorted(str(d) for d in dtypes)}; "
                        f"convert the tensors with .float() or .double() first")
    if len({t.shape for t in tensors}) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got "
                         f"{[t.shape for t in tensors]}")
    axis = _check_axis("stack", tensors[0], axis, extra=1)
    return concatenate([unsqueeze(t, axis) for t in tensors], axis=axis)


# --- dtype -------------------------------------------------------------------------------
class AsType(Function):
    """y = x converted to ``dtype``; the gradient is converted back."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, xp, x):
        self.input_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, grad, needs_input_grad):
        return astype(grad, self.input_dtype)


def astype(x, dtype):
    """``x`` converted to ``dtype`` (a no-op when it already has it).

    Between float32 and float64 the conversion is differentiable. To an integer or bool
    dtype it is not (as in PyTorch, ``x.long()`` has no gradient): the result is a new
    constant tensor. Dtypes that do not hold numbers (text, objects) are refused.
    """
    from minigan.creation import _number_dtype   # here: creation imports this module's users
    dtype = _number_dtype(dtype, "astype")
    if x.dtype == dtype:
        return x
    if dtype in _DIFFERENTIABLE or not x.requires_grad:
        return AsType.apply(x, dtype=dtype)
    return Tensor(x.data.astype(dtype))


_DIFFERENTIABLE = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))
