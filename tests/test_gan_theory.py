"""minigan.gan.theory: the optimal discriminator, the value by quadrature, and the JSD.

The properties are the paper's: D* maximises the value pointwise (Proposition 1),
V(D*, G) = -log 4 + 2 JSD (Theorem 1), and the JSD is a divergence bounded by log 2.
Densities are Gaussians and Gaussian mixtures with random parameters.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from minigan.gan import theory

LOG_2 = math.log(2.0)


# --- densities -----------------------------------------------------------------------------
class Mixture:
    """A 1-D Gaussian mixture: pdf(x) = sum_k w_k N(x; mu_k, sigma_k^2)."""

    def __init__(self, weights, means, stds):
        self.weights = np.asarray(weights, dtype=float) / np.sum(weights)
        self.means, self.stds = np.asarray(means, dtype=float), np.asarray(stds, dtype=float)

    def pdf(self, x):
        x = np.asarray(x, dtype=float)[..., None]
        return (self.weights * stats.norm.pdf(x, self.means, self.stds)).sum(axis=-1)

    def span(self, width=12.0):
        return (self.means - width * self.stds).min(), (self.means + width * self.stds).max()


def domain(*mixtures):
    """An interval holding all but ~1e-30 of each mixture's mass, and the modes as hints."""
    spans = [m.span() for m in mixtures]
    points = sorted({float(mu) for m in mixtures for mu in m.means})
    return min(s[0] for s in spans), max(s[1] for s in spans), points


means = st.floats(-5.0, 5.0)
stds = st.floats(0.3, 3.0)


@st.composite
def mixtures(draw, max_components=3):
    k = draw(st.integers(1, max_components))
    weights = draw(st.lists(st.floats(0.2, 1.0), min_size=k, max_size=k))
    return Mixture(weights, draw(st.lists(means, min_size=k, max_size=k)),
                   draw(st.lists(stds, min_size=k, max_size=k)))


def gaussian(mean, std):
    return Mixture([1.0], [mean], [std])


# --- the optimal discriminator -------------------------------------------------------------
def test_optimal_discriminator_values():
    """D* = p / (p + q): 3/4 for p = 3 q, 1/2 where the densities agree or both vanish,
    1 where only the data has mass, 0 where only G has."""
    d = theory.optimal_discriminator(np.array([0.3, 0.2, 0.0, 0.5, 0.0]),
                                     np.array([0.1, 0.2, 0.0, 0.0, 0.4]))
    np.testing.assert_allclose(d, [0.75, 0.5, 0.5, 1.0, 0.0])
    assert theory.optimal_discriminator(0.2, 0.2) == 0.5


@given(st.floats(1e-8, 10.0), st.floats(1e-8, 10.0))
def test_optimal_discriminator_is_symmetric(p, q):
    """Swapping the roles of data and generator turns D* into 1 - D*."""
    assert math.isclose(theory.optimal_discriminator(p, q) + theory.optimal_discriminator(q, p),
                        1.0, rel_tol=1e-12)


@given(st.floats(1e-6, 10.0), st.floats(1e-6, 10.0), st.floats(1e-6, 1 - 1e-6))
def test_optimal_discriminator_maximises_the_value_pointwise(p, q, d):
    """At every x, p log D + q log(1 - D) is largest at D = D*(x) (Proposition 1)."""
    d_star = theory.optimal_discriminator(p, q)

    def pointwise_value(d):
        return p * math.log(d) + q * math.log1p(-d)
    assert pointwise_value(d_star) >= pointwise_value(d) - 1e-12 * (p + q)


@given(st.floats(1e-6, 10.0), st.floats(1e-6, 10.0), st.floats(-30.0, 30.0))
def test_optimal_logit_maximises_the_integrand(p, q, a):
    """The same, in logits: value_integrand(a, p, q) is largest at a* = log p - log q."""
    a_star = theory.optimal_logit(p, q)
    assert math.isclose(a_star, math.log(p / q), rel_tol=1e-9, abs_tol=1e-12)
    assert theory.value_integrand(a_star, p, q) >= theory.value_integrand(a, p, q) - 1e-12 * (p + q)


