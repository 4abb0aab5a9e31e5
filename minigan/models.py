"""Ready-made GAN models, built by plain functions so a checkpoint can name how to rebuild them.

``dcgan64_generator`` / ``dcgan64_discriminator`` are the paper's 64x64 DCGAN (for GPU
runs; see their docstrings). ``ConditionalGenerator`` / ``ConditionalDiscriminator``
(chapter 07) and ``InfoGenerator`` / ``InfoDiscriminator`` (chapter 08) wrap the 28x28
pair with a label or a code; ``ResidualBlock`` is the block of CycleGAN's generator. The
28x28 one:

The DCGAN of ``benchmarks/dcgan.py`` (Radford et al. 2015) for 28x28 grey images,
with ``width`` = 64 giving exactly the benchmark's layers:

    generator      z (B, z_dim)
                   -> Unflatten to (B, z_dim, 1, 1)
                   -> ConvTranspose2d(z_dim, 4w, 7, 1, 0) + BatchNorm2d + ReLU   (B, 4w, 7, 7)
                   -> ConvTranspose2d(4w, 2w, 4, 2, 1)    + BatchNorm2d + ReLU   (B, 2w, 14, 14)
                   -> ConvTranspose2d(2w, 1, 4, 2, 1)     + Tanh                 (B, 1, 28, 28)
    discriminator  x (B, 1, 28, 28)
                   -> Conv2d(1, w, 4, 2, 1)   + LeakyReLU(0.2)                   (B, w, 14, 14)
                   -> Conv2d(w, 2w, 4, 2, 1)  + BatchNorm2d + LeakyReLU(0.2)     (B, 2w, 7, 7)
                   -> Flatten -> Linear(2w * 7 * 7, 1)                            (B, 1) logits

Both start from the DCGAN initialisation (``dcgan_init_`` below): weights ~ N(0, 0.02^2),
batch norm scales ~ N(1, 0.02^2), biases 0.

A *spec* is the JSON recipe of a generator, stored in its checkpoint::

    {"factory": "minigan.models:dcgan28_generator", "kwargs": {"z_dim": 100}, "z_dim": 100}

``build(spec)`` imports the module, calls the function with the keyword arguments,
and returns the (freshly initialised) model; load the checkpoint's weights into it.
"""
import importlib

import numpy

from minigan import backend, nn
from minigan.autograd import Tensor, array_of
from minigan.ops import concatenate


def dcgan_init_(module, std=0.02):
    """The DCGAN initialisation of one module; for a whole model, ``model.apply(dcgan_init_)``.

    Following Radford et al. (2015), "all weights were initialized from a zero-centered
    Normal distribution with standard deviation 0.02":

    * Linear, Conv2d, ConvTranspose2d: weight ~ N(0, std^2), bias = 0;
    * BatchNorm1d/2d: weight (the scale gamma) ~ N(1, std^2), bias (beta) = 0.

    Other modules are left as they are. Returns ``module``.
    """
    if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.normalization.BatchNorm) and module.weight is not None:
        nn.init.normal_(module.weight, 1.0, std)
        nn.init.zeros_(module.bias)
    return module


def dcgan28_generator(z_dim=100, width=64):
    """The DCGAN generator: z (B, z_dim) -> images (B, 1, 28, 28) in [-1, 1]."""
    model = nn.Sequential(
        nn.Unflatten(1, (z_dim, 1, 1)),
        nn.ConvTranspose2d(z_dim, 4 * width, 7, 1, 0), nn.BatchNorm2d(4 * width), nn.ReLU(),
        nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.ConvTranspose2d(2 * width, 1, 4, 2, 1), nn.Tanh())
    return model.apply(dcgan_init_)


def dcgan28_discriminator(width=64):
    """The DCGAN discriminator: images (B, 1, 28, 28) -> logits (B, 1)."""
    model = nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))
    return model.apply(dcgan_init_)


