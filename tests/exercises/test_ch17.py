"""Chapter 17's exercises: pixel shuffle as a permutation, PSNR, Keys' bicubic kernel."""
import math

import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch17


def _loop_shuffle(x, r):
    """The definition, one output pixel at a time."""
    n, channels, h, w = x.shape
    c = channels // (r * r)
    y = np.zeros((n, c, h * r, w * r), dtype=x.dtype)
    for k in range(c):
        for i in range(r):
            for j in range(r):
                y[:, k, i::r, j::r] = x[:, k * r * r + i * r + j]
    return y


def check_pixel_shuffle(pixel_shuffle):
    """Channels 0, 1, 2, 3 (r = 2) make every block [[0, 1], [2, 3]]; on random shapes the
    answer matches the definition y[n, c, h r + i, w r + j] = x[n, c r^2 + i r + j, h, w]
    exactly, holds the same values as x (a permutation), keeps float32 and float64, and leaves
    x unchanged; r = 1 changes nothing."""
    x = np.arange(4.0).reshape(1, 4, 1, 1) * np.ones((1, 4, 2, 3))
    got = np.asarray(pixel_shuffle(x.copy(), 2))
    assert got.shape == (1, 1, 4, 6), f"(1, 4, 2, 3) with r = 2: expected shape (1, 1, 4, 6), " \
                                      f"got {got.shape}"
    block = got[0, 0, :2, :2]
    assert np.array_equal(block, [[0, 1], [2, 3]]), (
        f"channels holding 0, 1, 2, 3 with r = 2: each 2 x 2 block must read [[0, 1], [2, 3]] "
        f"(channel i r + j goes to row i, column j of the block), got {block.tolist()}")
    rng = np.random.default_rng(17)
    for n, c, r, h, w in [(2, 3, 2, 3, 4), (1, 2, 3, 2, 2), (3, 1, 4, 1, 2), (2, 5, 2, 1, 1),
                          (1, 2, 1, 3, 3)]:
        for dtype in (np.float64, np.float32):
            x = rng.permutation(n * c * r * r * h * w).reshape(n, c * r * r, h, w).astype(dtype)
            kept = x.copy()
            got = np.asarray(pixel_shuffle(x, r))
            expected = _loop_shuffle(kept, r)
            what = f"x of shape {x.shape} ({np.dtype(dtype).name}), r = {r}"
            assert got.shape == expected.shape, \
                f"{what}: expected shape {expected.shape}, got {got.shape}"
            assert got.dtype == dtype, f"{what}: expected dtype {np.dtype(dtype).name}, got " \
                                       f"{got.dtype} (nothing is computed: keep the dtype)"
            assert np.array_equal(np.sort(got, axis=None), np.sort(kept, axis=None)), \
                f"{what}: y must hold exactly the values of x, each once"
            wrong = got != expected
            if wrong.any():
                at = tuple(int(i) for i in np.argwhere(wrong)[0])
                raise AssertionError(f"{what}: at y{list(at)} expected x's value "
                                     f"{expected[at]:g}, got {got[at]:g} ({wrong.sum()} of "
                                     f"{wrong.size} values misplaced)")
            assert np.array_equal(x, kept), f"{what}: x passed in must not change"


