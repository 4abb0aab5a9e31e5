"""A test-only array module as strict as CuPy where NumPy is lenient.

minigan is written once against an array module ``xp``; CI has no GPU, so nothing there
would notice code that only works because ``xp`` happens to be NumPy. This module is an
``xp`` that behaves like CuPy at exactly those places, and computes with NumPy:

* ``numpy.asarray(x)`` and every other implicit conversion to NumPy raise TypeError
  (CuPy refuses them: the data is on the GPU);
* ``float(x)``, ``int(x)``, ``bool(x)`` (an ``if`` on an array) and using ``x`` as an
  index raise TypeError (on CuPy each one silently waits for the GPU; minigan must not
  do that in a training step);
* an operation that mixes a device array with a ``numpy.ndarray`` raises TypeError, as
  CuPy's does; NumPy *scalars* and Python numbers mix freely, as in CuPy;
* ``numpy.*`` functions refuse device arrays (call them on ``xp``);
* ``x.get()``, ``x.item()`` and ``x.tolist()`` are the explicit copies to the host; each
  one adds 1 to :data:`transfers` (read it with :func:`transfer_count`).

Use it through the backend: ``backend.register_device("strict", strict_array)`` then
``backend.set_device("strict")``; ``MINIGAN_DEVICE=strict`` makes tests/conftest.py do
that for the whole test session. The module's functions are NumPy's, looked up by name
(``xp.exp``, ``xp.linalg.eigh``, ``xp.random.default_rng``): their device-array
arguments are unwrapped, NumPy arrays among them refused, and array results wrapped.
"""
import numpy
from numpy.lib.mixins import NDArrayOperatorsMixin

_HINT = "copy to the host explicitly with minigan.backend.to_numpy (or Tensor.numpy())"
transfers = 0   # explicit device-to-host copies so far: .get(), .item(), .tolist()


def transfer_count():
    """How many explicit device-to-host copies were made since the module was imported."""
    return transfers


def _count_transfer():
    global transfers
    transfers += 1


class _DevicePointer:
    """What ``StrictArray.data`` gives, as CuPy's ``MemoryPointer``: an address, not values."""

    def __repr__(self):
        return "<device memory pointer>"


class StrictArray(NDArrayOperatorsMixin):
    """An array "on the device": a NumPy array that will not leave it implicitly."""

    __slots__ = ("_array", "__weakref__")   # CuPy arrays take weak references too

    def __init__(self, array):
        self._array = array

    # --- the explicit ways to the host: counted ---------------------------------------
    def get(self):
        """A NumPy copy on the host (CuPy's ``ndarray.get``)."""
        _count_transfer()
        return self._array.copy()

    def item(self):
        """The one element as a Python number (on CuPy, a copy to the host: explicit)."""
        _count_transfer()
        return self._array.item()

    def tolist(self):
        """The elements as nested Python lists (a copy to the host)."""
        _count_transfer()
        return self._array.tolist()

    @property
    def data(self):
        """CuPy's ``ndarray.data`` is a pointer into GPU memory, not an array (NumPy's is a
        memoryview of the numbers): code that reaches for ``.data`` of a plain array,
        meaning a Tensor's, gets nothing it can compute with."""
        return _DevicePointer()

    # --- the implicit ways to the host: refused ---------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"implicit conversion of a device array to a NumPy array; {_HINT}")

    def _refuse(self, *args):
        raise TypeError(f"a device array used as a Python number or truth value (a hidden "
                        f"wait for the device); compute on xp, or {_HINT} where a number "
                        f"is really needed")

    __float__ = __int__ = __index__ = __bool__ = __complex__ = _refuse

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"numpy.{func.__name__} called on a device array; call "
                        f"xp.{func.__name__} instead, or {_HINT}")

    # --- computing: NumPy on the unwrapped arrays, results wrapped again ---------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        kwargs = _unwrap(kwargs)
        if out is not None:   # in place (x += y): write into the device arrays given
            kwargs["out"] = _unwrap(out)
        result = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __getattr__(self, name):
        if name.startswith("__"):   # never NumPy's __array_interface__ and kin
            raise AttributeError(name)
        value = getattr(self._array, name)
        return _wrapped_function(value) if callable(value) else _wrap(value)

    def __getitem__(self, key):
        return _wrap(self._array[_index(key)])

    def __setitem__(self, key, value):
        self._array[_index(key)] = _unwrap(value)

    def __len__(self):
        return len(self._array)

    def __iter__(self):
        return (_wrap(row) for row in self._array)

    def __copy__(self):
        return StrictArray(self._array.copy())

    def __deepcopy__(self, memo):
        return StrictArray(self._array.copy())

    def __reduce__(self):
        raise TypeError(f"pickling a device array; {_HINT}")

    def __repr__(self):
        return f"strict_array({self._array!r})"