def dcgan64_generator(z_dim=100, width=64, channels=3):
    """The DCGAN of Radford et al. at 64x64 (their Figure 1), for GPU runs:

        z (B, z_dim) -> ConvT(z_dim, 8w, 4, 1, 0) -> ConvT(8w, 4w, 4, 2, 1) -> ConvT(4w, 2w, 4, 2, 1)
                     -> ConvT(2w, w, 4, 2, 1) -> ConvT(w, channels, 4, 2, 1) + Tanh
        sides          1 -> 4 -> 8 -> 16 -> 32 -> 64

    with batch norm and ReLU after every layer but the last. ``width`` = 64 gives the
    paper's 512-256-128-64 channels.
    """
    layers = [nn.Unflatten(1, (z_dim, 1, 1))]
    sizes = [z_dim, 8 * width, 4 * width, 2 * width, width]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        stride, padding = (1, 0) if i == 0 else (2, 1)
        layers += [nn.ConvTranspose2d(n_in, n_out, 4, stride, padding), nn.BatchNorm2d(n_out),
                   nn.ReLU()]
    layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers).apply(dcgan_init_)


def dcgan64_discriminator(width=64, channels=3):
    """The 64x64 DCGAN discriminator, the generator's mirror: images (B, channels, 64, 64) ->
    Conv(channels, w) -> Conv(w, 2w) -> Conv(2w, 4w) -> Conv(4w, 8w), each 4x4 stride 2
    (64 -> 32 -> 16 -> 8 -> 4), LeakyReLU(0.2) and batch norm after all but the first, then
    Conv(8w, 1, 4, 1, 0) to one logit per image: (B, 1)."""
    layers, sizes = [], [channels, width, 2 * width, 4 * width, 8 * width]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Conv2d(n_in, n_out, 4, 2, 1))
        if i > 0:
            layers.append(nn.BatchNorm2d(n_out))
        layers.append(nn.LeakyReLU(0.2))
    layers += [nn.Conv2d(8 * width, 1, 4, 1, 0), nn.Flatten()]
    return nn.Sequential(*layers).apply(dcgan_init_)


def one_hot(labels, num_classes, dtype="float32"):
    """onehot[n, c] = 1 if labels[n] == c else 0, as a constant Tensor (N, num_classes).

    ``labels`` is an integer array or Tensor (N,) with values in 0..num_classes-1.
    """
    xp = backend.get_array_module()
    labels = array_of(labels)
    labels = labels if hasattr(labels, "dtype") else numpy.asarray(labels)
    # The range check reads the smallest and largest label before the labels move to the
    # device: free for labels a step drew on the host, one copy for labels on a GPU.
    low, high = backend.value_range(labels) if labels.size else (0, 0)
    labels = xp.asarray(labels)
    if labels.ndim != 1 or low < 0 or high >= num_classes:
        raise ValueError(f"one_hot: expected labels (N,) in 0..{num_classes - 1}, got shape "
                         f"{labels.shape}" + (f" with values {int(low)}..{int(high)}"
                                              if labels.size else ""))
    return Tensor(xp.eye(num_classes, dtype=dtype)[labels])


def _cycling_labels(n, num_classes):
    """0, 1, ..., num_classes - 1, 0, 1, ...: every class in turn (the default request)."""
    return backend.get_array_module().arange(n) % num_classes


class ConditionalGenerator(nn.Module):
    """The DCGAN-28 generator told which class to draw (Mirza & Osindero 2014):

        G(z, y) = dcgan28_generator(concatenate(z, onehot(y)))     z (B, z_dim), y (B,)

    The one-hot label is simply z's last ``num_classes`` inputs. Without ``labels`` it
    draws the classes in turn (0, 1, ..., 9, 0, ...), which is what
    ``python -m minigan sample`` shows.
    """

    def __init__(self, z_dim=100, num_classes=10, width=64):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.net = dcgan28_generator(z_dim + num_classes, width)

    def forward(self, z, labels=None):
        if labels is None:
            labels = _cycling_labels(z.shape[0], self.num_classes)
        return self.net(concatenate([z, one_hot(labels, self.num_classes, z.dtype)], axis=1))