def check_psnr(psnr):
    """A constant offset d gives 10 log10(L^2 / d^2) at L = 2, 1 and 255; two images with
    offsets 0.1 and 0.4 give the mean of their PSNRs (20.00 dB), not the pooled one (16.73);
    on random batches the answer matches the formula, depends on data_range and not on the
    values the images reach, is a float, and leaves the arrays unchanged."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (3, 2, 5, 4))
    for data_range, offset in [(2.0, 0.1), (1.0, 0.05), (255.0, 3.0)]:
        expected = 10 * math.log10(data_range ** 2 / offset ** 2)
        got = psnr(x + offset, x.copy(), data_range)
        assert isinstance(got, float), f"expected a Python float, got {type(got).__name__}"
        assert got == pytest.approx(expected, rel=1e-12), (
            f"every pixel off by {offset}, data_range {data_range}: expected "
            f"10 log10({data_range}^2 / {offset}^2) = {expected:.4f} dB, got {got:.4f}")
    truth = np.zeros((2, 1, 4, 4))
    two = truth + np.array([0.1, 0.4])[:, None, None, None]
    expected = (10 * math.log10(4 / 0.01) + 10 * math.log10(4 / 0.16)) / 2
    got = psnr(two, truth, 2.0)
    assert got == pytest.approx(expected, rel=1e-12), (
        f"two images off by 0.1 and 0.4 (26.02 and 13.98 dB): expected their mean "
        f"{expected:.4f} dB, got {got:.4f} (16.73 would be the PSNR of the pooled MSE)")
    for shape in [(4, 1, 6, 6), (2, 3, 5, 7), (1, 1, 3, 3)]:
        images, target = rng.uniform(-1, 1, (2,) + shape)
        kept = images.copy(), target.copy()
        mse = ((images - target) ** 2).reshape(shape[0], -1).mean(axis=1)
        expected = float(np.mean(10 * np.log10(4.0 / mse)))
        got = psnr(images, target, 2.0)
        assert got == pytest.approx(expected, rel=1e-12), \
            f"random images {shape}, data_range 2: expected {expected:.6f} dB, got {got:.6f}"
        assert np.array_equal(images, kept[0]) and np.array_equal(target, kept[1]), \
            "the arrays passed in must not change"
        # darker images with the same errors: the same PSNR (the range is given, not measured)
        assert psnr(0.5 * images - 0.5, 0.5 * target - 0.5, 1.0) == pytest.approx(
            expected, rel=1e-12), "halve the images and their range: the PSNR must not change"


def check_keys_kernel(keys_kernel):
    """k(0) = 1, 0 at the other integers and beyond 2, symmetric, k(1/2) = 9/16 and
    k(3/2) = -1/16 at a = -0.5 (and the formula at other a); float64 of the shape of s; and
    the weights of the four nearest samples sum to 1 and reproduce x and, at a = -0.5, x^2."""
    s = np.array([[0.0, 1.0, 2.0], [-1.0, -2.0, 3.5]])
    kept = s.copy()
    got = np.asarray(keys_kernel(s, -0.5))
    assert np.array_equal(s, kept), "s passed in must not change"
    assert got.shape == s.shape, f"s of shape {s.shape}: expected that shape, got {got.shape}"
    assert got.dtype == np.float64, f"expected float64 values, got {got.dtype}"
    assert np.allclose(got, [[1, 0, 0], [0, 0, 0]], atol=1e-15), (
        f"k must be 1 at 0 and 0 at +-1, +-2 and beyond 2 (an interpolating kernel), got "
        f"{got.tolist()}")
    for a, point, expected in [(-0.5, 0.5, 9 / 16), (-0.5, 1.5, -1 / 16),
                               (-0.75, 0.5, 0.59375), (-0.75, 1.5, -0.09375),
                               (-0.5, -0.25, 0.8671875), (-0.5, -1.25, -0.0703125)]:
        value = float(np.asarray(keys_kernel(np.array([point]), a))[0])
        assert value == pytest.approx(expected, rel=1e-12), \
            f"k({point}) at a = {a}: expected {expected}, got {value}"
    u = np.linspace(0, 1, 11)[:-1]       # a point between samples 0 and 1
    taps = np.arange(-1, 3)              # its four nearest samples
    weights = np.asarray(keys_kernel(u[:, None] - taps[None, :], -0.5))
    assert np.allclose(weights.sum(axis=1), 1, rtol=0, atol=1e-12), \
        "the four weights of a point must sum to 1 (a constant image stays constant)"
    assert np.allclose(weights @ taps, u, atol=1e-12), \
        "the weights must reproduce a linear ramp: sum_j k(u - j) j = u"
    assert np.allclose(weights @ taps ** 2, u ** 2, atol=1e-12), \
        "at a = -0.5 the weights must reproduce a quadratic: sum_j k(u - j) j^2 = u^2"


# --- planted wrong answers -----------------------------------------------------------------
def shuffle_block_transposed(x, r):
    """Channel c r^2 + i r + j goes to row j, column i: every block comes out transposed."""
    n, channels, h, w = x.shape
    c = channels // (r * r)
    return x.reshape(n, c, r, r, h, w).transpose(0, 1, 4, 3, 5, 2).reshape(n, c, h * r, w * r)


def shuffle_offset_major(x, r):
    """Channel (i r + j) C + c: the offsets as the outer index (TensorFlow's depth_to_space
    on NHWC data reads the channels this way)."""
    n, channels, h, w = x.shape
    c = channels // (r * r)
    return x.reshape(n, r, r, c, h, w).transpose(0, 3, 4, 1, 5, 2).reshape(n, c, h * r, w * r)


def shuffle_reshape_only(x, r):
    """A reshape alone: the values of each channel end up in rows, not in blocks."""
    n, channels, h, w = x.shape
    return x.reshape(n, channels // (r * r), h * r, w * r)


def shuffle_rows_of_blocks(x, r):
    """Transposes to (n, c, i, h, j, w): blocks of whole images instead of blocks of pixels."""
    n, channels, h, w = x.shape
    c = channels // (r * r)
    return x.reshape(n, c, r, r, h, w).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h * r, w * r)


def shuffle_in_float64(x, r):
    """Right places, but converts to float64 on the way (float32 data doubles in size)."""
    from tests.exercises.ch17_reference import pixel_shuffle
    return pixel_shuffle(np.asarray(x, dtype=np.float64), r)


def psnr_natural_log(images, truth, data_range):
    """10 ln instead of 10 log10: nepers, not decibels."""
    mse = ((images - truth) ** 2).reshape(len(images), -1).mean(axis=1)
    return float(np.mean(10 * np.log(data_range ** 2 / mse)))


def psnr_pooled(images, truth, data_range):
    """The PSNR of the batch's pooled MSE: the log of a mean, not the mean of the logs."""
    return float(10 * np.log10(data_range ** 2 / np.mean((images - truth) ** 2)))


