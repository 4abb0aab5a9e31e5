"""Batch normalisation in training mode as one fused operation.

Written as a composition of primitives (mean, subtract, square, sqrt, divide...),
batch norm makes about ten passes over its input forward and more backward. This
Function computes the same thing in a few passes, with the backward in closed form
(derived in chapter 01):

    x_hat = (x - mu) / sqrt(var + eps),   y = x_hat * weight + bias
    d bias   = sum(g)
    d weight = sum(g * x_hat)
    d x      = weight / sqrt(var + eps) * (g - mean(g) - x_hat * mean(g * x_hat))

(sums and means per channel over the batch and spatial axes). The closed form is
made of arrays, so it cannot be differentiated again: when a backward must itself
be recorded (``create_graph=True``), the gradient is instead taken by autograd
through the composition ``batch_norm_composed``, which is exact to any order.

The arithmetic runs on an (M, C) matrix with one column per channel, M = N H W:
a free view of the channels-last arrays that minigan's convolutions return, and
the result is handed back in that layout. Per-channel sums are sums down the
columns, ``columns.sum(axis=0)``, which read memory in order. Memory traffic is the
whole cost (a new (M, C) array costs about as much as a pass over one), so each
formula is spent in as few passes and new arrays as it allows. The passes that
work row by row (subtract the mean, scale and shift) are split over the host's
threads (``backend.in_parts``); the per-channel sums are not, so that every sum
adds its terms in one order. The figures are in benchmarks/README.md ("Why the fast
paths").
"""
from minigan.autograd import Function, Tensor, enable_grad, grad, is_grad_enabled
from minigan.backend import array_module, in_parts
from minigan.ops.reduce import mean
from minigan.ops.elementwise import sqrt
from minigan.ops.shape import reshape


def _channel_columns(array):
    """An (M, C) matrix of an (N, C) or (N, C, H, W) array: one column per channel.

    A view when the channels are the last axis in memory, as minigan's
    convolutions leave them (and the elementwise operations after them keep);
    a copy for a plain (N, C, H, W) array.
    """
    if array.ndim == 2:
        return array
    return array.transpose(0, 2, 3, 1).reshape(-1, array.shape[1])


def _from_channel_columns(columns, shape):
    """The inverse of _channel_columns: an array of ``shape`` (a view, channels last)."""
    if len(shape) == 2:
        return columns
    n, c, h, w = shape
    return columns.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def standardize(x, axes, eps):
    """x_hat = (x - mean) / sqrt(var + eps) over ``axes``, with the population variance.

    Every normalisation layer standardises this way (batch norm over the batch and the
    pixels, layer norm over a sample's last axes, instance norm and AdaIN over each map
    of each sample). Written with primitives and nothing saved in between, so its
    gradient, through the mean and the variance too, is exact to any order.
    """
    centred = x - mean(x, axes, keepdims=True)
    variance = mean(centred * centred, axes, keepdims=True)
    return centred / sqrt(variance + eps)


def batch_norm_composed(x, weight, bias, eps):
    """The fused operation's result from primitives: slower, but differentiable to any order."""
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return standardize(x, axes, eps) * reshape(weight, shape) + reshape(bias, shape)


class BatchNormTraining(Function):
    """y = batch_norm(x) with the batch's statistics; see the module docstring.

    The forward also updates ``running_mean`` and ``running_var`` (arrays, in place)
    when they are given, with the unbiased variance, as PyTorch does.
    """

    def __init__(self, eps, momentum, running_mean=None, running_var=None):
        self.eps, self.momentum = eps, momentum
        self.running_mean, self.running_var = running_mean, running_var

    @classmethod
    def name(cls):
        return "batch_norm"

    def forward(self, xp, x, weight, bias):
        columns = _channel_columns(x)
        count = columns.shape[0]
        batch_mean = columns.sum(axis=0) / count
        self.centred = centred = xp.empty_like(columns)
        in_parts(xp, count, columns.size,
                 lambda a, b: xp.subtract(columns[a:b], batch_mean, out=centred[a:b]))
        # sum_m (x - mu)^2 in one pass, without the (M, C) temporary that
        # (centred * centred).sum(axis=0) would make and read again
        batch_var = xp.einsum("mc,mc->c", self.centred, self.centred) / count
        self.inv_std = 1 / xp.sqrt(batch_var + self.eps)
        if self.running_mean is not None:
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * batch_mean
            self.running_var *= 1 - m
            self.running_var += (m * count / (count - 1)) * batch_var
        # y = x_hat weight + bias = (x - mu) (weight / sqrt(var + eps)) + bias: x_hat
        # itself is never stored, the backward folds 1 / sqrt(var + eps) into its factors
        scale, y = weight * self.inv_std, xp.empty_like(columns)

        def scale_and_shift(a, b):
            xp.multiply(centred[a:b], scale, out=y[a:b])
            y[a:b] += bias

        in_parts(xp, count, columns.size, scale_and_shift)
        return _from_channel_columns(y, x.shape)

    def backward(self, grad_output, needs_input_grad):
        x, weight, bias = self.inputs
        if is_grad_enabled():   # create_graph: differentiate the composition instead
            wanted = [t for t, flag in zip(self.inputs, needs_input_grad) if flag]
            with enable_grad():
                y = batch_norm_composed(x, weight, bias, self.eps)
                found = iter(grad(y, wanted, grad_output, create_graph=True))
            return tuple(next(found) if flag else None for flag in needs_input_grad)
        xp = array_module(grad_output.data)
        g = _channel_columns(grad_output.data)
        centred, inv_std, count = self.centred, self.inv_std, self.centred.shape[0]
        grad_bias = g.sum(axis=0)
        grad_weight = xp.einsum("mc,mc->c", g, centred) * inv_std    # sum(g x_hat)
        # d x = a (g - mean(g) - x_hat mean(g x_hat)), a = weight / sqrt(var + eps),
        # with x_hat mean(g x_hat) = (x - mu) (inv_std mean(g x_hat)): per-channel
        # factors on the saved (x - mu), four passes into one new array.
        per_centred = inv_std * grad_weight / count
        mean_g, a = grad_bias / count, weight.data * inv_std
        grad_x = xp.empty_like(centred)

        def input_gradient(start, stop):
            dx = grad_x[start:stop]
            xp.multiply(centred[start:stop], per_centred, out=dx)
            dx += mean_g
            xp.subtract(g[start:stop], dx, out=dx)
            dx *= a

        in_parts(xp, count, centred.size, input_gradient)
        return (Tensor(_from_channel_columns(grad_x, x.shape)), Tensor(grad_weight),
                Tensor(grad_bias))