class ConditionalDiscriminator(nn.Module):
    """The DCGAN-28 discriminator shown the class it should judge against:

        D(x, y) = dcgan28 discriminator on concatenate(x, onehot(y) broadcast to 28x28)

    The label enters as ``num_classes`` constant feature maps next to the image (map y is
    all ones, the others zero), so the first convolution sees image and label together:
    a garment of the wrong class is a fake, however real it looks.
    """

    def __init__(self, num_classes=10, width=64, channels=1, side=28):
        super().__init__()
        self.num_classes, self.side = num_classes, side
        self.net = dcgan28_discriminator(width)
        # The first layer sees the image's channels and the label's maps.
        setattr(self.net, "0", nn.Conv2d(channels + num_classes, width, 4, 2, 1).apply(dcgan_init_))

    def forward(self, x, labels):
        if x.ndim != 4 or x.shape[2:] != (self.side, self.side):
            raise ValueError(f"ConditionalDiscriminator: expected images (B, C, {self.side}, "
                             f"{self.side}), got shape {x.shape}")
        xp = backend.array_module(x.data)
        maps = one_hot(labels, self.num_classes, x.dtype).data[:, :, None, None]
        maps = xp.broadcast_to(maps, (x.shape[0], self.num_classes) + x.shape[2:])
        return self.net(concatenate([x, Tensor(xp.ascontiguousarray(maps))], axis=1))


class InfoGenerator(nn.Module):
    """InfoGAN's generator (Chen et al. 2016): the DCGAN-28 generator fed noise and codes,

        G(z, c, u) = dcgan28_generator(concatenate(z, onehot(c), u))

    z ~ N(0, I) of ``z_dim`` (62 in the paper's MNIST model), a categorical code
    c ~ Uniform{0..categories-1} and ``continuous`` codes u ~ U(-1, 1). Nothing tells G
    what the codes mean; the mutual-information term makes it use them. Defaults for a
    plain ``G(z)``: the categories in turn and u = 0.
    """

    def __init__(self, z_dim=62, categories=10, continuous=2, width=64):
        super().__init__()
        self.z_dim, self.categories, self.continuous = z_dim, categories, continuous
        self.net = dcgan28_generator(z_dim + categories + continuous, width)

    def forward(self, z, category=None, continuous=None):
        if category is None:
            category = _cycling_labels(z.shape[0], self.categories)
        if continuous is None:
            continuous = Tensor(backend.array_module(z.data).zeros(
                (z.shape[0], self.continuous), dtype=z.dtype))
        code = [z, one_hot(category, self.categories, z.dtype), continuous]
        return self.net(concatenate(code, axis=1))


class InfoDiscriminator(nn.Module):
    """InfoGAN's discriminator and its Q network, sharing one convolutional trunk:

        h = trunk(x)                         the DCGAN-28 discriminator up to Flatten (B, 6272)
        D's logit       = Linear(6272, 1)(h)
        Q's guess of c  = categorical logits (B, categories)  } from one small head:
        Q's guess of u  = means (B, continuous)               } Linear-BN-LeakyReLU-Linear

    Sharing the trunk makes Q almost free: one forward pass answers both "real?" and
    "which code made this?". ``forward`` returns (logits, category_logits, continuous_means).
    """

    def __init__(self, categories=10, continuous=2, width=64, hidden=128):
        super().__init__()
        self.categories = categories
        layers = list(dcgan28_discriminator(width))
        self.trunk = nn.Sequential(*layers[:-1])     # up to and including Flatten
        self.head = layers[-1]                        # Linear(2w * 7 * 7, 1)
        features = self.head.in_features
        self.q_head = nn.Sequential(nn.Linear(features, hidden), nn.BatchNorm1d(hidden),
                                    nn.LeakyReLU(0.2), nn.Linear(hidden, categories + continuous)
                                    ).apply(dcgan_init_)

    def forward(self, x):
        h = self.trunk(x)
        q = self.q_head(h)
        return self.head(h), q[:, :self.categories], q[:, self.categories:]