def psnr_peak_from_the_data(images, truth, data_range):
    """Takes the peak from the truth's values (max - min) instead of the stated range."""
    peak = truth.max() - truth.min()
    mse = ((images - truth) ** 2).reshape(len(images), -1).mean(axis=1)
    return float(np.mean(10 * np.log10(peak ** 2 / mse)))


def psnr_peak_not_squared(images, truth, data_range):
    """10 log10(L / MSE): the peak's square forgotten."""
    mse = ((images - truth) ** 2).reshape(len(images), -1).mean(axis=1)
    return float(np.mean(10 * np.log10(data_range / mse)))


def psnr_mean_over_the_batch_axis(images, truth, data_range):
    """Averages the squared errors over the batch (axis 0), then PSNR per pixel, then the
    mean: each pixel position's PSNR over the images, a per-pixel mean of logs."""
    mse = ((images - truth) ** 2).mean(axis=0)
    return float(np.mean(10 * np.log10(data_range ** 2 / mse)))


def psnr_root_mse_with_10(images, truth, data_range):
    """10 log10(L / RMSE): the amplitude ratio with the power ratio's factor, half the dB."""
    mse = ((images - truth) ** 2).reshape(len(images), -1).mean(axis=1)
    return float(np.mean(10 * np.log10(data_range / np.sqrt(mse))))


def keys_without_abs(s, a):
    """Forgets |s|: right for s >= 0, wrong (and unbounded) on the left side."""
    s = np.asarray(s, dtype=float)
    near = (a + 2) * s ** 3 - (a + 3) * s ** 2 + 1
    far = a * s ** 3 - 5 * a * s ** 2 + 8 * a * s - 4 * a
    return np.where(np.abs(s) <= 1, near, np.where(np.abs(s) < 2, far, 0.0))


def keys_ignores_a(s, a):
    """Hard-codes a = -0.75 (OpenCV's) whatever a is passed."""
    from tests.exercises.ch17_reference import keys_kernel
    return keys_kernel(s, -0.75)


def keys_swapped_coefficients(s, a):
    """(a + 3)|s|^3 - (a + 2)|s|^2 + 1 near 0: the two coefficients swapped."""
    s = np.abs(np.asarray(s, dtype=float))
    near = (a + 3) * s ** 3 - (a + 2) * s ** 2 + 1
    far = a * s ** 3 - 5 * a * s ** 2 + 8 * a * s - 4 * a
    return np.where(s <= 1, near, np.where(s < 2, far, 0.0))


