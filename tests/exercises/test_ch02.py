"""Chapter 02's exercises: D* in closed form, the JSD identity, and the GAN losses.

Each ``check_*`` states the property an answer must have and asserts it. The tests
run them on the chosen solutions and on planted wrong answers (mutants).
"""
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

import minigan
from minigan.gan import theory
from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch02


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


# --- 2.1 the optimal discriminator -------------------------------------------------------
def check_optimal_discriminator(optimal_discriminator):
    """D*(x) maximises p_data log D + p_g log(1 - D) at every x: no D on a fine grid of
    (0, 1) does better. So D* = 1/2 where the densities agree, and D* -> 1 (0) where
    only the data (only G) has mass. The answer keeps the shape of its inputs."""
    rng = np.random.default_rng(20)
    grid = np.linspace(1e-6, 1 - 1e-6, 200_001)
    log_d, log_1_minus_d = np.log(grid), np.log1p(-grid)
    for shape in [(40,), (4, 5)]:
        p, q = rng.uniform(1e-3, 5.0, shape), rng.uniform(1e-3, 5.0, shape)
        d = np.asarray(optimal_discriminator(p, q), dtype=float)
        assert d.shape == shape, f"expected shape {shape}, got {d.shape}"
        assert np.all((d > 0) & (d < 1)), "D* is a probability strictly between 0 and 1 here"
        for pi, qi, di in zip(p.ravel(), q.ravel(), d.ravel()):
            best_on_grid = np.max(pi * log_d + qi * log_1_minus_d)
            mine = pi * math.log(di) + qi * math.log1p(-di)
            assert mine >= best_on_grid - 1e-9 * (pi + qi), (
                f"at p_data = {pi:.3g}, p_g = {qi:.3g}, D = {di:.4g} is not the maximiser")
    np.testing.assert_allclose(optimal_discriminator(np.array([0.7, 2.0]), np.array([0.7, 2.0])),
                               [0.5, 0.5], rtol=1e-12)
    np.testing.assert_allclose(optimal_discriminator(np.array([1.0, 0.0]), np.array([0.0, 1.0])),
                               [1.0, 0.0], atol=1e-12)


def optimal_discriminator_swapped(p_data, p_g):
    """Gives the probability of 'generated' instead of 'real'."""
    return p_g / (p_data + p_g)


def optimal_discriminator_ratio(p_data, p_g):
    """Returns the density ratio p_data / p_g, which is D*'s odds, not D*."""
    return p_data / p_g


def optimal_discriminator_sigmoid_of_difference(p_data, p_g):
    """sigmoid(p_data - p_g): right at p_data = p_g, wrong elsewhere (the logit of D* is
    log p_data - log p_g, not p_data - p_g)."""
    return 1 / (1 + np.exp(p_g - p_data))


# --- 2.2 the JSD identity -----------------------------------------------------------------
def _pairs():
    """(p, q, lower, upper): Gaussians, a mixture, equal and nearly disjoint densities."""
    mixture = lambda x: 0.3 * stats.norm.pdf(x, -1, 0.5) + 0.7 * stats.norm.pdf(x, 2, 1.0)
    return [(stats.norm(4, 0.5).pdf, stats.norm(2.5, 1.0).pdf, -10.0, 15.0),
            (stats.norm(0, 1).pdf, stats.norm(0.5, 2.0).pdf, -25.0, 25.0),
            (mixture, stats.norm(1, 1.5).pdf, -18.0, 20.0),
            (stats.norm(0, 1).pdf, stats.norm(0, 1).pdf, -12.0, 12.0),
            (stats.norm(-6, 1).pdf, stats.norm(6, 1).pdf, -18.0, 18.0)]


def value_at_optimum(p, q, lower, upper):
    """V(D*, G) by minigan's quadrature of p log D* + q log(1 - D*)."""
    def logit(x):
        return theory.optimal_logit(p(x), q(x))
    return theory.value(logit, p, q, lower, upper)


