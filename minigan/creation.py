"""Making tensors: from data, filled with constants, or drawn at random on the current device."""
import numpy

from minigan import backend
from minigan.autograd import Tensor


def _dtype(dtype):
    return numpy.dtype(numpy.float32 if dtype is None else dtype)


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def tensor(data, requires_grad=False, dtype=None):
    """A new leaf Tensor holding a copy of ``data`` on the current device.

    Python numbers and lists of floats become float32 (as in PyTorch); arrays keep
    their dtype (float64 stays float64, integer labels stay integers) unless
    ``dtype`` says otherwise.
    """
    if isinstance(data, Tensor):
        data = data.data
    if dtype is None:
        is_array = hasattr(data, "dtype") and hasattr(data, "shape")
        if not is_array:
            probe = numpy.asarray(data)
            dtype = numpy.float32 if probe.dtype == numpy.float64 else probe.dtype
    array = backend.asarray(data, dtype=dtype)
    if array is data or getattr(array, "base", None) is data:
        array = array.copy()
    return Tensor(array, requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros."""
    xp = backend.get_array_module()
    return Tensor(xp.zeros(_shape(shape), dtype=_dtype(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones."""
    xp = backend.get_array_module()
    return Tensor(xp.ones(_shape(shape), dtype=_dtype(dtype)), requires_grad=requires_grad)


def full(shape, value, dtype=None, requires_grad=False):
    """A tensor of ``shape`` with every element equal to ``value``."""
    xp = backend.get_array_module()
    return Tensor(xp.full(tuple(shape), value, dtype=_dtype(dtype)), requires_grad=requires_grad)


def zeros_like(x, requires_grad=False):
    """Zeros with the shape and dtype of ``x``."""
    return Tensor(backend.array_module(x.data).zeros_like(x.data), requires_grad=requires_grad)


def ones_like(x, requires_grad=False):
    """Ones with the shape and dtype of ``x``."""
    return Tensor(backend.array_module(x.data).ones_like(x.data), requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Samples of the standard normal N(0, 1), from minigan's seeded generator."""
    data = backend.rng().standard_normal(_shape(shape), dtype=_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Samples of the uniform distribution on [0, 1), from minigan's seeded generator."""
    data = backend.rng().random(_shape(shape), dtype=_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def randn_like(x):
    """Standard normal samples with the shape and dtype of ``x``."""
    return randn(x.shape, dtype=x.dtype)


def arange(*args, dtype=None):
    """Evenly spaced values, as NumPy's ``arange`` (integers stay integers)."""
    return Tensor(backend.get_array_module().arange(*args, dtype=dtype))
