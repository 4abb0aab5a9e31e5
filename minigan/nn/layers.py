"""The layers with weights (Linear, Maxout, Conv2d, ConvTranspose2d, Embedding), resampling
(Upsample, PixelShuffle, PixelUnshuffle, AvgPool2d), reshaping, Dropout, Sequential.

Each layer is a ``Module`` that owns its Parameters (and buffers) and calls one
function of ``minigan.nn.functional`` in ``forward``; the math lives there, the
state lives here. Names, arguments, weight shapes and default initialisations
are PyTorch's, so a PyTorch model definition reads the same in minigan.

The default initialisation of Linear and the convolutions (PyTorch's) is

    weight ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))   (kaiming_uniform_ with a = sqrt(5))
    bias   ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))

with fan_in read from the weight's shape by :func:`minigan.nn.init.fan_in_and_fan_out`.
"""
import collections
import math
import numbers

from minigan.creation import zeros
from minigan.nn import functional as F
from minigan.nn import init
from minigan.nn.functional import _check_input, _number_in, _pair
from minigan.nn.module import Module, Parameter


def _int_at_least(owner, name, value, minimum=1):
    """A size given to a layer (features, channels, pieces) as an int >= ``minimum``.

    A layer of 0 features is refused: it is nearly always a width computed as 0
    (``width // 16`` of a narrow model), and would fail far from here, if at all.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {value!r} "
                        f"({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value}")
    return int(value)


def _default_init(weight, bias):
    """PyTorch's default for Linear, Conv2d and ConvTranspose2d (see the module docstring)."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


