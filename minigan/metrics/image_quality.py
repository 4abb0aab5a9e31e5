"""How close an image is to the one it should be, and how sharp: PSNR, SSIM, sharpness.

FID (``minigan.metrics.fid``) compares two *sets* of images; these compare each image with
its own truth, pixel by pixel (PSNR), window by window (SSIM), or, for sharpness, the two
sets' mean edge strength.

    psnr(images, truth)       # dB, the mean over the images of each one's PSNR
    ssim(images, truth)       # in [-1, 1], the mean over the images
    sharpness(images, real)   # mean Sobel magnitude of images / that of real

**The value range.** PSNR and SSIM depend on the range the pixels *could* take,
``value_range = (low, high)``, of width L = high - low. minigan's images live in [-1, 1],
the default; images on a [0, 1] scale need ``value_range=(0, 1)``, on a [0, 255] scale
(0, 255). The wrong width shifts every PSNR by 20 log10 of the ratio and changes SSIM's
constants: always say which range a figure was measured on. SSIM needs ``low`` too: its
luminance term compares the local means as intensities, 0 meaning black, so the images
are measured as x - low, on [0, L]. (On [-1, 1] as it stands, a dark patch has a negative
mean, and an image and its negative would score *positive*: luminance and structure terms
both negative, their product positive.) PSNR depends on differences alone.

**PSNR** (peak signal-to-noise ratio) of one image x against its truth y, in decibels:

    MSE = mean over the pixels and channels of (x - y)^2,
    PSNR = 10 log10(L^2 / MSE).

A batch's PSNR is the *mean over its images* of each image's PSNR (as super-resolution
papers report it), not the PSNR of the batch's pooled MSE: log of a mean is not the mean of
logs, and the pooled figure lets a few bad images dominate. ``psnr_per_image`` gives the
figures before the mean. An exact copy has MSE 0 and PSNR +inf.

**SSIM** (Wang, Bovik, Sheikh and Simoncelli 2004, "Image quality assessment: from error
visibility to structural similarity") compares local means, variances and the covariance,
weighted by a Gaussian window w (11 x 11, sigma 1.5, normalised to sum 1):

    mu_x = w * x,  sigma_x^2 = w * x^2 - mu_x^2,  sigma_xy = w * (x y) - mu_x mu_y,
    SSIM map = (2 mu_x mu_y + C1)(2 sigma_xy + C2)
               / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2)),
    C1 = (K1 L)^2, C2 = (K2 L)^2, K1 = 0.01, K2 = 0.03,

where ``*`` is a "valid" filtering: only windows that lie wholly inside the image, so a
28 x 28 image gives an 18 x 18 map and no padding rule enters (the paper's MATLAB code,
``filter2(window, img, 'valid')``). The weighted statistics are the paper's, with no
N / (N - 1) correction. An image's SSIM is the mean of its map (over the channels too); a
batch's is the mean over its images. SSIM(x, x) = 1, SSIM(x, y) = SSIM(y, x), and it lies
in [-1, 1].

**Sharpness** is chapter 11's: the mean Sobel magnitude (``minigan.data.edges``) of the
images over that of real images. Below 1 the images have weaker edges than the real ones:
they are blurrier. It needs no pairing, so it also measures unconditional generators.

Every function takes arrays (NumPy or CuPy) or minigan Tensors of shape (N, C, H, W),
computes in float64 on the device the images live on, and returns Python floats.
"""
import math

import numpy

from minigan import backend
from minigan.data.edges import sobel_magnitude
from minigan.metrics import _arrays

SSIM_WINDOW = 11       # the paper's 11 x 11 Gaussian window,
SSIM_SIGMA = 1.5       # with standard deviation 1.5 pixels
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _images(function, name, images, xp, min_side=1):
    """``images`` as a float64 array (N, C, H, W) of ``xp``, or an error naming ``name``."""
    data = _arrays._data(images)
    kind = getattr(data, "dtype", None)
    kind = numpy.asarray(data).dtype.kind if kind is None else kind.kind
    if kind not in "biuf":
        raise TypeError(f"{function}: {name} must be an array of real numbers, got "
                        f"{type(images).__name__} of dtype kind {kind!r}")
    array = xp.asarray(data, dtype=xp.float64)
    if array.ndim != 4 or 0 in array.shape:
        raise ValueError(f"{function}: {name} must be a non-empty batch of images (N, C, H, W), "
                         f"got shape {tuple(array.shape)}")
    if min(array.shape[2:]) < min_side:
        raise ValueError(f"{function}: {name} must be at least {min_side} x {min_side} pixels "
                         f"(the window's size), got shape {tuple(array.shape)}")
    _arrays.check_finite(function, name, array, xp)
    return array


