"""PSNR, SSIM and sharpness (minigan.metrics.image_quality), by their properties and against
references computed another way: SSIM with scipy's 2-D correlation and a 2-D window, PSNR from
the closed form of a constant offset, sharpness from chapter 11's formula."""
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

import minigan
from minigan import backend
from minigan.data.edges import sobel_magnitude
from minigan.metrics.image_quality import (gaussian_window, psnr, psnr_per_image, sharpness,
                                           ssim, ssim_map, ssim_per_image)

pytestmark = pytest.mark.ch17

RANGES = [(-1.0, 1.0), (0.0, 1.0), (0, 255)]
image_shapes = st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(11, 16),
                         st.integers(11, 16))


def images(shape, seed):
    """Two batches in [-1, 1]: the second a noisy, partly inverted copy of the first, so that
    SSIM takes values across its range."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, shape)
    y = np.clip(rng.uniform(-1, 1) * x + rng.uniform(0, 1) * rng.standard_normal(shape), -1, 1)
    return x, y


def scipy_ssim(x, y, value_range):
    """SSIM of two 2-D images the slow, plain way: the images shifted to [0, L], the 11 x 11
    window as one 2-D array, scipy's 'valid' correlation, the statistics and the formula of
    Wang et al. (2004)."""
    low, high = value_range
    data_range, x, y = high - low, x - low, y - low
    g = gaussian_window()
    window = np.outer(g, g)

    def local(a):
        return signal.correlate2d(a, window, mode="valid")
    mu_x, mu_y = local(x), local(y)
    var_x, var_y = local(x * x) - mu_x ** 2, local(y * y) - mu_y ** 2
    cov = local(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)
            / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))).mean()


# --- PSNR -------------------------------------------------------------------------------------
@settings(max_examples=25)
@given(shape=image_shapes, offset=st.floats(1e-3, 1.0), value_range=st.sampled_from(RANGES),
       seed=st.integers(0, 1000))
def test_psnr_of_a_constant_offset_is_the_closed_form(shape, offset, value_range, seed):
    """x + d has MSE d^2 against x: PSNR = 10 log10(L^2 / d^2) = 20 log10(L / d), in dB,
    with L = high - low."""
    x = np.random.default_rng(seed).uniform(-1, 1, shape)
    L = value_range[1] - value_range[0]
    expected = 10 * math.log10(L ** 2 / offset ** 2)
    assert psnr(x + offset, x, value_range) == pytest.approx(expected, abs=1e-9)
    np.testing.assert_allclose(psnr_per_image(x - offset, x, value_range), expected, atol=1e-9)


def test_psnr_is_the_mean_of_the_per_image_psnrs_not_that_of_the_pooled_error():
    """Two images with offsets 0.1 and 0.4 (L = 2): 26.02 and 13.98 dB, mean 20.00 dB;
    the PSNR of the pooled MSE (0.085) would be 16.73 dB."""
    truth = np.zeros((2, 1, 4, 4))
    x = truth + np.array([0.1, 0.4])[:, None, None, None]
    per_image = [10 * math.log10(4 / 0.01), 10 * math.log10(4 / 0.16)]
    np.testing.assert_allclose(psnr_per_image(x, truth), per_image, rtol=1e-12)
    assert psnr(x, truth) == pytest.approx(np.mean(per_image), rel=1e-12)
    assert psnr(x, truth) != pytest.approx(10 * math.log10(4 / 0.085), abs=0.1)


@settings(max_examples=25)
@given(shape=image_shapes, seed=st.integers(0, 1000))
def test_psnr_is_symmetric_and_infinite_for_an_exact_copy(shape, seed):
    x, y = images(shape, seed)
    assert psnr(x, y) == pytest.approx(psnr(y, x), rel=1e-12)
    assert psnr(x, x.copy()) == math.inf
    assert np.all(psnr_per_image(x, x) == math.inf)


def test_psnr_takes_tensors_and_float32_and_leaves_its_inputs_alone():
    x, y = images((2, 1, 12, 12), 0)
    kept = x.copy(), y.copy()
    expected = psnr(x, y)
    assert psnr(minigan.tensor(x.astype(np.float32)), y.astype(np.float32)) == pytest.approx(
        expected, rel=1e-5)
    np.testing.assert_array_equal(x, kept[0])
    np.testing.assert_array_equal(y, kept[1])


# --- SSIM -------------------------------------------------------------------------------------
def test_gaussian_window_is_matlabs():
    """fspecial('gaussian', 11, 1.5)'s profile: symmetric, sums to 1, g(5) / g(4) = e^(1/4.5)."""
    g = gaussian_window()
    assert g.shape == (11,) and g.sum() == pytest.approx(1, abs=1e-15)
    np.testing.assert_allclose(g, g[::-1], rtol=0, atol=0)
    assert g[5] / g[4] == pytest.approx(math.exp(1 / 4.5), rel=1e-14)


@settings(max_examples=20, deadline=None)
@given(shape=image_shapes, value_range=st.sampled_from(RANGES), seed=st.integers(0, 1000))
def test_ssim_matches_a_plain_scipy_reference(shape, value_range, seed):
    """Each image's SSIM is the mean over its channels of the reference's map mean."""
    x, y = images(shape, seed)
    expected = [np.mean([scipy_ssim(x[n, c], y[n, c], value_range) for c in range(shape[1])])
                for n in range(shape[0])]
    np.testing.assert_allclose(ssim_per_image(x, y, value_range), expected, rtol=1e-10,
                               atol=1e-12)
    assert ssim(x, y, value_range) == pytest.approx(np.mean(expected), rel=1e-10, abs=1e-12)
    assert ssim_map(x, y, value_range).shape == shape[:2] + (shape[2] - 10, shape[3] - 10)


