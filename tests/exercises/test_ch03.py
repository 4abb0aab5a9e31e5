"""Chapter 03's exercises: maxout, the Parzen-window log-likelihood, the input noise."""
import math
import random

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import minigan
from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch03

SQRT3 = math.sqrt(3)


def _unchanged(before, after, name):
    assert np.array_equal(before, after), f"your answer changed its input {name} in place"


def check_maxout(maxout):
    """Each unit outputs the largest of its pieces, piece p of unit j in row j * pieces + p:
    compared with the affine pieces computed here, for several batch sizes (one included:
    the batch axis must stay), widths, unit and piece counts. With one piece maxout is affine."""
    rng = np.random.default_rng(0)
    for n, width, units, pieces in [(6, 4, 3, 5), (5, 3, 2, 1), (4, 2, 1, 3), (1, 3, 1, 2),
                                    (7, 5, 4, 2)]:
        x = rng.standard_normal((n, width))
        weight = rng.standard_normal((units * pieces, width))
        bias = rng.standard_normal(units * pieces)
        copies = x.copy(), weight.copy(), bias.copy()
        affine = (x @ weight.T + bias).reshape(n, units, pieces)
        got = np.asarray(maxout(x, weight, bias, pieces))
        case = f"x {x.shape}, {units} units of {pieces} pieces"
        assert got.shape == (n, units), f"{case}: expected shape {(n, units)}, got {got.shape}"
        np.testing.assert_allclose(got, affine.max(axis=2), rtol=1e-6, atol=1e-6, err_msg=case)
        for before, after, name in zip(copies, (x, weight, bias), ("x", "weight", "bias")):
            _unchanged(before, after, name)


def _parzen_exactly(samples, data, sigma):
    """log (1/n) sum_i N(x; samples_i, sigma^2 I), one Gaussian density at a time (scipy)."""
    d = samples.shape[1]
    densities = np.stack([multivariate_normal(mean, sigma ** 2 * np.eye(d)).logpdf(data)
                          for mean in samples]).reshape(len(samples), len(data))
    return logsumexp(densities, axis=0) - math.log(len(samples))


def check_parzen_log_likelihood(parzen):
    """Equals the log of the average Gaussian density (scipy) for several n, m, d and sigma;
    and stays finite, at its exact value, where every density underflows (data 100 away
    from all samples, sigma = 0.05): the log of a sum of exps needs logsumexp."""
    rng = np.random.default_rng(1)
    for n, m, d, sigma in [(30, 5, 3, 0.3), (30, 5, 3, 1.0), (7, 4, 2, 2.0), (1, 3, 1, 0.5),
                           (12, 9, 5, 0.7)]:
        samples, data = rng.standard_normal((n, d)), rng.standard_normal((m, d)) + 0.5
        copies = samples.copy(), data.copy()
        got = np.asarray(parzen(samples, data, sigma), dtype=np.float64)
        case = f"{n} samples, {m} data points in {d} dimensions, sigma = {sigma}"
        assert got.shape == (m,), f"{case}: expected one value per data point, shape ({m},), " \
                                  f"got {got.shape}"
        np.testing.assert_allclose(got, _parzen_exactly(samples, data, sigma), rtol=1e-6,
                                   err_msg=case)
        _unchanged(copies[0], samples, "samples")
        _unchanged(copies[1], data, "data")
    samples, data = rng.standard_normal((30, 3)), rng.standard_normal((5, 3)) + 100.0
    far = np.asarray(parzen(samples, data, 0.05), dtype=np.float64)
    assert np.all(np.isfinite(far)), (
        f"data 100 away from every sample, sigma = 0.05: got {far}; every exp(...) underflows "
        f"to 0 there, so compute the log of the sum of exps with logsumexp")
    exponents = -((data[:, None, :] - samples[None]) ** 2).sum(axis=2) / (2 * 0.05 ** 2)
    expected = (logsumexp(exponents, axis=1) - math.log(30)
                - 1.5 * math.log(2 * math.pi * 0.05 ** 2))
    np.testing.assert_allclose(far, expected, rtol=1e-6,
                               err_msg="data 100 away from every sample, sigma = 0.05")


def _binned(z, bins):
    """The bin, 0..bins-1, of each value of z in `bins` equal parts of [-sqrt 3, sqrt 3]."""
    return np.clip(np.floor((z + SQRT3) / (2 * SQRT3) * bins), 0, bins - 1).astype(int)