def _pair(function, images, truth, min_side=1):
    """The two batches as float64 arrays of one array module, with the same shape."""
    xp = _arrays.common_array_module(images, truth)
    x = _images(function, "images", images, xp, min_side)
    y = _images(function, "truth", truth, xp, min_side)
    if x.shape != y.shape:
        raise ValueError(f"{function}: images and truth must have the same shape (each image "
                         f"is compared with its own truth), got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    return xp, x, y


def _value_range(function, value_range):
    """(low, high) as floats with high > low, or an error naming ``value_range``."""
    try:
        low, high = value_range
        numbers = all(not isinstance(v, (bool, str)) and isinstance(v, (int, float, numpy.number))
                      for v in (low, high))
    except (TypeError, ValueError):
        numbers = False
    if not numbers:
        raise TypeError(f"{function}: value_range must be a pair of numbers (low, high), "
                        f"(-1, 1) for minigan's images, got {value_range!r}")
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        raise ValueError(f"{function}: value_range must be finite with high > low, (-1, 1) for "
                         f"minigan's images, got {value_range!r}")
    return low, high


def psnr_per_image(images, truth, value_range=(-1.0, 1.0)):
    """Each image's PSNR against its truth in dB: 10 log10(L^2 / MSE_i), a float64 NumPy
    array (N,), where MSE_i is the mean of (x - y)^2 over image i's C x H x W values.
    +inf where an image equals its truth. L = high - low of ``value_range``.

    >>> psnr_per_image(numpy.zeros((2, 1, 4, 4)), numpy.full((2, 1, 4, 4), 0.2))  # L = 2
    array([20., 20.])
    """
    low, high = _value_range("psnr_per_image", value_range)
    L = high - low
    xp, x, y = _pair("psnr_per_image", images, truth)
    mse = ((x - y) ** 2).reshape(len(x), -1).mean(axis=1)
    mse = backend.to_numpy(mse)   # N numbers to the host: the log of 0 is +inf there, quietly
    with numpy.errstate(divide="ignore"):
        return 10 * numpy.log10(L ** 2 / mse)


def psnr(images, truth, value_range=(-1.0, 1.0)):
    """The mean over the images of each image's PSNR against its truth, in dB (a float).

    PSNR_i = 10 log10(L^2 / MSE_i), L = high - low of ``value_range`` (2 for minigan's images),
    MSE_i the mean squared difference over image i's pixels and channels. +inf if any image
    equals its truth. Shapes: (N, C, H, W) twice, the same.
    """
    return float(psnr_per_image(images, truth, value_range).mean())


def gaussian_window(size=SSIM_WINDOW, sigma=SSIM_SIGMA):
    """The 1-D Gaussian weights g_k ~ exp(-(k - c)^2 / (2 sigma^2)), k = 0 .. size - 1,
    c = (size - 1) / 2, normalised to sum 1: a float64 NumPy array (size,). The 2-D window
    is the outer product g g^T (MATLAB's fspecial('gaussian', size, sigma))."""
    offsets = numpy.arange(size) - (size - 1) / 2
    weights = numpy.exp(-offsets ** 2 / (2 * sigma ** 2))
    return weights / weights.sum()


def _filter_valid(images, weights):
    """Filter (N, C, H, W) with the separable window g g^T, keeping only the windows that
    lie inside the image: (N, C, H - k + 1, W - k + 1). One strided slice per offset along
    each axis, so it runs alike on NumPy and CuPy with no convolution routine."""
    k = len(weights)
    height, width = images.shape[2] - k + 1, images.shape[3] - k + 1
    rows = sum(float(w) * images[:, :, i:i + height, :] for i, w in enumerate(weights))
    return sum(float(w) * rows[:, :, :, j:j + width] for j, w in enumerate(weights))


def ssim_map(images, truth, value_range=(-1.0, 1.0)):
    """The SSIM map of each image against its truth (Wang et al. 2004): a float64 array
    (N, C, H - 10, W - 10) on the images' device, one value per 11 x 11 window.

    SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 +
    sigma_y^2 + C2)), the statistics weighted by an 11 x 11 Gaussian window of sigma 1.5,
    C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = high - low of ``value_range``, the images
    measured as x - low (intensities on [0, L]; see the module's docstring).
    """
    low, high = _value_range("ssim", value_range)
    L = high - low
    xp, x, y = _pair("ssim", images, truth, min_side=SSIM_WINDOW)
    x, y = x - low, y - low
    weights = gaussian_window()
    mu_x, mu_y = _filter_valid(x, weights), _filter_valid(y, weights)
    # E[x^2] - E[x]^2 cancels catastrophically only for values far larger than their
    # spread; on [0, L] the loss is ~1e-16 L^2, far below C2 = 9e-4 L^2.
    var_x = _filter_valid(x * x, weights) - mu_x ** 2
    var_y = _filter_valid(y * y, weights) - mu_y ** 2
    cov_xy = _filter_valid(x * y, weights) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * L) ** 2, (SSIM_K2 * L) ** 2
    return ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)
            / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2)))


def ssim_per_image(images, truth, value_range=(-1.0, 1.0)):
    """Each image's SSIM against its truth (the mean of its SSIM map over channels and
    windows): a float64 NumPy array (N,). See :func:`ssim_map`."""
    values = ssim_map(images, truth, value_range)
    return backend.to_numpy(values.reshape(len(values), -1).mean(axis=1))


def ssim(images, truth, value_range=(-1.0, 1.0)):
    """The mean over the images of each image's SSIM against its truth (a float in
    [-1, 1]; 1 for identical images). Images need H, W >= 11. See :func:`ssim_map`."""
    return float(ssim_per_image(images, truth, value_range).mean())


def sharpness(images, real):
    """The mean Sobel magnitude of ``images`` over that of ``real`` (a float): below 1 is
    blurrier than the real images, above 1 has stronger edges (or noise).

    Both are grey images (N, 1, H, W) in [-1, 1], measured on the [0, 1] scale by
    ``minigan.data.edges.sobel_magnitude``; the two batches need not be paired.
    """
    xp = _arrays.common_array_module(images, real)
    edges = {}
    for name, batch in (("images", images), ("real", real)):
        array = _images("sharpness", name, batch, xp)
        if array.shape[1] != 1:
            raise ValueError(f"sharpness: {name} must be grey images (N, 1, H, W), got shape "
                             f"{tuple(array.shape)}")
        # the Sobel filter runs in the engine's float32, as chapter 11 measured it
        edges[name] = sobel_magnitude(array.astype(xp.float32)).mean()
    if not backend.to_numpy(edges["real"] > 0):
        raise ValueError("sharpness: real has no edges at all (every image is constant), so "
                         "there is nothing to compare the images' sharpness with")
    return _arrays.number(edges["images"] / edges["real"])
