"""The kernels of a GAN, with PyTorch's names, signatures and weight layouts.

Everything here is either a primitive from ``minigan.ops`` (conv2d has its own
Functions) or a composition of primitives. Compositions need no hand-written
backward: their gradient, and the gradient of that gradient, follow from the
pieces. That is why batch norm and the losses below are exact to any order.
"""
import weakref

import numpy

from minigan import backend
from minigan.autograd import Tensor, array_of
from minigan.ops import conv as conv_ops
from minigan.ops import elementwise as elementwise_ops
from minigan.ops import linalg as linalg_ops
from minigan.ops import padding as padding_ops
from minigan.ops.normalization import BatchNormTraining, standardize
from minigan.ops import (broadcast_to, getitem, leaky_relu, mean, relu, reshape,
                         sigmoid, softplus, sqrt, tanh, transpose)
from minigan.ops.elementwise import _real_number, as_tensor
from minigan.ops.shape import _check_axis

__all__ = ["linear", "conv2d", "conv_transpose2d", "pad", "interpolate", "pixel_shuffle",
           "pixel_unshuffle", "avg_pool2d",
           "embedding", "batch_norm", "layer_norm", "instance_norm", "adaptive_instance_norm",
           "relu", "leaky_relu", "tanh", "sigmoid", "softplus", "dropout",
           "binary_cross_entropy_with_logits", "binary_cross_entropy", "mse_loss", "log_softmax",
           "softmax", "cross_entropy"]


_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def _pair(value, name, op, minimum=None):
    """``value``, an int or a pair of ints (a kernel size, a stride), as a pair of ints.

    With ``minimum``, each must be at least that: 1 for kernel sizes and strides (a
    stride of 0 never moves, a kernel of size 0 sees nothing), 0 for paddings.
    """
    try:
        pair = (value, value) if isinstance(value, (int, numpy.integer)) else tuple(value)
        whole = len(pair) == 2 and all(not isinstance(v, str) and int(v) == v for v in pair)
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    pair = tuple(int(v) for v in pair)
    if minimum is not None and min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return pair


def _expect_4d(op, x, what="input"):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected {what} of shape (N, C, H, W), got shape {x.shape}")


def _to_dtype_hint(dtype, name="x"):
    """How to convert ``name`` to ``dtype``: PyTorch's ``.float()`` / ``.double()``."""
    method = {"float32": "float()", "float64": "double()"}.get(str(dtype), f"astype('{dtype}')")
    return f"{name}.{method}"


def _check_input(op, x, weight=None, what="input", weight_what="the weight"):
    """Refuse an input that a layer cannot compute with, naming ``op`` and the fix.

    ``x`` must be a Tensor with the dtype of ``weight`` (any float32 or float64 when
    there is no weight; ``weight_what`` names it in the message). An integer or bool
    input is refused, as PyTorch refuses it ("expected scalar type Float"), instead of
    being computed in float64 behind the caller's back; so is a float64 input to a
    float32 layer. One isinstance and one dtype comparison: cheap enough to run on
    every call.
    """
    expected = weight.dtype if weight is not None else None
    if isinstance(x, Tensor) and (x.dtype == expected if expected is not None
                                  else x.dtype in _FLOATS):
        return
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor as {what}, got {type(x).__name__}; make one "
                        f"with minigan.tensor(...)")
    name, phrase = ("x", "the input") if what == "input" else (what, what)
    if expected is None:
        raise TypeError(f"{op}: {what} must be float32 or float64, got dtype {x.dtype}; "
                        f"convert it with {name}.float()")
    raise TypeError(f"{op}: {what} has dtype {x.dtype} but {weight_what} has dtype {expected}; "
                    f"convert {phrase} with {_to_dtype_hint(expected, name)}")


def _check_bias(op, bias, weight, channels):
    """A bias must be a (channels,) Tensor of the weight's dtype."""
    if bias is None:
        return
    _check_input(op, bias, weight, what="bias")
    if bias.shape != (channels,):
        raise ValueError(f"{op}: bias of shape {bias.shape} does not match weight of shape "
                         f"{weight.shape}: expected ({channels},)")


def _number_in(op, name, value, low, high, low_open=False, high_open=False):
    """A hyperparameter as a float in [low, high] (an end may be open); refused otherwise."""
    value = _real_number(op, name, value)
    above = value > low if low_open else value >= low
    below = True if high is None else (value < high if high_open else value <= high)
    if not (above and below):
        if high is None:
            wanted = f"{'>' if low_open else '>='} {low:g}"
        else:
            wanted = (f"in {'(' if low_open else '['}{low:g}, {high:g}"
                      f"{')' if high_open else ']'}")
        raise ValueError(f"{op}: {name} must be {wanted}, got {value}")
    return value