def test_optimal_logit_where_a_density_vanishes():
    """+inf where only p_data has mass, -inf where only p_g has, 0 where neither;
    and the value integrand stays finite (0 * log 0 = 0) there."""
    a = theory.optimal_logit(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    assert a[0] == np.inf and a[1] == -np.inf and a[2] == 0.0
    np.testing.assert_array_equal(theory.value_integrand(a, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),
                                  [0.0, 0.0, 0.0])


def test_log_sigmoid_is_exact_at_extreme_logits():
    """log sigmoid(a) = -log(1 + e^-a): about a for a << 0, about -e^-a for a >> 0, never nan."""
    a = np.array([-1e4, -40.0, 0.0, 40.0, 1e4, np.inf, -np.inf])
    expected = [-1e4, -40.0, -LOG_2, -math.exp(-40.0), 0.0, 0.0, -np.inf]
    np.testing.assert_allclose(theory.log_sigmoid(a), expected, rtol=1e-12)


# --- the value and the Jensen-Shannon divergence ------------------------------------------------
@settings(max_examples=20)   # each example is a few adaptive quadratures
@given(mixtures(), mixtures())
def test_value_at_optimum_is_minus_log_4_plus_twice_the_jsd(p_data, p_g):
    """V(D*, G) = -log 4 + 2 JSD(p_data || p_g) (Theorem 1), for random Gaussian mixtures:
    two different integrals, computed independently, agree."""
    lower, upper, points = domain(p_data, p_g)

    def logit(x):
        return theory.optimal_logit(p_data.pdf(x), p_g.pdf(x))
    v = theory.value(logit, p_data.pdf, p_g.pdf, lower, upper, points)
    jsd = theory.jensen_shannon_divergence(p_data.pdf, p_g.pdf, lower, upper, points)
    assert v == pytest.approx(-theory.LOG_4 + 2 * jsd, abs=1e-8)
    best = theory.optimal_value(p_data.pdf, p_g.pdf, lower, upper, points)
    assert best == pytest.approx(v, abs=1e-8)


@settings(max_examples=20)   # each example is a few adaptive quadratures
@given(means, stds, means, stds)
def test_value_at_optimum_for_pairs_of_gaussians(mu_data, sigma_data, mu_g, sigma_g):
    """The identity again, for the pairs of chapter 02: Gaussians N(mu, sigma^2)."""
    p_data, p_g = gaussian(mu_data, sigma_data), gaussian(mu_g, sigma_g)
    lower, upper, points = domain(p_data, p_g)
    v = theory.value(lambda x: theory.optimal_logit(p_data.pdf(x), p_g.pdf(x)),
                     p_data.pdf, p_g.pdf, lower, upper, points)
    assert v == pytest.approx(theory.optimal_value(p_data.pdf, p_g.pdf, lower, upper, points),
                              abs=1e-8)


@settings(max_examples=20)   # each example is a few adaptive quadratures
@given(mixtures(), mixtures(), st.floats(-3.0, 3.0), st.floats(0.1, 3.0))
def test_no_discriminator_beats_the_optimal_one(p_data, p_g, shift, frequency):
    """V(D, G) <= V(D*, G) for a D whose logit is D*'s plus a wiggle (or a constant)."""
    lower, upper, points = domain(p_data, p_g)
    best = theory.optimal_value(p_data.pdf, p_g.pdf, lower, upper, points)

    def logit(x):
        return (theory.optimal_logit(p_data.pdf(x), p_g.pdf(x))
                + shift * np.sin(frequency * np.asarray(x)))
    assert theory.value(logit, p_data.pdf, p_g.pdf, lower, upper, points) <= best + 1e-9
    assert theory.value(lambda x: shift + 0 * x, p_data.pdf, p_g.pdf, lower, upper,
                        points) <= best + 1e-9


def test_value_of_the_undecided_discriminator_is_minus_log_4():
    """D = 1/2 everywhere (logit 0) earns log 1/2 on each sample: V = -log 4, whatever G is."""
    p_data, p_g = gaussian(0.0, 1.0), gaussian(3.0, 0.5)
    lower, upper, points = domain(p_data, p_g)
    v = theory.value(lambda x: 0 * np.asarray(x), p_data.pdf, p_g.pdf, lower, upper, points)
    assert v == pytest.approx(-theory.LOG_4, abs=1e-9)


@given(mixtures(), mixtures())
def test_jsd_is_symmetric_and_between_0_and_log_2(p, q):
    """0 <= JSD(p || q) = JSD(q || p) <= log 2."""
    lower, upper, points = domain(p, q)
    forward = theory.jensen_shannon_divergence(p.pdf, q.pdf, lower, upper, points)
    backward = theory.jensen_shannon_divergence(q.pdf, p.pdf, lower, upper, points)
    assert -1e-10 <= forward <= LOG_2 + 1e-10
    assert forward == pytest.approx(backward, abs=1e-9)


@given(mixtures())
def test_jsd_of_a_density_with_itself_is_zero(p):
    lower, upper, points = domain(p)
    assert abs(theory.jensen_shannon_divergence(p.pdf, p.pdf, lower, upper, points)) < 1e-12


@given(means, stds, st.floats(0.05, 5.0), st.floats(1.0, 2.0))
def test_jsd_is_positive_between_different_gaussians(mu, sigma, shift, stretch):
    """'0 only if equal': a Gaussian moved by at least 0.05 sigma (and maybe widened) is
    a measurable distance away. For a small shift d sigma, JSD is about d^2 / 8; for
    larger ones it grows more slowly, towards log 2."""
    p, q = gaussian(mu, sigma), gaussian(mu + shift * sigma, stretch * sigma)
    lower, upper, points = domain(p, q)
    jsd = theory.jensen_shannon_divergence(p.pdf, q.pdf, lower, upper, points)
    assert jsd > min(shift, 1) ** 2 / 16


def test_jsd_of_gaussians_far_apart_is_log_2():
    """Densities that do not overlap are as far apart as the JSD can say: log 2."""
    p, q = gaussian(-30.0, 1.0), gaussian(30.0, 1.0)
    lower, upper, points = domain(p, q)
    assert theory.jensen_shannon_divergence(p.pdf, q.pdf, lower, upper, points) == pytest.approx(
        LOG_2, abs=1e-9)
    v = theory.value(lambda x: theory.optimal_logit(p.pdf(x), q.pdf(x)), p.pdf, q.pdf,
                     lower, upper, points)
    assert v == pytest.approx(0.0, abs=1e-9)   # D* is certain everywhere: log 1 = 0


@given(mixtures(), mixtures())
def test_jsd_agrees_with_a_sum_over_a_fine_grid(p, q):
    """An independent oracle: the JSD of the two densities tabulated on a fine grid, as
    discrete distributions, from scipy.stats.entropy (which computes KL and normalises)."""
    lower, upper, points = domain(p, q)
    grid = np.linspace(lower, upper, 20_001)
    p_grid, q_grid = p.pdf(grid), q.pdf(grid)
    m_grid = (p_grid + q_grid) / 2
    oracle = 0.5 * stats.entropy(p_grid, m_grid) + 0.5 * stats.entropy(q_grid, m_grid)
    jsd = theory.jensen_shannon_divergence(p.pdf, q.pdf, lower, upper, points)
    assert jsd == pytest.approx(oracle, abs=1e-6)