def check_jensen_shannon_divergence(jensen_shannon_divergence):
    """Theorem 1: -log 4 + 2 JSD(p_data || p_g) equals the value V(D*, G) of the optimal
    discriminator, for Gaussians, a mixture, equal densities (JSD = 0) and densities that
    barely overlap (JSD -> log 2). The JSD is also symmetric and in [0, log 2]."""
    for p, q, lower, upper in _pairs():
        jsd = float(jensen_shannon_divergence(p, q, lower, upper))
        assert -1e-9 <= jsd <= math.log(2) + 1e-9, f"JSD = {jsd} is outside [0, log 2]"
        assert jsd == pytest.approx(float(jensen_shannon_divergence(q, p, lower, upper)),
                                    abs=1e-7), "JSD(p || q) must equal JSD(q || p)"
        v = value_at_optimum(p, q, lower, upper)
        assert -math.log(4) + 2 * jsd == pytest.approx(v, abs=1e-6), (
            f"-log 4 + 2 JSD = {-math.log(4) + 2 * jsd:.8f} but V(D*, G) = {v:.8f}")


def _kl(p, q, lower, upper):
    return integrate.quad(lambda x: special.rel_entr(p(x), q(x)), lower, upper, limit=200)[0]


def jsd_is_kl(p, q, lower, upper):
    """Computes KL(p || q) instead: not symmetric, not bounded."""
    return _kl(p, q, lower, upper)


def jsd_without_halves(p, q, lower, upper):
    """KL(p || m) + KL(q || m): twice the JSD."""
    m = lambda x: 0.5 * (p(x) + q(x))
    return _kl(p, m, lower, upper) + _kl(q, m, lower, upper)


def jsd_in_bits(p, q, lower, upper):
    """The JSD in bits (log base 2): right shape, wrong units for the identity."""
    return theory.jensen_shannon_divergence(p, q, lower, upper) / math.log(2)


def jsd_with_sum_instead_of_mixture(p, q, lower, upper):
    """Uses m = p + q (forgets the 1/2): JSD - log 2, negative."""
    m = lambda x: p(x) + q(x)
    return 0.5 * _kl(p, m, lower, upper) + 0.5 * _kl(q, m, lower, upper)


# --- 2.3 to 2.5 the losses -----------------------------------------------------------------
def _evaluate(loss, *arrays, dtype=np.float64):
    """The loss's value (a float) and its gradients in each logit array, by autograd."""
    tensors = [minigan.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in arrays]
    value = loss(*tensors)
    assert isinstance(value, minigan.Tensor) and value.size == 1, (
        "return a scalar minigan Tensor built with minigan operations")
    gradients = minigan.grad(value.reshape(()), tensors)
    return value.item(), [g.numpy() for g in gradients]


def _check_loss(loss, naive, gradients, extremes):
    """Equal to ``naive`` (a formula in D = sigmoid(a)) for moderate logits, with the
    ``gradients`` of the theory, and finite and exact at the ``extremes`` (logits +-1e4)."""
    rng = np.random.default_rng(22)
    inputs = naive.__code__.co_argcount                  # 2 for D's loss, 1 for G's
    for sizes in [(16, 16), (12, 7)]:
        arrays = [rng.uniform(-12, 12, (n, 1)) for n in sizes[:inputs]]
        value, grads = _evaluate(loss, *arrays)
        assert value == pytest.approx(naive(*arrays), rel=1e-9, abs=1e-12), (
            f"the loss is {value:.10g}, the formula in D = sigmoid(logit) gives "
            f"{naive(*arrays):.10g}")
        for mine, expected in zip(grads, gradients(*arrays)):
            np.testing.assert_allclose(mine, expected, rtol=1e-7, atol=1e-12)
    for arrays, expected in extremes:
        value, grads = _evaluate(loss, *arrays, dtype=np.float32)
        assert math.isfinite(value), f"the loss is {value} at logits {arrays}"
        assert value == pytest.approx(expected, abs=1e-2), f"at logits {arrays}"
        assert all(np.all(np.isfinite(g)) for g in grads), f"a gradient is not finite at {arrays}"


BIG, SMALL = [[1e4], [1e4]], [[-1e4], [-1e4]]


def check_discriminator_loss(discriminator_loss):
    """-mean log D(x) - mean log(1 - D(G(z))), each mean over its own batch; gradients
    -(1 - D(x)) / N on real logits and D(G(z)) / M on fake ones; 0 when D is right and
    sure (real +1e4, fake -1e4), 2e4 when it is wrong and sure."""
    _check_loss(discriminator_loss,
                naive=lambda r, f: -np.mean(np.log(sigmoid(r))) - np.mean(np.log(1 - sigmoid(f))),
                gradients=lambda r, f: [-(1 - sigmoid(r)) / r.size, sigmoid(f) / f.size],
                extremes=[((BIG, SMALL), 0.0), ((SMALL, BIG), 2e4)])


