"""Differentiable augmentation (DiffAugment, Zhao, Liu, Lin, Zhu and Han, 2020).

With few training images, D memorises them: it tells the training set from anything else,
its feedback to G stops being about the distribution, and G's images degrade. Augmenting the
real images only would teach G the augmentations (translated, cut-out garments). DiffAugment
applies the *same family* of random transformations T to real and to generated images
before D sees them, in both players' losses:

    L_D = loss(D(T(x)), D(T(G(z))))        L_G = loss(D(T(G(z))))

and each T is differentiable in its input, so G's gradient flows back through T. D then
never sees an untransformed image, and G is judged on the distribution, not the augmented one.

Three transformations, as in the paper's code, each drawn independently for every image:

* ``colour``: brightness (add U(-0.5, 0.5)), then contrast (scale the deviations from the
  image's mean by U(0.5, 1.5)); the paper's saturation step changes nothing on one channel.
* ``translation``: shift by up to 1/8 of the side in each direction, filling with zeros.
* ``cutout``: zero a square of half the side at a random place (partly off the image).

Each is a composition of minigan's ops: additions and products with random constants, a
zero padding and a gather (indexing), so gradients of any order flow to the image. The
random draws come from minigan's generator (``minigan.manual_seed``). Images are
(N, C, H, W).
"""
from minigan import backend
from minigan.autograd import Tensor
from minigan.ops.padding import constant_pad


def _images(op, x):
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"{op}: expected images as a Tensor of shape (N, C, H, W), got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    return x


def _uniform(shape, low, high, dtype):
    return Tensor(low + (high - low) * backend.rng().random(shape, dtype=dtype))


def colour(x):
    """Random brightness, then contrast, per image: (x + b - m) c + m, with b ~ U(-0.5, 0.5),
    c ~ U(0.5, 1.5) and m the brightened image's mean (over its channels and pixels)."""
    _images("colour", x)
    n = x.shape[0]
    x = x + _uniform((n, 1, 1, 1), -0.5, 0.5, x.dtype)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return (x - mean) * _uniform((n, 1, 1, 1), 0.5, 1.5, x.dtype) + mean


def translation(x, ratio=0.125):
    """Shift each image by its own (dy, dx), |dy|, |dx| <= round(ratio side), zeros entering.

    y[n, c, i, j] = x[n, c, i - dy_n, j - dx_n] where that pixel exists, else 0: a zero
    padding of s pixels and a gather of the shifted window, so each output pixel's gradient
    goes back to the one pixel it came from.
    """
    _images("translation", x)
    n, c, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    xp = backend.get_array_module()
    generator = backend.rng()
    dy = generator.integers(-sy, sy + 1, size=(n, 1, 1, 1))
    dx = generator.integers(-sx, sx + 1, size=(n, 1, 1, 1))
    padded = constant_pad(x, ((0, 0), (0, 0), (sy, sy), (sx, sx)))
    rows = xp.arange(h).reshape(1, 1, h, 1) + sy - dy
    columns = xp.arange(w).reshape(1, 1, 1, w) + sx - dx
    images = xp.arange(n).reshape(n, 1, 1, 1)
    channels = xp.arange(c).reshape(1, c, 1, 1)
    return padded[images, channels, rows, columns]


def cutout(x, ratio=0.5):
    """Zero a square of side round(ratio side) centred at a random pixel of each image
    (clipped at the borders): x times a 0/1 mask, so the gradient is the mask."""
    _images("cutout", x)
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    xp = backend.get_array_module()
    generator = backend.rng()
    top = generator.integers(0, h + (1 - ch % 2), size=(n, 1, 1, 1)) - ch // 2
    left = generator.integers(0, w + (1 - cw % 2), size=(n, 1, 1, 1)) - cw // 2
    rows = xp.arange(h).reshape(1, 1, h, 1)
    columns = xp.arange(w).reshape(1, 1, 1, w)
    inside = (rows >= top) & (rows < top + ch) & (columns >= left) & (columns < left + cw)
    return x * Tensor((~inside).astype(x.dtype))


POLICIES = {"colour": colour, "translation": translation, "cutout": cutout}


def diff_augment(x, policy=("colour", "translation", "cutout")):
    """Apply the transformations named in ``policy``, in that order, to images (N, C, H, W).

    Use the same call on real and on generated images, in D's loss and in G's:

    >>> loss_d = losses.discriminator_loss(D(diff_augment(real)), D(diff_augment(fake.detach())))
    >>> loss_g = losses.generator_loss_nonsaturating(D(diff_augment(fake)))
    """
    unknown = [name for name in policy if name not in POLICIES]
    if unknown:
        raise ValueError(f"diff_augment: unknown transformation(s) {unknown}; choose from "
                         f"{sorted(POLICIES)}")
    _images("diff_augment", x)
    for name in policy:
        x = POLICIES[name](x)
    return x