def linear(x, weight, bias=None):
    """y = x W^T + b, one node of the graph (``minigan.ops.linalg.Linear``).

    Shapes: x (..., in), weight (out, in), bias (out,) -> y (..., out).
    x must have the weight's dtype (an integer input is refused, as in PyTorch).
    """
    _check_input("linear", x, weight)
    return linalg_ops.linear(x, weight, bias)


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation, computed by im2col and one matrix product.

        y[n, o, a, b] = bias[o] + sum_{c, i, j} weight[o, c, i, j] * xpad[n, c, s a + i, s b + j]

    Shapes: x (N, C, H, W), weight (O, C, kh, kw), bias (O,) -> y (N, O, Ho, Wo) with
    Ho = (H + 2 padding - kh) // stride + 1 (likewise Wo). See ``minigan.ops.conv``.

    >>> conv2d(x, weight, stride=2, padding=1).shape   # x (64, 1, 28, 28), weight (64, 1, 4, 4)
    (64, 64, 14, 14)
    """
    stride = _pair(stride, "stride", "conv2d", minimum=1)
    padding = _pair(padding, "padding", "conv2d", minimum=0)
    _check_input("conv2d", x, weight)
    _expect_4d("conv2d", x)
    _expect_4d("conv2d", weight, "weight")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: input of shape {x.shape} has {x.shape[1]} channels, but weight "
                         f"of shape {weight.shape} (out, in, kh, kw) expects {weight.shape[1]}")
    padded = tuple(n + 2 * p for n, p in zip(x.shape[2:], padding))
    if any(k > n for k, n in zip(weight.shape[2:], padded)):
        raise ValueError(f"conv2d: kernel {weight.shape[2]}x{weight.shape[3]} is larger than the "
                         f"padded input {padded[0]}x{padded[1]} (input {x.shape[2]}x{x.shape[3]} "
                         f"with padding {padding})")
    _check_bias("conv2d", bias, weight, weight.shape[0])
    return conv_ops.conv2d(x, weight, stride, padding, bias)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0):
    """The transposed convolution: the adjoint of conv2d with the same weight.

    For every x and y of matching shapes, <conv2d(x, W), y> = <x, conv_transpose2d(y, W)>.
    Each input pixel scatters weight[c_in, :, :, :] times its value into a kh x kw
    patch of the output, patches s pixels apart, summed where they overlap.

    Shapes: x (N, C_in, H, W), weight (C_in, C_out, kh, kw) (PyTorch's layout),
    bias (C_out,) -> y (N, C_out, Ho, Wo) with
    Ho = (H - 1) stride - 2 padding + kh + output_padding (likewise Wo).

    >>> conv_transpose2d(z, weight).shape   # z (64, 100, 1, 1), weight (100, 256, 7, 7)
    (64, 256, 7, 7)
    """
    op = "conv_transpose2d"
    stride = _pair(stride, "stride", op, minimum=1)
    padding = _pair(padding, "padding", op, minimum=0)
    output_padding = _pair(output_padding, "output_padding", op, minimum=0)
    _check_input(op, x, weight)
    _expect_4d(op, x)
    _expect_4d(op, weight, "weight")
    if x.shape[1] != weight.shape[0]:
        raise ValueError(f"{op}: input of shape {x.shape} has {x.shape[1]} channels, but weight "
                         f"of shape {weight.shape} (in, out, kh, kw) expects {weight.shape[0]}")
    if any(not 0 <= q < s for q, s in zip(output_padding, stride)):
        raise ValueError(f"{op}: output_padding {output_padding} must be smaller than the "
                         f"stride {stride}")
    out = tuple((n - 1) * s - 2 * p + k + q for n, s, p, k, q
                in zip(x.shape[2:], stride, padding, weight.shape[2:], output_padding))
    if any(n <= 0 for n in out):
        raise ValueError(f"{op}: the output would be {out[0]}x{out[1]} for input {x.shape} "
                         f"with kernel {weight.shape[2:]} and padding {padding}")
    _check_bias(op, bias, weight, weight.shape[1])
    return conv_ops.conv_transpose2d(x, weight, stride, padding, output_padding, bias)


def pad(x, pad, mode="constant", value=0.0):
    """Pad the last axes of x, with PyTorch's order of the widths: last axis first.

    ``pad`` = (left, right) pads the last axis; (left, right, top, bottom) the last
    two, so for x (N, C, H, W) the result is (N, C, H + top + bottom, W + left + right).
    Longer tuples go on to earlier axes in the same way.

    * ``mode="constant"``: the border is ``value``.
    * ``mode="reflect"``: the border mirrors x about its edge, without repeating the
      edge: a row [1, 2, 3, 4] padded by 2 on both sides is [3, 2, 1, 2, 3, 4, 3, 2].
      Every width must be smaller than its side. CycleGAN pads so before each
      convolution, which keeps the image statistics at the border that zeros would dent.

    The gradient of either mode is exact to any order (``minigan.ops.padding``).

    >>> pad(x, (1, 1, 1, 1), mode="reflect").shape   # x (8, 3, 32, 32)
    (8, 3, 34, 34)
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"pad: expected a Tensor input, got {type(x).__name__}")
    widths_given = tuple(pad)
    if (len(widths_given) % 2 or len(widths_given) // 2 > x.ndim
            or any(int(p) != p or p < 0 for p in widths_given)):
        raise ValueError(f"pad: pad must hold an even number of non-negative ints, at most 2 per "
                         f"axis of the input, got {widths_given!r} for input of shape {x.shape}")
    widths = [(0, 0)] * x.ndim
    for k in range(len(widths_given) // 2):   # (left, right) belongs to the last axis
        widths[x.ndim - 1 - k] = (int(widths_given[2 * k]), int(widths_given[2 * k + 1]))
    if all(before == after == 0 for before, after in widths):
        return x
    if mode == "constant":
        return padding_ops.constant_pad(x, widths, _real_number("pad", "value", value))
    if mode != "reflect":
        raise ValueError(f"pad: mode must be 'constant' or 'reflect', got {mode!r}")
    if value != 0:
        raise ValueError(f"pad: mode 'reflect' takes no value, got value={value!r}")
    for axis, (before, after) in enumerate(widths):
        if max(before, after) >= x.shape[axis]:
            raise ValueError(f"pad: reflect padding ({before}, {after}) of axis {axis} must be "
                             f"smaller than that side, {x.shape[axis]} (input shape {x.shape}, "
                             f"pad {widths_given})")
    return padding_ops.reflect_pad(x, widths)


def interpolate(x, size=None, scale_factor=None, mode="nearest"):
    """Nearest-neighbour upsampling by whole factors: each pixel becomes an sh x sw block.

        y[n, c, i, j] = x[n, c, i // sh, j // sw]

    Give either ``scale_factor`` (an int, or a pair (sh, sw)) or the output ``size``
    (an int or a pair, each a whole multiple of the input's side), as in PyTorch.
    Only ``mode="nearest"`` with integer factors is implemented.

    The gradient sums dL/dy over each block,

        dL/dx[n, c, a, b] = sum_{i < sh, j < sw} g[n, c, sh a + i, sw b + j],

    and needs no hand-written backward: x viewed as (N, C, H, 1, W, 1) is broadcast to
    (N, C, H, sh, W, sw) and reshaped to (N, C, sh H, sw W), and a broadcast's backward
    is exactly that sum over the repeated axes.

    Shapes: x (N, C, H, W) -> y (N, C, sh H, sw W).

    >>> interpolate(x, scale_factor=2).shape   # x (8, 64, 16, 16)
    (8, 64, 32, 32)
    """
    op = "interpolate"
    _expect_4d(op, x)
    if mode != "nearest":
        raise ValueError(f"{op}: only mode='nearest' is implemented, got {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    if size is not None:
        size = _pair(size, "size", op)
        if any(n <= 0 or n % m for n, m in zip(size, x.shape[2:])):
            raise ValueError(f"{op}: size {size} must be a whole multiple of the input's "
                             f"{x.shape[2]}x{x.shape[3]} (input shape {x.shape})")
        factors = tuple(n // m for n, m in zip(size, x.shape[2:]))
    else:
        factors = _pair(scale_factor, "scale_factor", op)
        if any(s < 1 for s in factors):
            raise ValueError(f"{op}: scale_factor must be a positive int, got {scale_factor!r}")
    (sh, sw), (n, c, h, w) = factors, x.shape
    blocks = broadcast_to(reshape(x, (n, c, h, 1, w, 1)), (n, c, h, sh, w, sw))
    return reshape(blocks, (n, c, h * sh, w * sw))


def _shuffle_factor(op, factor):
    """The upscale or downscale factor r of the pixel shuffles: an int >= 1."""
    if isinstance(factor, bool) or not isinstance(factor, (int, numpy.integer)) or factor < 1:
        raise ValueError(f"{op}: the factor must be an int >= 1, got {factor!r}")
    return int(factor)


def pixel_shuffle(x, upscale_factor):
    """Sub-pixel convolution's rearrangement (Shi et al. 2016): r^2 channels become an r x r
    block of pixels, in PyTorch's channel order,

        y[n, c, h r + i, w r + j] = x[n, c r^2 + i r + j, h, w],   0 <= i, j < r.

    A convolution producing C r^2 channels at H x W followed by this gives a C-channel
    image at rH x rW, every output pixel from weights of its own (no checkerboard of
    overlapping transposed-convolution kernels). It moves values and computes nothing, so
    it is a reshape to (N, C, r, r, H, W), a transpose to (N, C, H, r, W, r) and a reshape
    to (N, C, rH, rW): its gradient, and the gradient of that, are the inverse
    rearrangement, with no backward of its own. ``pixel_unshuffle`` undoes it.

    Shapes: x (N, C r^2, H, W) -> y (N, C, r H, r W).

    >>> pixel_shuffle(x, 2).shape   # x (8, 64, 7, 7)
    (8, 16, 14, 14)
    """
    op = "pixel_shuffle"
    _expect_4d(op, x)
    r = _shuffle_factor(op, upscale_factor)
    n, channels, h, w = x.shape
    if channels % (r * r):
        raise ValueError(f"{op}: the input's {channels} channels must be a multiple of "
                         f"upscale_factor^2 = {r * r} (input shape {x.shape})")
    c = channels // (r * r)
    blocks = transpose(reshape(x, (n, c, r, r, h, w)), (0, 1, 4, 2, 5, 3))
    return reshape(blocks, (n, c, h * r, w * r))


def pixel_unshuffle(x, downscale_factor):
    """The inverse of :func:`pixel_shuffle`: each r x r block of pixels becomes r^2 channels,

        y[n, c r^2 + i r + j, h, w] = x[n, c, h r + i, w r + j].

    Shapes: x (N, C, r H, r W) -> y (N, C r^2, H, W).
    """
    op = "pixel_unshuffle"
    _expect_4d(op, x)
    r = _shuffle_factor(op, downscale_factor)
    n, c, height, width = x.shape
    if height % r or width % r:
        raise ValueError(f"{op}: the input's height and width must be multiples of "
                         f"downscale_factor = {r} (input shape {x.shape})")
    h, w = height // r, width // r
    channels = transpose(reshape(x, (n, c, h, r, w, r)), (0, 1, 3, 5, 2, 4))
    return reshape(channels, (n, c * r * r, h, w))


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling: the mean of each kh x kw window, windows ``stride`` apart.

        y[n, c, a, b] = 1 / (kh kw) sum_{i < kh, j < kw} xpad[n, c, s a + i, s b + j]

    with xpad = x with ``padding`` zeros on each side, counted in the mean (PyTorch's
    default, count_include_pad=True). ``stride`` defaults to ``kernel_size``.
    Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = (H + 2 padding - kh) // stride + 1.

    This is conv2d of each channel on its own with the constant kernel 1 / (kh kw):
    the channels are folded into the batch, (N C, 1, H, W), so one convolution with
    one (1, 1, kh, kw) kernel pools them all. The kernel is a constant, so the gradient
    is conv's in its input (each g / (kh kw) spread back over its window), to any order.

    >>> avg_pool2d(x, 2).shape   # x (8, 64, 32, 32)
    (8, 64, 16, 16)
    """
    op = "avg_pool2d"
    _check_input(op, x)   # an average of integers in their own dtype would be truncated
    _expect_4d(op, x)
    kernel = _pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else _pair(stride, "stride", op)
    padding = _pair(padding, "padding", op)
    if min(kernel) < 1 or min(stride) < 1:
        raise ValueError(f"{op}: kernel_size {kernel} and stride {stride} must be positive")
    if any(not 0 <= p <= k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}: a "
                         f"window of padding alone would average zeros only")
    padded = tuple(n + 2 * p for n, p in zip(x.shape[2:], padding))
    if any(k > n for k, n in zip(kernel, padded)):
        raise ValueError(f"{op}: kernel {kernel[0]}x{kernel[1]} is larger than the padded input "
                         f"{padded[0]}x{padded[1]} (input shape {x.shape}, padding {padding})")
    n, c, h, w = x.shape
    xp = backend.array_module(x.data)
    mean_kernel = Tensor(xp.full((1, 1) + kernel, 1.0 / (kernel[0] * kernel[1]), dtype=x.dtype))
    y = conv_ops.conv2d(reshape(x, (n * c, 1, h, w)), mean_kernel, stride, padding)
    return reshape(y, (n, c) + y.shape[2:])


def embedding(indices, weight):
    """A lookup table: each index picks one row of ``weight``.

        y[..., :] = weight[indices[...], :]      (the same as onehot(indices) @ weight)

    Shapes: indices (...) integers in 0..V-1 (an array or a Tensor), weight (V, D)
    -> y (..., D). The gradient scatters dL/dy back into the rows it came from,
    dL/dweight[v] = sum of g[p] over the positions p with indices[p] = v, so an index
    used twice gets both contributions (getitem's backward, a scatter-add).

    >>> embedding(labels, weight).shape   # labels (64,), weight (10, 50)
    (64, 50)
    """
    op = "embedding"
    xp = backend.array_module(weight.data)
    indices = xp.asarray(array_of(indices))
    if weight.ndim != 2:
        raise ValueError(f"{op}: weight must be (num_embeddings, embedding_dim), got shape "
                         f"{weight.shape}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got dtype {indices.dtype} (indices "
                        f"shape {tuple(indices.shape)})")
    low, high = backend.value_range(indices) if indices.size else (0, -1)
    if low < 0 or high >= weight.shape[0]:
        raise IndexError(f"{op}: indices must lie in 0..{weight.shape[0] - 1} (num_embeddings "
                         f"= {weight.shape[0]}), got {low}..{high} "
                         f"(indices shape {tuple(indices.shape)}, weight shape {weight.shape})")
    return getitem(weight, indices)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over the batch (and spatial) axes, per channel c:

        y = (x - mu_c) / sqrt(sigma2_c + eps) * weight[c] + bias[c]

    In training, mu_c and sigma2_c are the mean and (biased) variance of the batch,
    and the running statistics are updated in place:

        running_mean <- (1 - momentum) running_mean + momentum mu_c
        running_var  <- (1 - momentum) running_var  + momentum sigma2_c m / (m - 1)

    with m the number of values per channel (the unbiased variance, as in PyTorch).
    In evaluation, the running statistics replace mu_c and sigma2_c.

    Shapes: x (N, C) or (N, C, H, W); running_mean, running_var, weight, bias (C,).
    Training mode runs as one fused operation (``minigan.ops.normalization``) whose
    gradient flows through the batch statistics, to any order.
    """
    reference = next((t for t in (weight, running_mean) if t is not None), None)
    _check_input("batch_norm", x, reference)
    if x.ndim not in (2, 4):
        raise ValueError(f"batch_norm: expected input of shape (N, C) or (N, C, H, W), "
                         f"got shape {x.shape}")
    eps = _number_in("batch_norm", "eps", eps, 0, None)
    momentum = _number_in("batch_norm", "momentum", momentum, 0, 1)
    channels = x.shape[1]
    stat_shape = (1, channels) + (1,) * (x.ndim - 2)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ValueError(f"batch_norm: {name} has shape {t.shape} but the input {x.shape} "
                             f"has {channels} channels")
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"batch_norm: {name} has dtype {t.dtype} but the input has dtype "
                            f"{x.dtype}")
    if training:
        if channels == 0 or x.size // channels < 2:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {x.shape} (the variance of one "
                             f"value is 0; use a larger batch, or .eval() to normalise with "
                             f"the running statistics)")
        xp = backend.array_module(x.data)
        weight = weight if weight is not None else Tensor(xp.ones(channels, dtype=x.dtype))
        bias = bias if bias is not None else Tensor(xp.zeros(channels, dtype=x.dtype))
        return BatchNormTraining.apply(
            x, weight, bias, eps=eps, momentum=momentum,
            running_mean=None if running_mean is None else running_mean.data,
            running_var=None if running_var is None else running_var.data)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
    x_hat = (x - reshape(running_mean, stat_shape)) / sqrt(reshape(running_var, stat_shape) + eps)
    if weight is not None:
        x_hat = x_hat * reshape(weight, stat_shape)
    if bias is not None:
        x_hat = x_hat + reshape(bias, stat_shape)
    return x_hat


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation (Ba et al. 2016): standardise each sample over its last axes.

    With the k = len(normalized_shape) last axes of x as one group per sample,

        y = (x - mu) / sqrt(sigma2 + eps) * weight + bias,

    mu and sigma2 the mean and (population) variance of that group. Each sample is
    normalised on its own, so unlike batch norm the output for one sample does not
    depend on the others: what a critic trained with a gradient penalty needs, since
    the penalty takes each sample's gradient separately (Gulrajani et al. 2017).

    Shapes: x (..., *normalized_shape); weight, bias normalized_shape (elementwise).

    >>> layer_norm(x, (64,)).shape        # x (8, 64): each row has mean 0, variance ~1
    (8, 64)
    """
    _check_input("layer_norm", x, weight)
    normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                        else tuple(normalized_shape))
    eps = _number_in("layer_norm", "eps", eps, 0, None)
    k = len(normalized_shape)
    if k == 0 or x.shape[x.ndim - k:] != normalized_shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} must end in normalized_shape "
                         f"{normalized_shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != normalized_shape:
            raise ValueError(f"layer_norm: {name} has shape {t.shape}, expected "
                             f"normalized_shape {normalized_shape}")
    if bias is not None:
        _check_input("layer_norm", bias, x, what="bias", weight_what="the input")
    y = standardize(x, tuple(range(x.ndim - k, x.ndim)), eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalisation (Ulyanov et al. 2016): standardise each channel of each sample.

    For sample n and channel c, over the spatial axes (H, W):

        y[n, c] = (x[n, c] - mu_nc) / sqrt(sigma2_nc + eps) * weight[c] + bias[c],

    mu_nc and sigma2_nc the mean and (population) variance of that one feature map.
    With ``running_mean``/``running_var`` given and ``use_input_stats``, they are
    updated in place with the batch's average statistics, as PyTorch does:

        running_mean <- (1 - momentum) running_mean + momentum mean_n(mu_nc)
        running_var  <- (1 - momentum) running_var  + momentum mean_n(sigma2_nc m / (m - 1))

    with m = H W (the unbiased variance). ``use_input_stats=False`` normalises with the
    running statistics instead (evaluation with ``track_running_stats``).

    Shapes: x (N, C, H, W) (or (N, C, L), any number of spatial axes);
    running_mean, running_var, weight, bias (C,).
    """
    _check_input("instance_norm", x, next((t for t in (weight, running_mean) if t is not None),
                                           None))
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected input of shape (N, C, H, W), got shape "
                         f"{x.shape}")
    eps = _number_in("instance_norm", "eps", eps, 0, None)
    momentum = _number_in("instance_norm", "momentum", momentum, 0, 1)
    channels = x.shape[1]
    stat_shape = (1, channels) + (1,) * (x.ndim - 2)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ValueError(f"instance_norm: {name} has shape {t.shape} but the input "
                             f"{x.shape} has {channels} channels")
    spatial = tuple(range(2, x.ndim))
    if use_input_stats:
        count = x.size // (x.shape[0] * channels)
        if count < 2:
            raise ValueError(f"instance_norm: expected more than 1 spatial element per "
                             f"channel, got input of shape {x.shape}")
        y = standardize(x, spatial, eps)
        if running_mean is not None and running_var is not None:
            data = x.data
            m = momentum
            running_mean.data *= 1 - m
            running_mean.data += m * data.mean(axis=spatial).mean(axis=0)
            running_var.data *= 1 - m
            running_var.data += m * data.var(axis=spatial, ddof=1).mean(axis=0)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and "
                             "running_var")
        y = ((x - reshape(running_mean, stat_shape))
             / sqrt(reshape(running_var, stat_shape) + eps))
    if weight is not None:
        y = y * reshape(weight, stat_shape)
    if bias is not None:
        y = y + reshape(bias, stat_shape)
    return y


