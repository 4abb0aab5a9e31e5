"""Batch normalisation layers: the learned scale and shift, and the running statistics."""
import numpy

from minigan.creation import ones, zeros
from minigan.nn import functional as F
from minigan.nn.module import Module, Parameter


class BatchNorm(Module):
    """Batch normalisation with a learned scale and shift (the base of BatchNorm1d/2d).

    Per channel c: y = (x - mu_c) / sqrt(var_c + eps) * weight[c] + bias[c].
    In training mode mu_c and var_c come from the batch, and the running estimates
    (buffers, saved in the state_dict but not trained) are updated with ``momentum``;
    in evaluation mode the running estimates are used. See ``functional.batch_norm``.
    """

    expected_ndim, expected_shape = None, None   # set by the subclasses

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        super().__init__()
        self.num_features, self.eps, self.momentum, self.affine = (num_features, eps, momentum,
                                                                   affine)
        self.weight = Parameter(ones(num_features)) if affine else None
        self.bias = Parameter(zeros(num_features)) if affine else None
        self.register_buffer("running_mean", zeros(num_features))
        self.register_buffer("running_var", ones(num_features))
        self.register_buffer("num_batches_tracked", zeros((), dtype=numpy.int64))

    def forward(self, x):
        if x.ndim != self.expected_ndim:
            raise ValueError(f"{type(self).__name__}: expected input of shape "
                             f"{self.expected_shape}, got shape {x.shape}")
        if self.training:
            self.num_batches_tracked.data += 1
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training, momentum=self.momentum, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}")


class BatchNorm1d(BatchNorm):
    """Batch norm of features: x (N, C), statistics over the batch axis."""

    expected_ndim, expected_shape = 2, "(N, C)"


class BatchNorm2d(BatchNorm):
    """Batch norm of feature maps: x (N, C, H, W), statistics over N, H and W per channel."""

    expected_ndim, expected_shape = 4, "(N, C, H, W)"
