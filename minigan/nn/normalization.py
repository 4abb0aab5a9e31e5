"""Normalisation layers: batch norm (statistics of the batch), layer norm (of each sample)
and instance norm (of each feature map), each with a learned scale and shift; and AdaIN,
instance norm whose scale and shift are computed from a style vector.

Which statistics a layer uses decides what it may be used for. Batch norm mixes the
samples of a batch: one sample's output depends on the others, which is harmless in
a generator but makes a critic's per-sample gradient (the gradient penalty of
WGAN-GP) ill-defined. Layer norm and instance norm normalise each sample on its own,
so they take batch norm's place in such critics.
"""
import numpy

from minigan.creation import ones, zeros
from minigan.nn import functional as F
from minigan.nn.functional import _check_input, _number_in
from minigan.nn.layers import Linear, _int_at_least
from minigan.nn.module import Module, Parameter


def _eps_and_momentum(owner, eps, momentum):
    """A norm layer's eps (> 0: it keeps 1 / sqrt(var + eps) finite for a constant
    channel) and momentum (in [0, 1]: the weight of the newest batch in the running
    statistics). PyTorch's momentum=None, a cumulative average, is not implemented."""
    eps = _number_in(owner, "eps", eps, 0, None, low_open=True)
    if momentum is None:
        raise ValueError(f"{owner}: momentum=None (a cumulative moving average) is not "
                         f"implemented; give a number in [0, 1], e.g. 0.1")
    return eps, _number_in(owner, "momentum", momentum, 0, 1)


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
        name = type(self).__name__
        num_features = _int_at_least(name, "num_features", num_features)
        eps, momentum = _eps_and_momentum(name, eps, momentum)
        self.num_features, self.eps, self.momentum, self.affine = (num_features, eps, momentum,
                                                                   affine)
        self.weight = Parameter(ones(num_features)) if affine else None
        self.bias = Parameter(zeros(num_features)) if affine else None
        self.register_buffer("running_mean", zeros(num_features))
        self.register_buffer("running_var", ones(num_features))
        self.register_buffer("num_batches_tracked", zeros((), dtype=numpy.int64))

    def forward(self, x):
        name = type(self).__name__
        _check_input(name, x, self.running_mean)
        if x.ndim != self.expected_ndim:
            raise ValueError(f"{name}: expected input of shape {self.expected_shape}, got "
                             f"shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: input of shape {x.shape} has {x.shape[1]} channels, but "
                             f"this layer has num_features={self.num_features}")
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