def adaptive_instance_norm(x, style_scale, style_bias, eps=1e-5):
    """Adaptive instance normalisation (AdaIN; Huang & Belongie 2017), StyleGAN's style input:

        y[n, c] = style_scale[n, c] (x[n, c] - mu_nc) / sqrt(sigma2_nc + eps) + style_bias[n, c]

    with mu_nc and sigma2_nc the mean and (population) variance of feature map (n, c)
    over H and W, as in ``instance_norm``. Each map is standardised, then given the
    mean style_bias[n, c] and the standard deviation about style_scale[n, c]: the
    sample's style, not one weight per channel shared by the batch as in instance norm.

    A composition of primitives, so its gradient, in x and in the style, is exact to
    any order (a gradient penalty through a network that uses it needs the second).

    Shapes: x (N, C, H, W), style_scale (N, C), style_bias (N, C) -> y (N, C, H, W).
    """
    op = "adaptive_instance_norm"
    _check_input(op, x)
    _expect_4d(op, x)
    eps = _number_in(op, "eps", eps, 0, None)
    n, c = x.shape[:2]
    for name, t in (("style_scale", style_scale), ("style_bias", style_bias)):
        _check_input(op, t, x, what=name, weight_what="the input")
        if t.shape != (n, c):
            raise ValueError(f"{op}: {name} has shape {t.shape}, but the input {x.shape} needs "
                             f"one per sample and channel, (N, C) = {(n, c)}")
    if x.shape[2] * x.shape[3] < 2:
        raise ValueError(f"{op}: expected more than 1 spatial element per channel, got input "
                         f"of shape {x.shape}")
    x_hat = standardize(x, (2, 3), eps)
    return x_hat * reshape(style_scale, (n, c, 1, 1)) + reshape(style_bias, (n, c, 1, 1))


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1 / (1 - p).

    The scaling keeps E[y] = x, so nothing changes between training and evaluation
    (where dropout is the identity).
    """
    p = _number_in("dropout", "p", p, 0, 1, high_open=True)
    _check_input("dropout", x)
    if not training or p == 0:
        return x
    xp = backend.array_module(x.data)
    keep = backend.rng().random(x.shape, dtype=numpy.float32) >= p
    scale = xp.asarray(keep, dtype=x.dtype) * (1.0 / (1 - p))
    return x * Tensor(scale)


def _reduce(loss, reduction, op):
    if reduction == "mean":
        if loss.size == 0:
            raise ValueError(f"{op}: got an empty input (shape {loss.shape}); the mean of no "
                             f"losses is undefined (reduction='sum' gives 0)")
        return mean(loss)
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _target(op, x, target, labels=False):
    """The target as a Tensor of the input's shape and dtype.

    A number is one label for every element. An array, or an integer or bool tensor
    (labels 0 and 1), is converted to the input's dtype; a float tensor of the other
    precision is refused, as in the arithmetic operations. ``labels=True`` also refuses
    values outside [0, 1]: a number as it is given, so the usual labels 0 and 1 cost no
    copy from the device.
    """
    _check_input(op, x)
    ndim = target.ndim if hasattr(target, "ndim") else numpy.ndim(target)
    one_label = ndim == 0 and not isinstance(target, Tensor) and not backend.on_device(target)
    if one_label:
        value = _real_number(op, "target", target)
        if labels:
            _check_unit_interval(op, "target", value)
        target = backend.array_module(x.data).full(x.shape, value, dtype=x.dtype)
    target = as_tensor(target, x, op)
    if target.dtype != x.dtype:
        if target.dtype in _FLOATS:
            raise TypeError(f"{op}: target has dtype {target.dtype} but the input has dtype "
                            f"{x.dtype}; convert the target with "
                            f"{_to_dtype_hint(x.dtype, 'target')}")
        target = Tensor(target.data.astype(x.dtype))
    if target.shape != x.shape:
        raise ValueError(f"{op}: target of shape {target.shape} must have the input's shape "
                         f"{x.shape}")
    if labels and not one_label:
        _check_unit_interval(op, "target", target)
    return target


def _check_unit_interval(op, what, values):
    """Refuse values outside [0, 1] (and NaN): probabilities and labels of the cross-entropy.

    ``values`` is a number or a Tensor. A tensor's min and max travel to the host together,
    one copy (on a GPU, one wait). A training loop passes the same target tensors (a batch
    of ones, one of zeros) at every step, so an array found in range is remembered and not
    copied again: the step then makes no copy at all. (An array written into in place after
    its check is not checked again; minigan's own ops never write into a target.)
    """
    if isinstance(values, Tensor):
        if values.size == 0 or _checked_before(values.data):
            return
        low, high = backend.value_range(values.data)
        if low >= 0 and high <= 1:
            _remember_checked(values.data)
    else:
        low = high = values
    if not (low >= 0 and high <= 1):   # written so that NaN (no order) fails too
        shape = f" (shape {values.shape})" if isinstance(values, Tensor) else ""
        raise ValueError(f"{op}: {what} must lie in [0, 1], got values from {low:.6g} to "
                         f"{high:.6g}{shape}" + ("; NaN found" if low != low else ""))


# Arrays found in [0, 1] by _check_unit_interval, by id, held weakly: an entry goes when its
# array is freed, so a new array that reuses the id is never mistaken for a checked one.
_IN_RANGE = weakref.WeakValueDictionary()


def _checked_before(array):
    return _IN_RANGE.get(id(array)) is array


def _remember_checked(array):
    try:
        _IN_RANGE[id(array)] = array
    except TypeError:   # an array type that takes no weak references: checked every time
        pass


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """The cross-entropy between labels t and sigmoid(logits), computed from the logits:

        loss = -[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))] = softplus(x) - t x

    The right-hand side never forms sigmoid(x), so it stays finite and exact for
    logits of +-1e4, where log(sigmoid(x)) would be log(0). Its gradient is
    sigmoid(x) - t. ``target`` may be a number (every label the same) or a tensor; labels
    must lie in [0, 1] (soft labels such as 0.9 are fine): outside, the loss has no
    minimum and training runs away.
    """
    target = _target("binary_cross_entropy_with_logits", logits, target, labels=True)
    return _reduce(elementwise_ops.binary_cross_entropy_with_logits(logits, target), reduction,
                   "binary_cross_entropy_with_logits")


def binary_cross_entropy(probabilities, target, reduction="mean"):
    """loss = -[t log p + (1 - t) log(1 - p)], for probabilities p (a sigmoid's output).

    Each log is clamped at -100, as in PyTorch, so p = 0 or 1 gives a large but
    finite loss. Prefer ``binary_cross_entropy_with_logits``: it is exact where
    this one saturates.

    Probabilities and labels must lie in [0, 1], as in PyTorch: a "probability" of 1.5
    (a logit passed by mistake) makes log(1 - p) undefined and the loss meaningless.
    """
    from minigan.ops import clip, log
    target = _target("binary_cross_entropy", probabilities, target, labels=True)
    _check_unit_interval("binary_cross_entropy", "probabilities (input)", probabilities)
    log_p = clip(log(clip(probabilities, min=1e-44)), min=-100.0)
    log_not_p = clip(log(clip(1 - probabilities, min=1e-44)), min=-100.0)
    return _reduce(-(target * log_p + (1 - target) * log_not_p), reduction, "binary_cross_entropy")


def mse_loss(input, target, reduction="mean"):
    """The mean squared error: mean((input - target)^2)."""
    target = _target("mse_loss", input, target)
    difference = input - target
    return _reduce(difference * difference, reduction, "mse_loss")


def log_softmax(x, axis=-1):
    """log softmax(x)_i = x_i - log sum_j exp(x_j), along ``axis``.

    Computed as x_i - m - log sum_j exp(x_j - m) with m = max_j x_j: the identity holds
    for any constant m, and this one keeps every exp(.) <= 1, so nothing overflows. m is
    detached (a constant), which changes no value and no gradient of any order.
    """
    from minigan.ops import exp, log
    _check_input("log_softmax", x)
    _check_axis("log_softmax", x, axis)
    shifted = x - x.detach().max(axis=axis, keepdims=True)
    return shifted - log(exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x, axis=-1):
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j) along ``axis`` (as exp of log_softmax)."""
    from minigan.ops import exp
    return exp(log_softmax(x, axis))


def cross_entropy(logits, labels, reduction="mean"):
    """The cross-entropy of integer class labels under softmax(logits):

        loss_n = -log softmax(logits_n)_{y_n} = log sum_c exp(logits_nc) - logits_{n y_n}

    Shapes: logits (N, C), labels (N,) integers in 0..C-1 (an array or a Tensor).
    Its gradient in the logits is softmax(logits) - onehot(y).
    """
    _check_input("cross_entropy", logits, what="logits")
    xp = backend.array_module(logits.data)
    labels = array_of(labels)
    labels = labels if hasattr(labels, "dtype") else numpy.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integers (class indices), got dtype "
                        f"{labels.dtype}")
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"cross_entropy: expected logits (N, C) and labels (N,), got shapes "
                         f"{logits.shape} and {labels.shape}")
    if labels.size:   # checked before the move to the device: free for labels on the host
        low, high = backend.value_range(labels)
        if low < 0 or high >= logits.shape[1]:
            raise ValueError(f"cross_entropy: labels must lie in 0..{logits.shape[1] - 1}, "
                             f"got {low}..{high}")
    labels = xp.asarray(labels)
    picked = log_softmax(logits, axis=1)[xp.arange(logits.shape[0]), labels]
    return _reduce(-picked, reduction, "cross_entropy")
