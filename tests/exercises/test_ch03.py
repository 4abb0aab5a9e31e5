"""Chapter 03's exercises: maxout, the Parzen-window log-likelihood, the input noise."""
import math

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch03


def check_maxout(maxout):
    """Each unit outputs the largest of its pieces; with one piece maxout is affine."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    for units, pieces in [(3, 5), (2, 1), (1, 3)]:
        weight = rng.standard_normal((units * pieces, 4))
        bias = rng.standard_normal(units * pieces)
        affine = (x @ weight.T + bias).reshape(6, units, pieces)
        got = np.asarray(maxout(x, weight, bias, pieces))
        assert got.shape == (6, units), f"expected shape (6, {units}), got {got.shape}"
        np.testing.assert_allclose(got, affine.max(axis=2), rtol=1e-10, atol=1e-10)


def check_parzen_log_likelihood(parzen):
    """Equals the log of the average Gaussian density (scipy), and stays finite where every
    density underflows (points far from all samples, tiny sigma): use logsumexp."""
    rng = np.random.default_rng(1)
    samples, data = rng.standard_normal((30, 3)), rng.standard_normal((5, 3))
    for sigma in (0.3, 1.0):
        densities = np.stack([multivariate_normal(m, sigma ** 2 * np.eye(3)).logpdf(data)
                              for m in samples])
        expected = logsumexp(densities, axis=0) - math.log(len(samples))
        np.testing.assert_allclose(parzen(samples, data, sigma), expected, rtol=1e-9)
    far = parzen(samples, data + 100.0, 0.05)
    assert np.all(np.isfinite(far)), "underflow: compute the log of a sum of exps stably"
    assert np.all(far < -1e5)


def check_uniform_noise(uniform_noise):
    """Mean 0, variance 1, inside [-sqrt 3, sqrt 3] and reaching near both ends."""
    z = np.asarray(uniform_noise(np.random.default_rng(2), 20000, 10))
    assert z.shape == (20000, 10)
    assert abs(z.mean()) < 0.02 and abs(z.var() - 1) < 0.02
    assert z.min() >= -math.sqrt(3) and z.max() <= math.sqrt(3)
    assert z.min() < -1.7 and z.max() > 1.7


# --- planted wrong answers -----------------------------------------------------------------
def maxout_pieces_interleaved(x, weight, bias, pieces):
    """Groups rows as p * units + j (pieces interleaved) instead of j * pieces + p."""
    units = weight.shape[0] // pieces
    return (x @ weight.T + bias).reshape(len(x), pieces, units).max(axis=1)


def maxout_sums_pieces(x, weight, bias, pieces):
    """Sums the pieces instead of taking the largest."""
    units = weight.shape[0] // pieces
    return (x @ weight.T + bias).reshape(len(x), units, pieces).sum(axis=2)


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


def uniform_noise_unit_interval(rng, n, dim):
    """U(-1, 1): mean 0 but variance 1/3."""
    return rng.uniform(-1, 1, size=(n, dim))


CHECKS = {"maxout": check_maxout, "parzen_log_likelihood": check_parzen_log_likelihood,
          "uniform_noise": check_uniform_noise}
MUTANTS = {"maxout": [maxout_pieces_interleaved, maxout_sums_pieces],
           "parzen_log_likelihood": [parzen_naive_exp, parzen_forgets_one_over_n],
           "uniform_noise": [uniform_noise_unit_interval]}

test_exercise, test_mutant_is_rejected = make_tests("03", CHECKS, MUTANTS)