def generator_spec(factory, **kwargs):
    """The spec of ``factory(**kwargs)``, a generator taking z of shape (B, kwargs['z_dim'])."""
    if "z_dim" not in kwargs:
        raise ValueError("generator_spec: pass z_dim=..., the size of the generator's input")
    return {"factory": f"{factory.__module__}:{factory.__qualname__}", "kwargs": kwargs,
            "z_dim": kwargs["z_dim"]}


def build(spec):
    """The model that ``spec`` describes: ``module:function`` called with ``spec['kwargs']``.

    A checkpoint names the function, so only load checkpoints you trust: the import
    runs that module's code (far less than unpickling would, but not nothing).
    """
    module_name, _, function_name = spec["factory"].partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    return function(**spec.get("kwargs", {}))


class ResidualBlock(nn.Module):
    """The residual block of Johnson et al. (2016) and CycleGAN's ResNet generator:

        y = x + [pad, conv3x3, norm, ReLU, pad, conv3x3, norm](x)

    Both convolutions keep the channels and, padded by 1, the size, so y has x's shape.
    With CycleGAN's defaults the padding is the image's reflection (``padding_mode``
    "reflect"; "zeros" pads with zeros) and the norm is ``InstanceNorm2d`` ("instance";
    also "batch", or "none"). As in CycleGAN, the convolutions have a bias except before
    batch norm, whose own shift makes it redundant.

    The block learns a correction to x rather than a new image: with the branch at 0
    (its convolution weights zero, say) it is the identity, so a stack of nine stays
    trainable where nine plain layers would have to learn the identity first.

    Shapes: x (N, channels, H, W) -> y (N, channels, H, W).
    """

    def __init__(self, channels, norm="instance", padding_mode="reflect"):
        super().__init__()
        norms = {"instance": nn.InstanceNorm2d, "batch": nn.BatchNorm2d, "none": None}
        if norm not in norms:
            raise ValueError(f"ResidualBlock: norm must be one of {list(norms)}, got {norm!r}")
        self.channels, self.norm, self.padding_mode = channels, norm, padding_mode
        layers = []
        for i in range(2):
            layers.append(nn.Conv2d(channels, channels, 3, padding=1, bias=norm != "batch",
                                    padding_mode=padding_mode))
            if norms[norm] is not None:
                layers.append(norms[norm](channels))
            if i == 0:
                layers.append(nn.ReLU())
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.block(x)

    def extra_repr(self):
        return f"{self.channels}, norm={self.norm!r}, padding_mode={self.padding_mode!r}"


