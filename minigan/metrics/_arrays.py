"""Taking in the feature arrays that the image metrics compare (shared by fid, kid, ...).

The metrics take features as they come: a NumPy or CuPy array, or a minigan Tensor (a
generator's float32 output, pushed through some feature network). They compute in
float64, on the device the features live on. When one set is on the GPU and the other
on the CPU (real-data statistics are often computed once and kept on the host), both
go to the GPU: copying to the device is always possible, and it keeps the heavy
arithmetic there.
"""
import numpy

from minigan import backend
from minigan.autograd import array_of


def _data(array):
    """The array itself, or the array a Tensor holds in ``.data``."""
    return array_of(array)


def common_array_module(*arrays):
    """``cupy`` if any of ``arrays`` lives on the GPU, else ``numpy``."""
    for array in arrays:
        module = backend.array_module(_data(array))
        if module is not numpy:
            return module
    return numpy


def as_float64(array, xp, function="metrics"):
    """``array`` (array or Tensor) as a float64 array of ``xp`` (copied only when needed).

    Values that are not real numbers (text, objects, complex numbers) are refused with a
    TypeError naming ``function``, rather than converted, or half-converted, by NumPy.
    """
    data = _data(array)
    kind = getattr(data, "dtype", None)
    kind = numpy.asarray(data).dtype.kind if kind is None else kind.kind
    if kind not in "biuf":
        raise TypeError(f"{function}: expected an array of numbers, got "
                        f"{type(array).__name__} of dtype kind {kind!r}")
    return xp.asarray(data, dtype=xp.float64)


def number(array):
    """A 0-d array of any device as a Python float: a metric's result, copied to the host."""
    return float(backend.to_numpy(array))


def check_finite(function, name, array, xp):
    """Refuse NaN or infinite values: every metric here would turn them into a NaN result
    that looks like a measurement. One pass, small next to the metric's own work."""
    if not backend.to_numpy(xp.isfinite(array).all()):
        raise ValueError(f"{function}: {name} contains NaN or infinite values (shape "
                         f"{tuple(array.shape)}); check the generator's output")


def feature_pair(function, features_a, features_b, min_samples, why,
                 names=("features_a", "features_b")):
    """Two feature sets as float64 arrays (N, d) and (M, d) of one array module.

    Args:
        function: the public function's name, for the error messages.
        features_a, features_b: the two sets, arrays or Tensors.
        min_samples: the fewest rows each set may have.
        why: what the rows are needed for, to finish the sentence "needs at least
            ``min_samples`` samples per set ..." in the error message.
        names: what the public function calls its two arguments, for the messages.

    Returns:
        (xp, a, b).
    """
    xp = common_array_module(features_a, features_b)
    a, b = as_float64(features_a, xp, function), as_float64(features_b, xp, function)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"{function}: expected {names[0]} (N, d) and {names[1]} (M, d) with "
                         f"the same d, got shapes {a.shape} and {b.shape}")
    if min(len(a), len(b)) < min_samples:
        raise ValueError(f"{function}: needs at least {min_samples} samples per set {why}, got "
                         f"shapes {a.shape} and {b.shape}")
    check_finite(function, names[0], a, xp)
    check_finite(function, names[1], b, xp)
    return xp, a, b


def positive_int(function, name, value):
    """A count (a batch size, a number of subsets) as an int >= 1, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)):
        raise TypeError(f"{function}: {name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{function}: {name} must be >= 1, got {value}")
    return int(value)


def generator(rng):
    """A generator to draw from: ``rng`` itself, a new one seeded with an int, or minigan's
    (the rule of ``minigan.data.toy``, so every ``rng`` argument in minigan means the same)."""
    if rng is None:
        return backend.rng()
    if isinstance(rng, (int, numpy.integer)):
        return numpy.random.default_rng(int(rng))
    return rng