def _worst_z_score(counts, expected):
    return float(np.max(np.abs(counts - expected)) / math.sqrt(expected))


def _draw_with_other_global_seeds(uniform_noise, seed, n, dim, others):
    """uniform_noise(default_rng(seed), n, dim) with NumPy's, Python's and minigan's global
    generators seeded with `others`: an answer that reads only its rng does not notice."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        np.random.seed(others)
        random.seed(others)
        minigan.manual_seed(others)
        return np.asarray(uniform_noise(np.random.default_rng(seed), n, dim), dtype=np.float64)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def check_uniform_noise(uniform_noise):
    """n x dim independent draws of U(-sqrt 3, sqrt 3), all from ``rng``:

    * the shape is (n, dim); mean 0 and variance 1; inside [-sqrt 3, sqrt 3] and reaching
      within 0.001 of both ends (200,000 draws miss that with a probability of 1e-25);
    * uniform: each coordinate's histogram over 10 equal bins is flat;
    * independent: values do not repeat (up to sign; fewer than 5% may, as float32 draws
      do), and the joint histogram of every two coordinates, and of each coordinate in
      consecutive rows, is flat over 4 x 4 bins;
    * the same seed gives the same noise whatever NumPy's, Python's and minigan's global
      generators hold, and another seed gives other noise.

    A histogram is called flat when no bin is 6 standard errors off its expected count;
    a correct answer fails one of the 980 bins with a probability of about 2e-6 (over
    200 seeds the worst bin was 4.7 off).
    """
    for n, dim in [(3, 1), (1, 4), (5, 2)]:
        shape = np.shape(uniform_noise(np.random.default_rng(0), n, dim))
        assert shape == (n, dim), f"uniform_noise(rng, {n}, {dim}): expected shape " \
                                  f"{(n, dim)}, got {shape}"

    z = np.asarray(uniform_noise(np.random.default_rng(2), 20000, 10), dtype=np.float64)
    assert z.shape == (20000, 10), f"expected shape (20000, 10), got {z.shape}"
    assert abs(z.mean()) < 0.02, f"the mean should be 0, got {z.mean():.4f}"
    assert abs(z.var() - 1) < 0.02, f"the variance should be 1, got {z.var():.4f}"
    assert z.min() >= -SQRT3 - 1e-12 and z.max() <= SQRT3 + 1e-12, (
        f"values should lie in [-sqrt 3, sqrt 3] = [-1.7321, 1.7321], "
        f"got [{z.min():.4f}, {z.max():.4f}]")
    assert z.min() < -SQRT3 + 1e-3 and z.max() > SQRT3 - 1e-3, (
        f"200,000 draws of U(-sqrt 3, sqrt 3) come within 0.001 of both ends, got "
        f"[{z.min():.5f}, {z.max():.5f}]: the bounds are +-sqrt 3 = +-1.73205")
    for column in range(z.shape[1]):
        counts = np.bincount(_binned(z[:, column], 10), minlength=10)
        assert _worst_z_score(counts, len(z) / 10) < 6, (
            f"coordinate {column} is not uniform on [-sqrt 3, sqrt 3]: its counts in 10 equal "
            f"bins are {counts.tolist()}, expected about {len(z) // 10} each")
    repeated = 1 - len(np.unique(np.abs(z))) / z.size
    assert repeated < 0.05, (
        f"{repeated:.0%} of the values repeat (up to sign): the draws are not independent "
        f"(one draw reused across coordinates or rows?)")
    bins = _binned(z, 4)
    pairs = [(f"coordinates {i} and {j}", bins[:, i], bins[:, j])
             for i in range(z.shape[1]) for j in range(i + 1, z.shape[1])]
    pairs += [(f"coordinate {i} in consecutive rows", bins[:-1, i], bins[1:, i])
              for i in range(z.shape[1])]
    for what, a, b in pairs:
        counts = np.bincount(4 * a + b, minlength=16)
        assert _worst_z_score(counts, len(a) / 16) < 6, (
            f"{what} are dependent: their joint counts over 4 x 4 equal bins are "
            f"{counts.reshape(4, 4).tolist()}, expected about {len(a) // 16} each")

    first = _draw_with_other_global_seeds(uniform_noise, 5, 50, 3, others=1)
    again = _draw_with_other_global_seeds(uniform_noise, 5, 50, 3, others=2)
    assert np.array_equal(first, again), (
        "two calls with default_rng(5) gave different noise: draw only from the rng argument "
        "(not from np.random, random or minigan's generator)")
    other = _draw_with_other_global_seeds(uniform_noise, 6, 50, 3, others=1)
    assert not np.array_equal(first, other), (
        "default_rng(5) and default_rng(6) gave the same noise: draw from the rng argument, "
        "not from a generator of your own with a fixed seed")


# --- planted wrong answers -----------------------------------------------------------------
def maxout_pieces_interleaved(x, weight, bias, pieces):
    """Groups rows as p * units + j (pieces interleaved) instead of j * pieces + p."""
    units = weight.shape[0] // pieces
    return (x @ weight.T + bias).reshape(len(x), pieces, units).max(axis=1)


def maxout_sums_pieces(x, weight, bias, pieces):
    """Sums the pieces instead of taking the largest."""
    units = weight.shape[0] // pieces
    return (x @ weight.T + bias).reshape(len(x), units, pieces).sum(axis=2)


def maxout_forgets_bias(x, weight, bias, pieces):
    """Leaves out the bias: max of x w^T instead of x w^T + b."""
    units = weight.shape[0] // pieces
    return (x @ weight.T).reshape(len(x), units, pieces).max(axis=2)


def maxout_squeezes(x, weight, bias, pieces):
    """Squeezes the result: a batch of one loses its batch axis."""
    units = weight.shape[0] // pieces
    return (x @ weight.T + bias).reshape(len(x), units, pieces).max(axis=2).squeeze()


def parzen_naive_exp(samples, data, sigma):
    """Exponentiates before summing: underflows to log(0) = -inf far from the samples."""
    d = samples.shape[1]
    squared = ((data[:, None, :] - samples[None, :, :]) ** 2).sum(axis=2)
    with np.errstate(divide="ignore"):
        return (np.log(np.exp(-squared / (2 * sigma ** 2)).mean(axis=1))
                - 0.5 * d * math.log(2 * math.pi * sigma ** 2))


def parzen_forgets_one_over_n(samples, data, sigma):
    """Sums the kernels without dividing by n."""
    from tests.exercises.ch03_reference import parzen_log_likelihood
    return parzen_log_likelihood(samples, data, sigma) + math.log(len(samples))


def parzen_one_dimensional_constant(samples, data, sigma):
    """Normalises with (1/2) log(2 pi sigma^2), the constant of one dimension, not d of them."""
    from tests.exercises.ch03_reference import parzen_log_likelihood
    d = samples.shape[1]
    return parzen_log_likelihood(samples, data, sigma) + 0.5 * (d - 1) * math.log(
        2 * math.pi * sigma ** 2)


def uniform_noise_unit_interval(rng, n, dim):
    """U(-1, 1): mean 0 but variance 1/3."""
    return rng.uniform(-1, 1, size=(n, dim))


def uniform_noise_one_draw_per_row(rng, n, dim):
    """One draw copied to every coordinate: right mean, variance and range, no independence."""
    return rng.uniform(-SQRT3, SQRT3, (n, 1)) * np.ones((1, dim))


def uniform_noise_global_generator(rng, n, dim):
    """Ignores rng and draws from np.random: the seed passed in changes nothing."""
    return np.random.uniform(-SQRT3, SQRT3, size=(n, dim))


def uniform_noise_rounded_bounds(rng, n, dim):
    """U(-1.7, 1.7): the bound rounded, variance 0.963 and the ends never reached."""
    return rng.uniform(-1.7, 1.7, size=(n, dim))


CHECKS = {"maxout": check_maxout, "parzen_log_likelihood": check_parzen_log_likelihood,
          "uniform_noise": check_uniform_noise}
MUTANTS = {"maxout": [maxout_pieces_interleaved, maxout_sums_pieces, maxout_forgets_bias,
                      maxout_squeezes],
           "parzen_log_likelihood": [parzen_naive_exp, parzen_forgets_one_over_n,
                                     parzen_one_dimensional_constant],
           "uniform_noise": [uniform_noise_unit_interval, uniform_noise_one_draw_per_row,
                             uniform_noise_global_generator, uniform_noise_rounded_bounds]}

test_exercise, test_mutant_is_rejected = make_tests("03", CHECKS, MUTANTS)