class UNet28(nn.Module):
    """pix2pix's U-Net generator (Isola et al. 2017), cut down to 28x28 images:

        x (B, in_channels, 28, 28)
        e1 = LeakyReLU(Conv(in, w, 4, 2, 1)(x))                    (B, w, 14, 14)
        e2 = LeakyReLU(BN(Conv(w, 2w, 4, 2, 1)(e1)))               (B, 2w, 7, 7)
        b  = ReLU(BN(Conv(2w, 4w, 3, 1, 1)(e2)))                   (B, 4w, 7, 7)    the bottleneck
        d2 = ReLU(BN(ConvT(4w + 2w, w, 4, 2, 1)(cat(b, e2))))      (B, w, 14, 14)
        y  = Tanh(ConvT(w + w, out, 4, 2, 1)(cat(d2, e1)))         (B, out, 28, 28)

    An encoder halves the side twice, a decoder doubles it back, and at each scale the
    decoder's input is its own maps *concatenated* (along the channels) with the
    encoder's maps of the same size: the skip connections. Without them every detail
    of the input would have to squeeze through the 7x7 bottleneck; with them the
    positions of the input's edges reach the last layer directly, and the bottleneck
    only has to say what to draw between them. Each pixel of ``b`` sees an 18x18 patch
    of x, so the decoder knows whether a pixel lies inside a garment's outline.

    As in pix2pix: LeakyReLU(0.2) in the encoder, ReLU in the decoder, no norm on the
    first layer nor on the output, batch norm elsewhere (convolutions before batch norm
    have no bias: its shift does the same). There is no z: the output is a function of
    x alone (pix2pix's noise is dropout, which changed its outputs only a little).
    The DCGAN initialisation (``dcgan_init_``), as in pix2pix's code.

    Shapes: x (B, in_channels, 28, 28) -> y (B, out_channels, 28, 28) in [-1, 1].
    """

    def __init__(self, in_channels=1, out_channels=1, width=32):
        super().__init__()
        w = width
        self.down1 = nn.Sequential(nn.Conv2d(in_channels, w, 4, 2, 1), nn.LeakyReLU(0.2))
        self.down2 = nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),
                                   nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2))
        self.bottleneck = nn.Sequential(nn.Conv2d(2 * w, 4 * w, 3, 1, 1, bias=False),
                                        nn.BatchNorm2d(4 * w), nn.ReLU())
        self.up2 = nn.Sequential(nn.ConvTranspose2d(4 * w + 2 * w, w, 4, 2, 1, bias=False),
                                 nn.BatchNorm2d(w), nn.ReLU())
        self.up1 = nn.Sequential(nn.ConvTranspose2d(w + w, out_channels, 4, 2, 1), nn.Tanh())
        self.apply(dcgan_init_)

    def forward(self, x):
        if x.ndim != 4 or x.shape[2:] != (28, 28):
            raise ValueError(f"UNet28: expected images (B, C, 28, 28), got shape {x.shape}")
        e1 = self.down1(x)
        e2 = self.down2(e1)
        b = self.bottleneck(e2)
        d2 = self.up2(concatenate([b, e2], axis=1))
        return self.up1(concatenate([d2, e1], axis=1))


class PatchDiscriminator28(nn.Module):
    """pix2pix's conditional PatchGAN discriminator, cut down to 28x28 images:

        concatenate(x, y) (B, cx + cy, 28, 28)         the input and an output, as channels
        -> Conv(cx + cy, w, 4, 2, 1) + LeakyReLU(0.2)   (B, w, 14, 14)
        -> Conv(w, 2w, 4, 2, 1) + BN + LeakyReLU(0.2)   (B, 2w, 7, 7)
        -> Conv(2w, 1, 3, 1, 1)                         (B, 1, 7, 7)   a grid of logits

    Each of the 7 x 7 logits judges only the 18 x 18 patch of the pair it sees, and
    neighbouring logits' patches lie 4 pixels apart. (The receptive field: 4 pixels
    after the first layer; 4 + (4 - 1) 2 = 10 after the second, whose input pixels are
    2 apart; 10 + (3 - 1) 4 = 18 after the head, whose input pixels are 4 apart.) Is
    *this patch* of y a real garment's patch, given this patch of x? Averaging the loss
    over the grid asks that of every patch. (pix2pix's 70 x 70 patches are about a
    quarter of its 256 x 256 images' side; a 1x1 head here would give 10 x 10 patches,
    which made the GAN term weaker in our runs: see chapter 11's README.) The first
    layer sees x and y together, so D judges the pair: a sharp garment that ignores
    the input's edges is a fake, as much as a blurred one that follows them.

    Shapes: x (B, cx, 28, 28), y (B, cy, 28, 28) -> logits (B, 1, 7, 7).
    """

    def __init__(self, in_channels=2, width=64):
        super().__init__()
        self.in_channels = in_channels
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 1, 3, 1, 1)).apply(dcgan_init_)

    def forward(self, x, y):
        if x.ndim != 4 or y.ndim != 4 or x.shape[0] != y.shape[0] or x.shape[2:] != y.shape[2:]:
            raise ValueError(f"PatchDiscriminator28: expected x and y (B, C, H, W) of one batch "
                             f"and size, got shapes {x.shape} and {y.shape}")
        if x.shape[1] + y.shape[1] != self.in_channels:
            raise ValueError(f"PatchDiscriminator28: x {x.shape} and y {y.shape} have "
                             f"{x.shape[1] + y.shape[1]} channels together, but this "
                             f"discriminator expects in_channels={self.in_channels}")
        return self.net(concatenate([x, y], axis=1))