class LayerNorm(Module):
    """Layer normalisation over the last axes, as in PyTorch: see ``functional.layer_norm``.

    y = (x - mu) / sqrt(var + eps) * weight + bias, with mu and var taken over the last
    len(normalized_shape) axes of each sample; weight (ones) and bias (zeros) have
    shape normalized_shape and act elementwise (``elementwise_affine=True``).

    >>> LayerNorm(64)(minigan.randn(8, 64)).shape                 # per row
    (8, 64)
    >>> LayerNorm((64, 7, 7))(minigan.randn(8, 64, 7, 7)).shape   # per image, all channels
    (8, 64, 7, 7)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(_int_at_least("LayerNorm", "normalized_shape", n)
                                      for n in shape)
        if not self.normalized_shape:
            raise ValueError("LayerNorm: normalized_shape must name at least one axis, got ()")
        eps = _number_in("LayerNorm", "eps", eps, 0, None, low_open=True)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(ones(self.normalized_shape)) if elementwise_affine else None
        self.bias = (Parameter(zeros(self.normalized_shape)) if elementwise_affine and bias
                     else None)

    def forward(self, x):
        _check_input("LayerNorm", x, self.weight)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class InstanceNorm2d(Module):
    """Instance normalisation of feature maps, as in PyTorch: see ``functional.instance_norm``.

    Per sample n and channel c, statistics over H and W:
    y[n, c] = (x[n, c] - mu_nc) / sqrt(var_nc + eps) * weight[c] + bias[c].
    PyTorch's defaults: no scale and shift (``affine=False``) and no running statistics
    (``track_running_stats=False``), so training and evaluation compute the same thing.
    With ``track_running_stats=True`` the running estimates are buffers, updated in
    training and used in evaluation, as in batch norm.

    Shapes: x (N, C, H, W) -> y of the same shape.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False):
        super().__init__()
        num_features = _int_at_least("InstanceNorm2d", "num_features", num_features)
        eps, momentum = _eps_and_momentum("InstanceNorm2d", eps, momentum)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features)) if affine else None
        self.bias = Parameter(zeros(num_features)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features))
            self.register_buffer("running_var", ones(num_features))
        else:
            self.running_mean = self.running_var = None

    def forward(self, x):
        _check_input("InstanceNorm2d", x, self.weight if self.affine else self.running_mean)
        if x.ndim != 4:
            raise ValueError(f"InstanceNorm2d: expected input of shape (N, C, H, W), got "
                             f"shape {x.shape}")
        if x.shape[1] != self.num_features:
            # PyTorch only warns when there are no weights to disagree with; a mismatch is
            # still a model built for other inputs, so it is an error here.
            raise ValueError(f"InstanceNorm2d: input of shape {x.shape} has {x.shape[1]} "
                             f"channels, but this layer has num_features={self.num_features}")
        use_input_stats = self.training or not self.track_running_stats
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               use_input_stats=use_input_stats, momentum=self.momentum,
                               eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class AdaIN(Module):
    """Adaptive instance norm with its style projection, as in StyleGAN (Karras et al. 2019):

        (scale, bias) = style(w)          one Linear(style_dim, 2 channels), split in two
        y = adaptive_instance_norm(x, scale, bias)
          = scale[n, c] (x[n, c] - mu_nc) / sqrt(sigma2_nc + eps) + bias[n, c]

    The Linear's bias starts at 1 for the scale half and 0 for the bias half (its weight
    has PyTorch's default initialisation), so at the start the scale is about 1 and the
    bias about 0, and the layer begins close to a plain instance norm; the style then
    learns to move them.

    Shapes: x (N, channels, H, W), w (N, style_dim) -> y (N, channels, H, W).

    >>> AdaIN(512, 64)(minigan.randn(8, 64, 16, 16), minigan.randn(8, 512)).shape
    (8, 64, 16, 16)
    """

    def __init__(self, style_dim, channels, eps=1e-5):
        super().__init__()
        style_dim = _int_at_least("AdaIN", "style_dim", style_dim)
        channels = _int_at_least("AdaIN", "channels", channels)
        eps = _number_in("AdaIN", "eps", eps, 0, None, low_open=True)
        self.style_dim, self.channels, self.eps = style_dim, channels, eps
        self.style = Linear(style_dim, 2 * channels)
        self.style.bias.data[:channels] = 1
        self.style.bias.data[channels:] = 0

    def forward(self, x, w):
        _check_input("AdaIN", x, self.style.weight, what="x")
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"AdaIN: expected x of shape (N, {self.channels}, H, W), got shape "
                             f"{x.shape} (with w of shape {w.shape})")
        _check_input("AdaIN", w, x, what="w", weight_what="x")
        if w.shape != (x.shape[0], self.style_dim):
            raise ValueError(f"AdaIN: expected w of shape (N, style_dim) = "
                             f"{(x.shape[0], self.style_dim)} for x of shape {x.shape}, got "
                             f"shape {w.shape}")
        styles = self.style(w)
        scale, bias = styles[:, :self.channels], styles[:, self.channels:]
        return F.adaptive_instance_norm(x, scale, bias, self.eps)

    def extra_repr(self):
        return f"style_dim={self.style_dim}, channels={self.channels}, eps={self.eps}"