def keys_inner_piece_only(s, a):
    """Stops at |s| = 1: the outer lobe, where the kernel is negative, is dropped."""
    s = np.abs(np.asarray(s, dtype=float))
    return np.where(s <= 1, (a + 2) * s ** 3 - (a + 3) * s ** 2 + 1, 0.0)


def keys_float32(s, a):
    """Computes in float32."""
    from tests.exercises.ch17_reference import keys_kernel
    return keys_kernel(s, a).astype(np.float32)


CHECKS = {"pixel_shuffle": check_pixel_shuffle, "psnr": check_psnr,
          "keys_kernel": check_keys_kernel}
MUTANTS = {"pixel_shuffle": [shuffle_block_transposed, shuffle_offset_major,
                             shuffle_reshape_only, shuffle_rows_of_blocks, shuffle_in_float64],
           "psnr": [psnr_natural_log, psnr_pooled, psnr_peak_from_the_data,
                    psnr_peak_not_squared, psnr_mean_over_the_batch_axis,
                    psnr_root_mse_with_10],
           "keys_kernel": [keys_without_abs, keys_ignores_a, keys_swapped_coefficients,
                           keys_inner_piece_only, keys_float32]}

test_exercise, test_mutant_is_rejected = make_tests("17", CHECKS, MUTANTS)


# --- correct answers in other styles pass too ------------------------------------------------
def shuffle_by_loops(x, r):
    """Index by index, straight from the definition."""
    return _loop_shuffle(np.asarray(x), r)


def shuffle_by_strided_slices(x, r):
    """Strided slices: channel block (i, j) of each c fills y[:, c, i::r, j::r]."""
    n, channels, h, w = x.shape
    y = np.empty((n, channels // (r * r), h * r, w * r), dtype=x.dtype)
    for i in range(r):
        for j in range(r):
            y[:, :, i::r, j::r] = x[:, i * r + j::r * r]
    return y


def psnr_by_loops(images, truth, data_range):
    values = []
    for image, target in zip(images, truth):
        mse = np.mean((np.asarray(image, float) - np.asarray(target, float)) ** 2)
        values.append(20 * math.log10(data_range) - 10 * math.log10(mse))
    return float(sum(values) / len(values))


def psnr_by_einsum(images, truth, data_range):
    diff = (np.asarray(images, float) - np.asarray(truth, float)).reshape(len(images), -1)
    mse = np.einsum("ij,ij->i", diff, diff) / diff.shape[1]
    return float(np.mean(20 * np.log10(data_range / np.sqrt(mse))))


def keys_by_polynomials(s, a):
    """numpy.polyval on the two pieces' coefficients."""
    s = np.abs(np.asarray(s, dtype=float))
    near = np.polyval([a + 2, -(a + 3), 0, 1], s)
    far = np.polyval([a, -5 * a, 8 * a, -4 * a], s)
    return np.select([s <= 1, s < 2], [near, far], 0.0)


def keys_by_scalars(s, a):
    """One distance at a time with math.fabs."""
    def k(t):
        t = math.fabs(t)
        if t <= 1:
            return ((a + 2) * t - (a + 3)) * t * t + 1
        if t < 2:
            return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
        return 0.0
    s = np.asarray(s, dtype=float)
    return np.array([k(t) for t in s.ravel()], dtype=float).reshape(s.shape)


OTHER_CORRECT = [("pixel_shuffle", shuffle_by_loops),
                 ("pixel_shuffle", shuffle_by_strided_slices),
                 ("psnr", psnr_by_loops), ("psnr", psnr_by_einsum),
                 ("keys_kernel", keys_by_polynomials), ("keys_kernel", keys_by_scalars)]


@pytest.mark.parametrize("name, answer", [pytest.param(n, f, id=f"{n}-{f.__name__}")
                                          for n, f in OTHER_CORRECT])
def test_correct_answers_in_other_styles_pass(name, answer):
    """The checks ask for the property, not for the reference's way of computing it."""
    CHECKS[name](answer)