class MappingNetwork(nn.Module):
    """StyleGAN's mapping network (Karras et al. 2019): z (B, z_dim) -> w (B, w_dim).

        z' = z / sqrt(mean_j z_j^2 + 1e-8)            each z scaled to length sqrt(z_dim)
        w  = [Linear + LeakyReLU(0.2)] x layers (z')

    The normalisation puts every z on the same sphere, so the MLP never sees an unusually
    long or short z; the MLP then warps the Gaussian into whatever W the synthesis network
    finds easiest to use (W need not be Gaussian: that is the point of having it).
    """

    def __init__(self, z_dim=64, w_dim=64, layers=4):
        super().__init__()
        self.z_dim, self.w_dim = z_dim, w_dim
        modules, width = [], z_dim
        for _ in range(layers):
            linear = nn.Linear(width, w_dim)
            # He's initialisation for LeakyReLU(0.2) keeps the size of w from layer to
            # layer; PyTorch's default shrinks it about threefold per layer, and after
            # four layers every z would give nearly the same w (and G one image).
            nn.init.kaiming_normal_(linear.weight, a=0.2)
            modules += [linear, nn.LeakyReLU(0.2)]
            width = w_dim
        self.net = nn.Sequential(*modules)

    def forward(self, z):
        z = z / ((z * z).mean(axis=1, keepdims=True) + 1e-8).sqrt()
        return self.net(z)


class NoiseInput(nn.Module):
    """StyleGAN's noise input: x + scale[c] * n, with one fresh image n ~ N(0, 1) (B, 1, H, W)
    per sample, shared by the channels, and a learned scale per channel (starting at 0, so
    the noise comes in only as far as training finds it useful). ``noise=False`` in forward
    leaves x as it is (the deterministic generator the truncation test needs)."""

    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Parameter(backend.get_array_module().zeros(channels, dtype="float32"))

    def forward(self, x, noise=True):
        if not noise:
            return x
        from minigan.creation import randn
        n = randn(x.shape[0], 1, x.shape[2], x.shape[3], dtype=x.dtype)
        return x + self.scale.reshape(1, -1, 1, 1) * n