def check_generator_loss_saturating(generator_loss_saturating):
    """mean log(1 - D(G(z))); per sample its slope in the logit is -D(G(z)), which
    vanishes where D rejects the fake; log(1 - sigmoid(1e4)) = -1e4, not -inf."""
    _check_loss(generator_loss_saturating,
                naive=lambda f: np.mean(np.log(1 - sigmoid(f))),
                gradients=lambda f: [-sigmoid(f) / f.size],
                extremes=[((BIG,), -1e4), ((SMALL,), 0.0)])


def check_generator_loss_nonsaturating(generator_loss_nonsaturating):
    """-mean log D(G(z)); per sample its slope in the logit is -(1 - D(G(z))), close to -1
    where D rejects the fake; -log sigmoid(-1e4) = 1e4, not inf."""
    _check_loss(generator_loss_nonsaturating,
                naive=lambda f: -np.mean(np.log(sigmoid(f))),
                gradients=lambda f: [-(1 - sigmoid(f)) / f.size],
                extremes=[((BIG,), 0.0), ((SMALL,), 1e4)])


def discriminator_loss_labels_swapped(real_logits, fake_logits):
    """Trains D to call the data fake and the fakes real."""
    from minigan.ops import softplus
    return softplus(real_logits).mean() + softplus(-fake_logits).mean()


def discriminator_loss_from_probabilities(real_logits, fake_logits):
    """Goes through D = sigmoid(a): log(1 - D) = log 0 when D rounds to 1."""
    d_real, d_fake = real_logits.sigmoid(), fake_logits.sigmoid()
    return -(d_real.log().mean() + (1 - d_fake).log().mean())


def discriminator_loss_one_mean(real_logits, fake_logits):
    """Averages over both batches together, weighting them by their sizes."""
    from minigan.ops import concatenate, softplus
    return concatenate([softplus(-real_logits), softplus(fake_logits)]).mean()


def saturating_is_nonsaturating(fake_logits):
    """The non-saturating loss in the place of the saturating one."""
    from minigan.ops import softplus
    return softplus(-fake_logits).mean()


def saturating_wrong_sign(fake_logits):
    """-mean log(1 - D(G(z))): what D maximises, not what G minimises."""
    from minigan.ops import softplus
    return softplus(fake_logits).mean()


def saturating_from_probabilities(fake_logits):
    """log(1 - sigmoid(a)): -inf once sigmoid(a) rounds to 1."""
    return (1 - fake_logits.sigmoid()).log().mean()


def nonsaturating_is_saturating(fake_logits):
    """The saturating loss in the place of the non-saturating one."""
    from minigan.ops import softplus
    return -softplus(fake_logits).mean()


def nonsaturating_from_probabilities(fake_logits):
    """-log sigmoid(a): inf once sigmoid(a) rounds to 0."""
    return -fake_logits.sigmoid().log().mean()


def nonsaturating_sum(fake_logits):
    """Sums over the batch instead of averaging: the gradient grows with the batch."""
    from minigan.ops import softplus
    return softplus(-fake_logits).sum()


CHECKS = {"optimal_discriminator": check_optimal_discriminator,
          "jensen_shannon_divergence": check_jensen_shannon_divergence,
          "discriminator_loss": check_discriminator_loss,
          "generator_loss_saturating": check_generator_loss_saturating,
          "generator_loss_nonsaturating": check_generator_loss_nonsaturating}
MUTANTS = {"optimal_discriminator": [optimal_discriminator_swapped, optimal_discriminator_ratio,
                                     optimal_discriminator_sigmoid_of_difference],
           "jensen_shannon_divergence": [jsd_is_kl, jsd_without_halves, jsd_in_bits,
                                         jsd_with_sum_instead_of_mixture],
           "discriminator_loss": [discriminator_loss_labels_swapped,
                                  discriminator_loss_from_probabilities,
                                  discriminator_loss_one_mean],
           "generator_loss_saturating": [saturating_is_nonsaturating, saturating_wrong_sign,
                                         saturating_from_probabilities],
           "generator_loss_nonsaturating": [nonsaturating_is_saturating,
                                            nonsaturating_from_probabilities, nonsaturating_sum]}

test_exercise, test_mutant_is_rejected = make_tests("02", CHECKS, MUTANTS)
