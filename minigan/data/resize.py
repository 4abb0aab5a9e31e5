"""Resizing images by whole factors: block averages down, bicubic interpolation up.

    small = box_downsample(images, 4)      # (N, C, 28, 28) -> (N, C, 7, 7), each 4x4 block's mean
    big = bicubic_upsample(small, 4)       # (N, C, 7, 7) -> (N, C, 28, 28)

Super-resolution (chapter 17) needs both: the low-resolution input it learns from, and the
classical answer every network must beat.

**Bicubic interpolation** (Keys 1981, "Cubic convolution interpolation for digital image
processing") places a cubic kernel on each input sample,

    k(s) = (a + 2)|s|^3 - (a + 3)|s|^2 + 1           for |s| <= 1,
    k(s) = a|s|^3 - 5a|s|^2 + 8a|s| - 4a             for 1 < |s| < 2,
    k(s) = 0                                         otherwise,

with a = -0.5, the value of MATLAB's ``imresize`` and Pillow's BICUBIC, at which the
interpolation reproduces every quadratic exactly (Keys' third-order case; OpenCV and
PyTorch use a = -0.75). k(0) = 1 and k(+-1) = k(+-2) = 0, so samples on the input grid are
returned unchanged. Each output value is the sum of the four nearest inputs, weighted by k
of their distance. Rows and columns are done one after the other (the 2-D kernel is
k(s) k(t)), each as a product with a (H_out, H_in) matrix of weights.

**Where the samples are.** Pixels are squares and a pixel's value sits at its centre (the
"half-pixel" convention of MATLAB, Pillow, and PyTorch's ``align_corners=False``): output
pixel i of an r-times larger image sits at input coordinate u = (i + 0.5) / r - 0.5. For an
odd r, every r-th output pixel (i = r k + (r - 1) / 2) lands on input pixel k exactly.

**The boundary.** Near the edge the kernel reaches up to two samples beyond the image.
Those are taken from the image mirrored about its edge, the edge pixel repeated (x[-1] =
x[0], x[-2] = x[1]; MATLAB ``imresize``'s "symmetric" padding). Pillow instead drops the
missing samples and renormalises the weights, and PyTorch repeats the edge pixel; the three
agree everywhere except in the outermost output pixels whose kernel reaches past the edge,
those with u < 1 or u > size - 2 (6 on each side at r = 4).

**Block averaging** (the "area" method) is the downsampling used to make the inputs: each
output pixel the mean of an r x r block. It is what a camera with r times larger sensor
cells would record, and it places the small image's pixel centres exactly where the
half-pixel convention above expects them.

Both functions take an array (NumPy or CuPy) or a Tensor (N, C, H, W), compute in its
floating dtype (float32 stays float32) on its device, and return an array.
"""
import numpy

from minigan import backend
from minigan.autograd import array_of

KEYS_A = -0.5


def keys_kernel(s, a=KEYS_A):
    """Keys' cubic convolution kernel k(s) (see the module's docstring), for a NumPy array
    of distances ``s``: 1 at 0, 0 at every other integer, and 0 beyond |s| >= 2."""
    s = numpy.abs(numpy.asarray(s, dtype=numpy.float64))
    near = ((a + 2) * s - (a + 3)) * s * s + 1
    far = ((a * s - 5 * a) * s + 8 * a) * s - 4 * a
    return numpy.where(s <= 1, near, numpy.where(s < 2, far, 0.0))


def bicubic_weights(size, factor, a=KEYS_A):
    """The (size * factor, size) matrix M of bicubic upsampling along one axis: y = M x.

    Row i holds k(u - j) for the four input samples j nearest to u = (i + 0.5) / factor -
    0.5, with the indices beyond the edge mirrored back (-1 -> 0, -2 -> 1, size -> size - 1,
    size + 1 -> size - 2), so each row sums to 1. float64 NumPy.
    """
    out = numpy.arange(size * factor)
    u = (out + 0.5) / factor - 0.5
    first = numpy.floor(u).astype(int) - 1
    matrix = numpy.zeros((size * factor, size))
    for tap in range(4):
        j = first + tap
        weight = keys_kernel(u - j, a)
        # the symmetric extension x[-1 - m] = x[m], x[size + m] = x[size - 1 - m]; a
        # 1-pixel-wide axis repeats its only pixel however far the kernel reaches
        mirrored = numpy.where(j < 0, -1 - j, numpy.where(j >= size, 2 * size - 1 - j, j))
        mirrored = numpy.clip(mirrored, 0, size - 1)
        numpy.add.at(matrix, (out, mirrored), weight)
    return matrix


def _images(function, images, factor):
    """``images`` as a floating array (N, C, H, W) of its own device, and the factor."""
    data = backend.asarray(array_of(images))
    if data.dtype.kind != "f":
        raise TypeError(f"{function}: images must be floating point (float32 or float64), got "
                        f"dtype {data.dtype}")
    if data.ndim != 4 or 0 in data.shape:
        raise ValueError(f"{function}: images must be a non-empty batch (N, C, H, W), got "
                         f"shape {tuple(data.shape)}")
    if isinstance(factor, bool) or not isinstance(factor, (int, numpy.integer)) or factor < 1:
        raise ValueError(f"{function}: factor must be an int >= 1, got {factor!r}")
    return data, int(factor)


def bicubic_upsample(images, factor):
    """Images (N, C, H, W) made ``factor`` times larger by Keys' bicubic interpolation
    (a = -0.5, half-pixel centres, symmetric boundary): (N, C, factor H, factor W), in the
    input's dtype, on its device. Values can overshoot the input's range slightly (the
    kernel has negative lobes): clip them if the range matters.

        y[n, c] = M_H x[n, c] M_W^T,   M = ``bicubic_weights``
    """
    x, r = _images("bicubic_upsample", images, factor)
    xp = backend.array_module(x)
    rows = xp.asarray(bicubic_weights(x.shape[2], r), dtype=x.dtype)
    columns = xp.asarray(bicubic_weights(x.shape[3], r), dtype=x.dtype)
    # (fH, H) @ (N, C, H, W) @ (W, fW): matmul broadcasts the matrices over N and C
    return rows @ x @ columns.T


def box_downsample(images, factor):
    """Images (N, C, H, W) made ``factor`` times smaller: each output pixel the mean of a
    factor x factor block, (N, C, H / factor, W / factor); H and W must be multiples."""
    x, r = _images("box_downsample", images, factor)
    n, c, h, w = x.shape
    if h % r or w % r:
        raise ValueError(f"box_downsample: the height and width must be multiples of factor "
                         f"{r}, got shape {tuple(x.shape)}")
    return x.reshape(n, c, h // r, r, w // r, r).mean(axis=(3, 5))