@settings(max_examples=25)
@given(shape=image_shapes, seed=st.integers(0, 1000))
def test_ssim_is_one_for_a_copy_symmetric_and_within_minus_one_and_one(shape, seed):
    x, y = images(shape, seed)
    assert ssim(x, x.copy()) == pytest.approx(1, abs=1e-12)
    assert ssim(x, y) == pytest.approx(ssim(y, x), rel=1e-12, abs=1e-15)
    values = ssim_map(x, y)
    assert np.all(values <= 1 + 1e-12) and np.all(values >= -1 - 1e-12)
    assert ssim(x, -x) < 0   # the negative image: the structure term turns negative
    # with the wrong low (0, for images whose values reach -1) a bright image's negative
    # scores positive: its luminance and structure terms are both negative
    bright = 0.5 + 0.5 * x[:, :, :11, :11]
    assert ssim(bright, -bright, (0, 2)) > 0 > ssim(bright, -bright)


def test_ssim_known_values():
    """Constant images at a and b above low (sigma = 0): SSIM = (2ab + C1) / (a^2 + b^2 + C1)
    exactly, with C1 = (0.01 L)^2."""
    a, b, L = 1.3, 0.8, 2.0    # -0.3 and 0.2 on [-1, 1]
    c1 = (0.01 * L) ** 2
    x, y = np.full((1, 1, 11, 11), a - 1), np.full((1, 1, 11, 11), b - 1)
    assert ssim(x, y) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-12)
    # x and a scaled copy s x with zero mean: (2 s var + C2) / ((1 + s^2) var + C2)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((1, 1, 11, 11))
    g = gaussian_window()
    w = np.outer(g, g)
    z = z - (w * z[0, 0]).sum()   # zero weighted mean over the one window
    var, s, c2 = (w * z[0, 0] ** 2).sum(), 0.5, (0.03 * L) ** 2
    # both means are 0, so the luminance term is C1 / C1 = 1
    expected = (2 * s * var + c2) / ((1 + s * s) * var + c2)
    assert ssim(z, s * z, (0, L)) == pytest.approx(expected, rel=1e-10)


def test_ssim_falls_as_noise_grows():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (4, 1, 16, 16))
    noise = rng.standard_normal(x.shape)
    values = [ssim(x + level * noise, x) for level in (0.01, 0.1, 0.5)]
    assert values[0] > values[1] > values[2]


# --- sharpness --------------------------------------------------------------------------------
def test_sharpness_is_chapter_11s_ratio_and_blur_lowers_it():
    rng = np.random.default_rng(2)
    real = rng.uniform(-1, 1, (4, 1, 14, 14)).astype(np.float32)
    other = rng.uniform(-1, 1, (3, 1, 14, 14)).astype(np.float32)
    expected = float(backend.to_numpy(sobel_magnitude(other).mean()
                                      / sobel_magnitude(real).mean()))
    assert sharpness(other, real) == pytest.approx(expected, rel=1e-6)
    assert sharpness(real, real) == pytest.approx(1, rel=1e-12)
    blurred = (real + np.roll(real, 1, axis=3) + np.roll(real, 1, axis=2)) / 3
    assert sharpness(blurred, real) < 0.8
    assert sharpness(real.astype(np.float64), real) == pytest.approx(1, rel=1e-6)


# --- bad input --------------------------------------------------------------------------------
good = np.zeros((2, 1, 12, 12))


@pytest.mark.parametrize("call, error, message", [
    (lambda: psnr(np.zeros((2, 12, 12)), np.zeros((2, 12, 12))), ValueError,
     "psnr_per_image: images must be a non-empty batch of images (N, C, H, W), got shape "
     "(2, 12, 12)"),
    (lambda: psnr(good, np.zeros((2, 1, 12, 11))), ValueError,
     "psnr_per_image: images and truth must have the same shape"),
    (lambda: psnr(good, good.astype(complex)), TypeError,
     "psnr_per_image: truth must be an array of real numbers"),
    (lambda: psnr(good, good, value_range=(1, 1)), ValueError,
     "psnr_per_image: value_range must be finite with high > low"),
    (lambda: psnr(good, good, value_range=2.0), TypeError,
     "psnr_per_image: value_range must be a pair of numbers (low, high)"),
    (lambda: ssim(good, good, value_range=("0", 1)), TypeError,
     "ssim: value_range must be a pair of numbers (low, high)"),
    (lambda: ssim(np.full(good.shape, np.nan), good), ValueError,
     "ssim: images contains NaN or infinite values"),
    (lambda: ssim(np.zeros((1, 1, 10, 28)), np.zeros((1, 1, 10, 28))), ValueError,
     "ssim: images must be at least 11 x 11 pixels"),
    (lambda: ssim(good, np.array([["a"]])), TypeError,
     "ssim: truth must be an array of real numbers"),
    (lambda: sharpness(np.zeros((2, 3, 12, 12)), good), ValueError,
     "sharpness: images must be grey images (N, 1, H, W)"),
    (lambda: sharpness(good, np.zeros((2, 12, 12))), ValueError,
     "sharpness: real must be a non-empty batch"),
    (lambda: sharpness(good, np.full(good.shape, -1.0)), ValueError,
     "sharpness: real has no edges at all"),
])
def test_bad_input_is_refused_naming_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
