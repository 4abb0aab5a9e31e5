"""Making tensors: from data, filled with constants, or drawn at random on the current device."""
import operator

import numpy

from minigan import backend
from minigan.autograd import Tensor


# The kinds of NumPy dtype a tensor may hold: bool, signed and unsigned integers, floats.
# Strings, Python objects, complex numbers and dates are refused: no operation computes
# with them, and an object array would fail much later, far from where it was made.
_NUMBER_KINDS = "biuf"
_KIND_NAMES = {"U": "strings", "S": "bytes", "O": "Python objects", "c": "complex numbers",
               "M": "dates", "m": "time spans", "V": "raw records"}


def _number_dtype(dtype, op):
    """``dtype`` as a NumPy dtype, refused unless it holds real numbers or booleans."""
    try:
        dtype = numpy.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"{op}: dtype {dtype!r} is not a NumPy dtype ({error})") from error
    if dtype.kind not in _NUMBER_KINDS:
        raise TypeError(f"{op}: dtype {dtype} ({_KIND_NAMES.get(dtype.kind, 'not numbers')}) is "
                        f"not supported; tensors hold float32/float64 values (or integers and "
                        f"bools as labels and masks)")
    return dtype


def _dtype(dtype, op, floats_only=False):
    """The dtype of a new tensor: float32 by default; ``floats_only`` for random draws."""
    if dtype is None:
        return numpy.dtype(numpy.float32)
    dtype = _number_dtype(dtype, op)
    if floats_only and dtype.kind != "f":
        raise TypeError(f"{op}: draws are float32 or float64, got dtype={dtype}")
    return dtype


def _shape(shape, op):
    """The sizes given as ``f(2, 3)`` or ``f((2, 3))``, as a tuple of ints >= 0.

    Zero is a valid size (an empty tensor); a negative or fractional one is refused here,
    naming the function, rather than by NumPy without saying who asked.
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        sizes = tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"{op}: sizes must be ints, got {shape}") from None
    if any(n < 0 for n in sizes):
        raise ValueError(f"{op}: sizes must be >= 0 (0 makes an empty tensor), got {shape}")
    return sizes


def tensor(data, requires_grad=False, dtype=None):
    """A new leaf Tensor holding a copy of ``data`` on the current device.

    Python numbers and lists of floats become float32 (as in PyTorch); arrays keep
    their dtype (float64 stays float64, integer labels stay integers) unless
    ``dtype`` says otherwise.

    What a tensor may hold: floats (float32, float64, also float16 as data), integers
    and bools, as in PyTorch. Integers and bools are data (labels, masks, indices):
    they cannot require gradients, and the layers refuse them as input (convert with
    ``.float()``). Strings, Python objects (``None``, a dict, a ragged list) and complex
    numbers are refused with a TypeError naming the dtype.
    """
    if isinstance(data, Tensor):
        data = data.data
    is_array = hasattr(data, "dtype") and hasattr(data, "shape")
    if not is_array:
        try:
            probe = numpy.asarray(data)
        except (ValueError, TypeError) as error:   # ragged lists: NumPy cannot make an array
            raise TypeError(f"tensor: cannot make a tensor of {type(data).__name__} data: "
                            f"{error}") from error
        _number_dtype(probe.dtype, "tensor")
        if dtype is None:
            dtype = numpy.float32 if probe.dtype == numpy.float64 else probe.dtype
    else:
        _number_dtype(data.dtype, "tensor")
    if dtype is not None:
        dtype = _number_dtype(dtype, "tensor")
    array = backend.asarray(data, dtype=dtype)
    if array is data or getattr(array, "base", None) is data:
        array = array.copy()
    return Tensor(array, requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros."""
    xp = backend.get_array_module()
    return Tensor(xp.zeros(_shape(shape, "zeros"), dtype=_dtype(dtype, "zeros")),
                  requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones."""
    xp = backend.get_array_module()
    return Tensor(xp.ones(_shape(shape, "ones"), dtype=_dtype(dtype, "ones")),
                  requires_grad=requires_grad)


def full(shape, value, dtype=None, requires_grad=False):
    """A tensor of ``shape`` (a tuple, or one int) with every element equal to ``value``."""
    xp = backend.get_array_module()
    shape = _shape((shape,) if isinstance(shape, int) else (tuple(shape),), "full")
    if isinstance(value, (str, bytes, complex)) or value is None:
        raise TypeError(f"full: value must be a real number, got {value!r}")
    return Tensor(xp.full(shape, value, dtype=_dtype(dtype, "full")),
                  requires_grad=requires_grad)


def _like(x, op):
    """The array of the Tensor ``x`` (a NumPy array's ``.data`` is a raw memory buffer)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}; make one with "
                        f"minigan.tensor(...)")
    return x.data


def zeros_like(x, requires_grad=False):
    """Zeros with the shape and dtype of ``x``."""
    data = _like(x, "zeros_like")
    return Tensor(backend.array_module(data).zeros_like(data), requires_grad=requires_grad)


def ones_like(x, requires_grad=False):
    """Ones with the shape and dtype of ``x``."""
    data = _like(x, "ones_like")
    return Tensor(backend.array_module(data).ones_like(data), requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Samples of the standard normal N(0, 1), from minigan's seeded generator."""
    data = backend.rng().standard_normal(_shape(shape, "randn"),
                                         dtype=_dtype(dtype, "randn", floats_only=True))
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Samples of the uniform distribution on [0, 1), from minigan's seeded generator."""
    data = backend.rng().random(_shape(shape, "rand"),
                                dtype=_dtype(dtype, "rand", floats_only=True))
    return Tensor(data, requires_grad=requires_grad)


def randn_like(x):
    """Standard normal samples with the shape and dtype of ``x``."""
    _like(x, "randn_like")
    return randn(x.shape, dtype=x.dtype)


def arange(*args, dtype=None):
    """Evenly spaced values, as NumPy's ``arange`` (integers stay integers)."""
    if len(args) == 3 and args[2] == 0:
        raise ValueError(f"arange: step must not be 0, got arange{args}")
    if dtype is not None:
        dtype = _number_dtype(dtype, "arange")
    return Tensor(backend.get_array_module().arange(*args, dtype=dtype))