class StyleGenerator32(nn.Module):
    """A small StyleGAN generator for 1-channel 32x32 images (chapter 13):

        w = mapping(z)                                   (B, w_dim), MappingNetwork
        x = learned constant                             (B, c_0, 4, 4)
        for each style layer i:  [upsample x2 (nearest)], conv3x3, + noise, LeakyReLU(0.2),
                                 AdaIN(x, w_i)
        image = tanh(conv1x1(x))                         (B, 1, 32, 32) in [-1, 1]

    ``layers`` lists (upsample first?, channels) per style layer; the default has two
    layers at 4x4, two at 8x8, one at 16x16 and one at 32x32 (channels 64, 64, 64, 64,
    32, 32). Each layer has its own style input w_i; normally all are the same w, and
    style mixing gives the first k layers one w and the rest another (``synthesis``
    takes a list of per-layer w's). ``w_avg`` is a buffer holding the running mean of w
    over training (``update_w_avg``), the centre of the truncation trick
    w' = w_avg + psi (w - w_avg).

    ``forward(z)`` is mapping then synthesis with psi = 1 and fresh noise, so
    ``python -m minigan sample`` can draw from a checkpoint.
    """

    LAYERS = ((False, 64), (False, 64), (True, 64), (False, 64), (True, 32), (True, 32))

    def __init__(self, z_dim=64, w_dim=64, layers=LAYERS, mapping_layers=4):
        super().__init__()
        self.z_dim, self.w_dim = z_dim, w_dim
        self.layers = tuple((bool(up), int(c)) for up, c in layers)
        self.num_layers = len(self.layers)
        self.sides = []
        side = 4
        for up, _ in self.layers:
            side *= 2 if up else 1
            self.sides.append(side)
        if side != 32:
            raise ValueError(f"StyleGenerator32: the layers must upsample 4 to 32, they reach "
                             f"{side}")
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers)
        from minigan.creation import randn
        n_in = self.layers[0][1]
        self.constant = nn.Parameter(randn(1, n_in, 4, 4).data)
        self.register_buffer("w_avg", Tensor(backend.get_array_module().zeros(
            w_dim, dtype="float32")))
        for i, (_, n_out) in enumerate(self.layers):
            setattr(self, f"conv{i}", nn.Conv2d(n_in, n_out, 3, padding=1))
            setattr(self, f"noise{i}", NoiseInput(n_out))
            setattr(self, f"adain{i}", nn.AdaIN(w_dim, n_out))
            n_in = n_out
        self.to_image = nn.Conv2d(n_in, 1, 1)
        self.activation = nn.LeakyReLU(0.2)
        self.upsample = nn.Upsample(scale_factor=2)

    def update_w_avg(self, w, beta=0.995):
        """w_avg <- beta w_avg + (1 - beta) mean_batch(w): a running mean, not trained."""
        self.w_avg.data[...] = beta * self.w_avg.data + (1 - beta) * w.data.mean(axis=0)

    def truncate(self, w, psi):
        """The truncation trick: w' = w_avg + psi (w - w_avg) (psi = 1: w itself)."""
        if psi == 1:
            return w
        centre = self.w_avg.detach().reshape(1, -1)
        return centre + psi * (w - centre)

    def synthesis(self, ws, noise=True):
        """Images (B, 1, 32, 32) from one w (B, w_dim) or a list of one w per layer."""
        if not isinstance(ws, (list, tuple)):
            ws = [ws] * self.num_layers
        if len(ws) != self.num_layers:
            raise ValueError(f"StyleGenerator32: expected {self.num_layers} per-layer styles, "
                             f"got {len(ws)}")
        xp = backend.array_module(ws[0].data)
        x = self.constant * Tensor(xp.ones((ws[0].shape[0], 1, 1, 1), dtype=self.constant.dtype))
        for i, ((up, _), w) in enumerate(zip(self.layers, ws)):
            if up:
                x = self.upsample(x)
            x = getattr(self, f"conv{i}")(x)
            x = self.activation(getattr(self, f"noise{i}")(x, noise))
            x = getattr(self, f"adain{i}")(x, w)
        return self.to_image(x).tanh()

    def forward(self, z, psi=1.0, noise=True):
        return self.synthesis(self.truncate(self.mapping(z), psi), noise)


class StyleDiscriminator32(nn.Module):
    """The discriminator of chapter 13: images (B, 1, 32, 32) -> logits (B, 1).

        Conv(1, w, 4, 2, 1) + LeakyReLU(0.2)        (B, w, 16, 16)
        Conv(w, 2w, 4, 2, 1) + LeakyReLU(0.2)       (B, 2w, 8, 8)
        Conv(2w, 2w, 4, 2, 1) + LeakyReLU(0.2)      (B, 2w, 4, 4)
        Flatten -> Linear(2w * 16, 1)

    DCGAN's strided convolutions without its batch norm: R1 penalises each real
    example's own gradient, which batch norm would mix with the other examples'.
    """

    def __init__(self, width=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 4 * 4, 1))

    def forward(self, x):
        return self.net(x)