# --- layers with weights -------------------------------------------------------------------
class Linear(Module):
    """y = x W^T + b.

    Shapes: x (..., in_features) -> y (..., out_features);
    weight (out_features, in_features), bias (out_features,).

    >>> Linear(100, 50)(minigan.randn(8, 100)).shape
    (8, 50)
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        in_features = _int_at_least("Linear", "in_features", in_features)
        out_features = _int_at_least("Linear", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(zeros(out_features, in_features))
        self.bias = Parameter(zeros(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _default_init(self.weight, self.bias)

    def forward(self, x):
        _check_input("Linear", x, self.weight)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Maxout(Module):
    """A maxout unit: the largest of k affine pieces (Goodfellow et al. 2013).

        y_j = max_{p < k} (x W_{j,p}^T + b_{j,p})

    A maxout unit is a learned convex piecewise-linear activation; with dropout it
    was the discriminator of the original GAN (240 units x 5 pieces).

    Shapes: x (N, in_features) -> y (N, out_features); ``linear`` holds the
    out_features * pieces affine pieces, piece p of unit j in row j * pieces + p.
    """

    def __init__(self, in_features, out_features, pieces):
        super().__init__()
        pieces = _int_at_least("Maxout", "pieces", pieces)
        out_features = _int_at_least("Maxout", "out_features", out_features)
        self.out_features, self.pieces = out_features, pieces
        self.linear = Linear(in_features, out_features * pieces)

    def forward(self, x):
        _check_input("Maxout", x, self.linear.weight)
        if x.ndim != 2:
            raise ValueError(f"Maxout: expected input of shape (N, in_features), got shape "
                             f"{x.shape}")
        pieces = self.linear(x).reshape(x.shape[0], self.out_features, self.pieces)
        return pieces.max(axis=2)

    def extra_repr(self):
        return f"out_features={self.out_features}, pieces={self.pieces}"


class _Conv(Module):
    """What Conv2d and ConvTranspose2d share: settings, weight, bias, init and repr."""

    padding_mode = "zeros"   # Conv2d may pad otherwise

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                 bias, weight_shape):
        super().__init__()
        name = type(self).__name__
        in_channels = _int_at_least(name, "in_channels", in_channels)
        out_channels = _int_at_least(name, "out_channels", out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size", name, minimum=1)
        self.stride = _pair(stride, "stride", name, minimum=1)
        self.padding = _pair(padding, "padding", name, minimum=0)
        self.output_padding = _pair(output_padding, "output_padding", name, minimum=0)
        if any(q >= s for q, s in zip(self.output_padding, self.stride)):
            raise ValueError(f"{name}: output_padding {self.output_padding} must be smaller "
                             f"than the stride {self.stride}")
        self.weight = Parameter(zeros(*weight_shape, *self.kernel_size))
        self.bias = Parameter(zeros(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _default_init(self.weight, self.bias)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode!r}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_Conv):
    """2-D convolution (cross-correlation), as in PyTorch.

    Shapes: x (N, in_channels, H, W) -> y (N, out_channels, Ho, Wo) with
    Ho = (H + 2 padding - kh) // stride + 1; weight (out_channels, in_channels, kh, kw).

    ``padding_mode`` says what the padding is made of: ``"zeros"`` (the default), or
    ``"reflect"``, the image mirrored about its edge (``F.pad(x, (pw, pw, ph, ph),
    mode="reflect")``, then a convolution without padding, as PyTorch does it).

    >>> Conv2d(1, 64, 4, stride=2, padding=1)(minigan.randn(8, 1, 28, 28)).shape
    (8, 64, 14, 14)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 padding_mode="zeros"):
        if padding_mode not in ("zeros", "reflect"):
            raise ValueError(f"Conv2d: padding_mode must be 'zeros' or 'reflect', got "
                             f"{padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, 0, bias,
                         weight_shape=(out_channels, in_channels))
        self.padding_mode = padding_mode

    def forward(self, x):
        _check_input("Conv2d", x, self.weight)
        if self.padding_mode == "reflect":
            # Checked here, before padding, so that the message shows the caller's shape.
            if x.ndim == 4 and x.shape[1] != self.in_channels:
                raise ValueError(f"Conv2d: input of shape {x.shape} has {x.shape[1]} channels, "
                                 f"but this layer expects in_channels={self.in_channels}")
            (ph, pw) = self.padding
            x = F.pad(x, (pw, pw, ph, ph), mode="reflect")
            return F.conv2d(x, self.weight, self.bias, self.stride, 0)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class ConvTranspose2d(_Conv):
    """The transposed convolution that DCGAN's generator uses to upsample.

    Shapes: x (N, in_channels, H, W) -> y (N, out_channels, Ho, Wo) with
    Ho = (H - 1) stride - 2 padding + kh + output_padding;
    weight (in_channels, out_channels, kh, kw) (note: in before out, as in PyTorch).

    >>> ConvTranspose2d(100, 256, 7)(minigan.randn(8, 100, 1, 1)).shape
    (8, 256, 7, 7)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding,
                         bias, weight_shape=(in_channels, out_channels))

    def forward(self, x):
        _check_input("ConvTranspose2d", x, self.weight)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding)


class Embedding(Module):
    """A table of ``num_embeddings`` learned vectors, looked up by index (``F.embedding``).

    Shapes: indices (...) integers in 0..num_embeddings-1 -> y (..., embedding_dim);
    weight (num_embeddings, embedding_dim), initialised ~ N(0, 1) as in PyTorch.

    >>> Embedding(10, 50)(labels).shape   # labels (64,): a class embedding per sample
    (64, 50)
    """

    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        num_embeddings = _int_at_least("Embedding", "num_embeddings", num_embeddings)
        embedding_dim = _int_at_least("Embedding", "embedding_dim", embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(zeros(num_embeddings, embedding_dim))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)

    def forward(self, indices):
        return F.embedding(indices, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


# --- resampling ------------------------------------------------------------------------------
class Upsample(Module):
    """Nearest-neighbour upsampling by whole factors (``F.interpolate``), as in PyTorch.

    Give ``scale_factor`` (an int or a pair) or the output ``size``, by keyword as a rule:
    in PyTorch's order the first argument is ``size``, so ``Upsample(2)`` asks for a
    2x2 output. Shapes: x (N, C, H, W) -> y (N, C, sh H, sw W). No parameters.

    >>> Upsample(scale_factor=2)(minigan.randn(8, 64, 16, 16)).shape
    (8, 64, 32, 32)
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest"):
        super().__init__()
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size and scale_factor")
        if mode != "nearest":
            raise ValueError(f"Upsample: only mode='nearest' is implemented, got {mode!r}")
        if size is not None:
            _pair(size, "size", "Upsample", minimum=1)
        else:
            _pair(scale_factor, "scale_factor", "Upsample", minimum=1)
        self.size, self.scale_factor, self.mode = size, scale_factor, mode

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode)


