"""Initialisers: fill a weight tensor in place with well-scaled random values.

Training starts from these values, and their *scale* matters: if each layer
multiplies the size of its input by a factor above (below) one, activations
explode (vanish) after a few layers. The rules below pick the spread of the
weights from the layer's **fan-in** (inputs feeding one output) and **fan-out**:

* Glorot/Xavier (2010): Var(w) = gain^2 * 2 / (fan_in + fan_out).
* He/Kaiming (2015):    Var(w) = gain^2 / fan_in, gain = sqrt(2 / (1 + a^2))
  for a leaky ReLU of slope ``a`` (sqrt(2) for a ReLU).
* DCGAN (Radford et al. 2015): every weight ~ N(0, 0.02^2), batch norm scales ~ N(1, 0.02^2)
  (``minigan.models.dcgan_init_``, built on ``normal_`` and ``zeros_`` below).

A uniform distribution on [-b, b] has variance b^2 / 3, so a uniform initialiser
with standard deviation ``std`` uses the bound b = sqrt(3) * std.

Every function works on ``tensor.data`` in place (recording no graph), draws from
minigan's seeded generator (so ``minigan.manual_seed`` makes it reproducible),
and returns the tensor. The trailing underscore marks in-place, as in PyTorch.
"""
import math

from minigan import backend


def _float_tensor(op, tensor):
    """Initialisers fill float weights; anything else is refused by name."""
    dtype = getattr(tensor, "dtype", None)
    if not hasattr(tensor, "data") or dtype is None or dtype.kind != "f":
        of_dtype = "" if dtype is None else f" of dtype {dtype}"
        raise TypeError(f"{op}: expected a float Tensor (a weight), got "
                        f"{type(tensor).__name__}{of_dtype}")


def _assign(tensor, values):
    """Write ``values`` (drawn on the current device) into ``tensor`` wherever it lives."""
    xp = backend.array_module(tensor.data)
    if backend.array_module(values) is not xp:
        values = xp.asarray(backend.to_numpy(values))
    tensor.data[...] = values
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    """Fill ``tensor`` with samples of the uniform distribution on [a, b)."""
    _float_tensor("uniform_", tensor)
    if not float(a) <= float(b):
        raise ValueError(f"uniform_: expected a <= b, got a={a}, b={b}")
    u = backend.rng().random(tensor.shape, dtype=tensor.dtype)
    return _assign(tensor, float(a) + (float(b) - float(a)) * u)


def normal_(tensor, mean=0.0, std=1.0):
    """Fill ``tensor`` with samples of the normal distribution N(mean, std^2)."""
    _float_tensor("normal_", tensor)
    if not float(std) >= 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    z = backend.rng().standard_normal(tensor.shape, dtype=tensor.dtype)
    return _assign(tensor, float(mean) + float(std) * z)


def constant_(tensor, val):
    """Fill ``tensor`` with the number ``val``."""
    tensor.data[...] = val
    return tensor


def zeros_(tensor):
    """Fill ``tensor`` with zeros (the usual bias initialisation)."""
    return constant_(tensor, 0)


def ones_(tensor):
    """Fill ``tensor`` with ones (the usual batch norm scale)."""
    return constant_(tensor, 1)


def fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight, read from its shape the way PyTorch reads it.

    For a weight of shape (d0, d1, k1, k2, ...), with receptive field r = k1 * k2 * ...:
    fan_in = d1 * r and fan_out = d0 * r. That is right for Linear (out, in) and
    Conv2d (out, in, kh, kw). ConvTranspose2d stores its weight as (in, out, kh, kw),
    so this gives it fan_in = out * kh * kw; PyTorch does the same, and we follow it
    so that default initialisations match PyTorch's.
    """
    if len(tensor.shape) < 2:
        raise ValueError(f"fan_in_and_fan_out: needs a tensor with at least 2 dimensions, "
                         f"got shape {tensor.shape}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The factor by which a nonlinearity changes the standard deviation, as in PyTorch.

    linear/conv/sigmoid: 1, tanh: 5/3, relu: sqrt(2),
    leaky_relu with slope a (default 0.01): sqrt(2 / (1 + a^2)).
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv_transpose2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"kaiming: {mode} is 0 for a weight of shape {tuple(tensor.shape)}")
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He initialisation, uniform: U(-b, b) with b = gain * sqrt(3 / fan).

    With PyTorch's layer default a = sqrt(5), gain = sqrt(1/3) and b = 1 / sqrt(fan_in).
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He initialisation, normal: N(0, std^2) with std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def xavier_uniform_(tensor, gain=1.0):
    """Glorot initialisation, uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    if fan_in + fan_out == 0:
        raise ValueError(f"xavier_uniform_: a weight of shape {tuple(tensor.shape)} has no fans")
    bound = float(gain) * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot initialisation, normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    if fan_in + fan_out == 0:
        raise ValueError(f"xavier_normal_: a weight of shape {tuple(tensor.shape)} has no fans")
    return normal_(tensor, 0.0, float(gain) * math.sqrt(2.0 / (fan_in + fan_out)))
