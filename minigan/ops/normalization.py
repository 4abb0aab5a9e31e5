"""Batch normalisation in training mode as one fused operation.

Written as a composition of primitives (mean, subtract, square, sqrt, divide...),
batch norm makes about ten passes over its input forward and more backward; the
DCGAN benchmark showed it at 5-8x PyTorch's time. This Function computes the same
thing in a few passes, with the backward in closed form (derived in chapter 01):

    x_hat = (x - mu) / sqrt(var + eps),   y = x_hat * weight + bias
    d bias   = sum(g)
    d weight = sum(g * x_hat)
    d x      = weight / sqrt(var + eps) * (g - mean(g) - x_hat * mean(g * x_hat))

(sums and means per channel over the batch and spatial axes). The closed form is
made of arrays, so it cannot be differentiated again: when a backward must itself
be recorded (``create_graph=True``), the gradient is instead taken by autograd
through the composition ``batch_norm_composed``, which is exact to any order.
"""
from minigan.autograd import Function, Tensor, enable_grad, grad, is_grad_enabled
from minigan.ops.reduce import mean
from minigan.ops.elementwise import sqrt
from minigan.ops.shape import reshape


def _channel_rows(array):
    """A (C, everything else) view of an (N, C) or (N, C, H, W) array.

    Per-channel sums are then sums along a row, which NumPy does fast; for the
    channel-major arrays that minigan's convolutions return this is free.
    """
    if array.ndim == 2:
        return array.T
    return array.transpose(1, 0, 2, 3).reshape(array.shape[1], -1)


def _from_channel_rows(rows, shape):
    """The inverse of _channel_rows, back to ``shape``."""
    if len(shape) == 2:
        return rows.T
    n, c, h, w = shape
    return rows.reshape(c, n, h, w).transpose(1, 0, 2, 3)


def batch_norm_composed(x, weight, bias, eps):
    """The same normalisation from primitives: slower, but differentiable to any order."""
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    centred = x - mean(x, axes, keepdims=True)
    variance = mean(centred * centred, axes, keepdims=True)
    x_hat = centred / sqrt(variance + eps)
    return x_hat * reshape(weight, shape) + reshape(bias, shape)


class BatchNormTraining(Function):
    """y = batch_norm(x) with the batch's statistics; see the module docstring.

    The forward also updates ``running_mean`` and ``running_var`` (arrays, in place)
    when they are given, with the unbiased variance, as PyTorch does.
    """

    def forward(self, xp, x, weight, bias):
        rows = _channel_rows(x)
        count = rows.shape[1]
        batch_mean = rows.mean(axis=1, keepdims=True)
        x_hat = rows - batch_mean
        batch_var = (x_hat * x_hat).mean(axis=1, keepdims=True)
        self.inv_std = 1 / xp.sqrt(batch_var + self.eps)
        x_hat *= self.inv_std
        self.x_hat = x_hat
        if self.running_mean is not None:
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * batch_mean[:, 0]
            self.running_var *= 1 - m
            self.running_var += (m * count / (count - 1)) * batch_var[:, 0]
        y = x_hat * weight[:, None] + bias[:, None]
        return _from_channel_rows(y, x.shape)

    def backward(self, grad_output):
        x, weight, bias = self.inputs
        if is_grad_enabled():   # create_graph: differentiate the composition instead
            wanted = [t for t, flag in zip(self.inputs, self.needs_input_grad) if flag]
            with enable_grad():
                y = batch_norm_composed(x, weight, bias, self.eps)
                found = iter(grad(y, wanted, grad_output, create_graph=True))
            return tuple(next(found) if flag else None for flag in self.needs_input_grad)
        g = _channel_rows(grad_output.data)
        x_hat = self.x_hat
        grad_bias = g.sum(axis=1)
        grad_weight = (g * x_hat).sum(axis=1)
        g_hat = g * weight.data[:, None]
        grad_x = self.inv_std * (g_hat - g_hat.mean(axis=1, keepdims=True)
                                 - x_hat * (g_hat * x_hat).mean(axis=1, keepdims=True))
        return (Tensor(_from_channel_rows(grad_x, x.shape)), Tensor(grad_weight),
                Tensor(grad_bias))