class PixelShuffle(Module):
    """Sub-pixel upsampling (``F.pixel_shuffle``), as in PyTorch: C r^2 channels at H x W
    become C channels at rH x rW, y[n, c, h r + i, w r + j] = x[n, c r^2 + i r + j, h, w].
    No parameters; put a convolution to C r^2 channels before it.

    >>> PixelShuffle(2)(minigan.randn(8, 64, 7, 7)).shape
    (8, 16, 14, 14)
    """

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = F._shuffle_factor("PixelShuffle", upscale_factor)

    def forward(self, x):
        return F.pixel_shuffle(x, self.upscale_factor)


class PixelUnshuffle(Module):
    """The inverse of :class:`PixelShuffle` (``F.pixel_unshuffle``): each r x r block of
    pixels becomes r^2 channels. No parameters."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = F._shuffle_factor("PixelUnshuffle", downscale_factor)

    def forward(self, x):
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self):
        shown = (f"size={self.size}" if self.size is not None
                 else f"scale_factor={self.scale_factor}")
        return f"{shown}, mode={self.mode!r}"


class AvgPool2d(Module):
    """Average pooling over kh x kw windows (``F.avg_pool2d``); stride defaults to the kernel.

    Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = (H + 2 padding - kh) // stride + 1.
    No parameters.

    >>> AvgPool2d(2)(minigan.randn(8, 64, 32, 32)).shape
    (8, 64, 16, 16)
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", "AvgPool2d", minimum=1)
        self.stride = (self.kernel_size if stride is None
                       else _pair(stride, "stride", "AvgPool2d", minimum=1))
        self.padding = _pair(padding, "padding", "AvgPool2d", minimum=0)

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


# --- reshaping and regularisation ----------------------------------------------------------
class Flatten(Module):
    """Merge the dimensions start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``; Unflatten(1, (C, H, W)) undoes Flatten."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"Unflatten: dim must be an int, got {dim!r}")
        self.dim = int(dim)
        sizes = tuple(unflattened_size)
        if (not all(isinstance(n, numbers.Integral) and (n >= 1 or n == -1) for n in sizes)
                or sizes.count(-1) > 1):
            raise ValueError(f"Unflatten: unflattened_size must be ints >= 1, with at most one "
                             f"-1 (inferred), got {unflattened_size!r}")
        self.unflattened_size = tuple(int(n) for n in sizes)

    def forward(self, x):
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"Unflatten: dim {self.dim} is out of range for input of shape "
                             f"{x.shape}")
        dim = self.dim % x.ndim
        known = math.prod(n for n in self.unflattened_size if n != -1)
        if (x.shape[dim] % known if -1 in self.unflattened_size else known != x.shape[dim]):
            raise ValueError(f"Unflatten: dimension {self.dim} of the input {x.shape} has size "
                             f"{x.shape[dim]}, which cannot be split into "
                             f"{self.unflattened_size}")
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1/(1-p);
    in evaluation, the identity."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = _number_in("Dropout", "p", p, 0, 1, high_open=True)

    def forward(self, x):
        return F.dropout(x, self.p, training=self.training)

    def extra_repr(self):
        return f"p={self.p}"


# --- containers ------------------------------------------------------------------------------
class Sequential(Module):
    """Modules applied one after another: Sequential(a, b, c)(x) == c(b(a(x))).

    The children are named '0', '1', ... (or by the keys of an OrderedDict), so
    parameters are named '0.weight', '0.bias', ... as in PyTorch.

    >>> netD = Sequential(Linear(784, 256), LeakyReLU(0.2), Linear(256, 1))
    >>> [name for name, _ in netD.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], collections.OrderedDict):
            named = modules[0].items()
        else:
            named = ((str(i), module) for i, module in enumerate(modules))
        for name, module in named:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: item {name} is a {type(module).__name__}, "
                                f"not a Module")
            setattr(self, name, module)

    def forward(self, x):
        for module in self.children():
            x = module(x)
        return x

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def __len__(self):
        return sum(1 for _ in self.children())

    def __iter__(self):
        return self.children()

    def __getitem__(self, index):
        modules = list(self.children())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