ndarray = StrictArray   # as cupy.ndarray: what backend.array_module recognises


def _unwrap(value):
    """NumPy's view of ``value`` for a call; a NumPy array here is a mix CuPy refuses."""
    if isinstance(value, StrictArray):
        return value._array
    if isinstance(value, numpy.ndarray):
        raise TypeError(f"an operation mixes a NumPy array (shape {value.shape}) with device "
                        f"arrays; move it to the device with xp.asarray first")
    if isinstance(value, (list, tuple)):
        items = [_unwrap(item) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, slice):
        return slice(_unwrap(value.start), _unwrap(value.stop), _unwrap(value.step))
    return value


def _index(key):
    """An index for NumPy: CuPy copies NumPy arrays (and lists) in an index to the device,
    so those are allowed here; device arrays in it are unwrapped."""
    parts = key if isinstance(key, tuple) else (key,)
    parts = tuple(part if isinstance(part, numpy.ndarray) else _unwrap(part) for part in parts)
    return parts if isinstance(key, tuple) else parts[0]


def _wrap(value):
    """``value`` with its arrays on the device (a NumPy scalar result becomes a 0-d array,
    as CuPy's reductions return)."""
    if isinstance(value, (numpy.ndarray, numpy.generic)):
        return StrictArray(numpy.asarray(value))
    if isinstance(value, tuple) and hasattr(value, "_fields"):   # eigh's (eigenvalues, ...)
        return type(value)(*(_wrap(item) for item in value))
    if isinstance(value, (list, tuple)):
        items = [_wrap(item) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, numpy.random.Generator) or type(value).__name__ == "module":
        return _Namespace(value)
    return value


def _wrapped_function(function):
    def call(*args, **kwargs):
        return _wrap(function(*_unwrap(args), **_unwrap(kwargs)))
    call.__name__ = getattr(function, "__name__", "function")
    return call


class _Namespace:
    """NumPy's functions under ``namespace`` (a module or a random Generator), device-style."""

    def __init__(self, namespace):
        self._namespace = namespace

    def __getattr__(self, name):
        value = getattr(self._namespace, name)
        if isinstance(value, type):   # dtypes and classes: xp.float32 is numpy.float32
            return value
        return _wrapped_function(value) if callable(value) else _wrap(value)


def asarray(data, dtype=None):
    """``data`` on the device: a copy from the host, or the device array itself."""
    if isinstance(data, StrictArray):
        return data if dtype is None else StrictArray(data._array.astype(dtype, copy=False))
    if isinstance(data, (list, tuple)) and any(isinstance(item, StrictArray) for item in data):
        raise TypeError("asarray: a list of device arrays; use xp.stack")
    return StrictArray(numpy.array(data, dtype=dtype))   # a copy, as to a GPU's memory


def array(data, dtype=None, copy=True):
    result = asarray(data, dtype)
    return StrictArray(result._array.copy()) if copy else result


def scatter_add(target, index, values):
    """``target[index] += values`` with repeated indices adding (cupyx.scatter_add)."""
    numpy.add.at(target._array, _unwrap(index), _unwrap(values))


def __getattr__(name):
    """Every other name is NumPy's, made to take and return device arrays."""
    return getattr(_Namespace(numpy), name)
