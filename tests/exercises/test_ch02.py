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


def softplus(a):
    """log(1 + e^a), exact for any a (the tests' own, in NumPy)."""
    return np.logaddexp(0.0, a)


# --- 2.1 the optimal discriminator -------------------------------------------------------
def check_optimal_discriminator(optimal_discriminator):
    """D*(x) maximises p_data log D + p_g log(1 - D) at every x: no D on a fine grid of
    (0, 1) does better, and the slope p_data / D - p_g / (1 - D) is zero there, so
    p_data (1 - D*) = p_g D* to rounding error. Only the densities' ratio matters: D* is
    the same where both are 1e-200 times as large (far out in the tails). D* = 1/2 where
    the densities agree, 1 (0) where only the data (only G) has mass. The answer keeps
    the shape of its inputs and leaves them unchanged."""
    p, q = np.array([0.3, 0.2, 1.0, 0.0, 7.0]), np.array([0.1, 0.2, 0.0, 2.0, 7.0])
    d = np.asarray(optimal_discriminator(p.copy(), q.copy()), dtype=float)
    expected = np.array([0.75, 0.5, 1.0, 0.0, 0.5])
    assert d.shape == p.shape and np.allclose(d, expected, rtol=1e-12, atol=1e-12), (
        f"optimal_discriminator(p_data={p.tolist()}, p_g={q.tolist()}): expected "
        f"{expected.tolist()}, got {[float(f'{v:.12g}') for v in d.ravel()]}")

    rng = np.random.default_rng(20)
    grid = np.linspace(1e-6, 1 - 1e-6, 200_001)
    log_d, log_1_minus_d = np.log(grid), np.log1p(-grid)
    for shape in [(40,), (4, 5)]:
        p0, q0 = rng.uniform(1e-3, 5.0, shape), rng.uniform(1e-3, 5.0, shape)
        for scale in (1.0, 1e-200, 1e200):
            p, q = p0 * scale, q0 * scale
            before = {"p_data": p.copy(), "p_g": q.copy()}
            d = np.asarray(optimal_discriminator(p, q))
            for name, array in [("p_data", p), ("p_g", q)]:
                assert np.array_equal(array, before[name]), (
                    f"optimal_discriminator changed its argument {name} in place")
            what = "optimal_discriminator"
            assert d.shape == shape, f"{what}: expected shape {shape}, got {d.shape}"
            assert d.dtype == np.float64, (
                f"{what}: expected float64 values (the inputs' precision), got {d.dtype}")
            assert np.all((d > 0) & (d < 1)), (
                f"D* is a probability strictly between 0 and 1 where both densities are "
                f"positive, got {d.ravel()[~((d > 0) & (d < 1)).ravel()][:3]} "
                f"(densities of size {scale:g})")
            slope = np.abs(p * (1 - d) - q * d) / (p + q)
            if slope.max() > 1e-12:
                i = np.unravel_index(np.argmax(slope), shape)
                raise AssertionError(
                    f"at p_data = {p[i]:.4g}, p_g = {q[i]:.4g}, D = {d[i]:.12g} is not the "
                    f"maximiser {p[i] / (p[i] + q[i]):.12g}: p_data (1 - D) - p_g D = "
                    f"{p[i] * (1 - d[i]) - q[i] * d[i]:.3g}, not 0")
            if scale != 1.0:
                continue
            for pi, qi, di in zip(p.ravel(), q.ravel(), d.ravel()):
                best_on_grid = np.max(pi * log_d + qi * log_1_minus_d)
                mine = pi * math.log(di) + qi * math.log1p(-di)
                assert mine >= best_on_grid - 1e-9 * (pi + qi), (
                    f"at p_data = {pi:.3g}, p_g = {qi:.3g}, D = {di:.4g} is not the maximiser")


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


def optimal_discriminator_guards_the_sum(p_data, p_g):
    """Divides by max(p_data + p_g, 1e-12): wrong far in the tails, where both are tiny."""
    return p_data / np.maximum(p_data + p_g, 1e-12)


def optimal_discriminator_in_float32(p_data, p_g):
    """Computes in float32: D* right to about 1e-7 only."""
    p, q = np.float32(p_data), np.float32(p_g)
    return p / (p + q)


# --- 2.2 the JSD identity -----------------------------------------------------------------
def _pairs():
    """(p, q, lower, upper): Gaussians, a mixture, equal and nearly disjoint densities, and
    a pair far from 0 (only [lower, upper] finds its mass)."""
    mixture = lambda x: 0.3 * stats.norm.pdf(x, -1, 0.5) + 0.7 * stats.norm.pdf(x, 2, 1.0)
    return [(stats.norm(4, 0.5).pdf, stats.norm(2.5, 1.0).pdf, -10.0, 15.0),
            (stats.norm(0, 1).pdf, stats.norm(0.5, 2.0).pdf, -25.0, 25.0),
            (mixture, stats.norm(1, 1.5).pdf, -18.0, 20.0),
            (stats.norm(0, 1).pdf, stats.norm(0, 1).pdf, -12.0, 12.0),
            (stats.norm(-6, 1).pdf, stats.norm(6, 1).pdf, -18.0, 18.0),
            (stats.norm(100, 1).pdf, stats.norm(103, 2).pdf, 85.0, 115.0)]


def _triangle(left):
    """The triangular density on [left, left + 2], peaked at left + 1: exactly 0 outside."""
    return stats.triang(0.5, loc=left, scale=2).pdf


# (p, q, lower, upper, JSD, in words): worked by hand. Disjoint supports: m = p / 2 where
# p > 0, so KL(p || m) = log 2. Supports [0, 2] and [1, 3]: log 2 / 4 from each lone
# flank, and on [1, 2], where m = 1/2, 2 * 1/2 * integral of u log 2u du = log 2 / 2 - 1/4.
EXACT = [(_triangle(0), _triangle(3), -1.0, 6.0, math.log(2),
          "triangles on [0, 2] and [3, 5] (disjoint)"),
         (_triangle(0), _triangle(1), -1.0, 4.0, math.log(2) - 0.25,
          "triangles on [0, 2] and [1, 3]")]


def value_at_optimum(p, q, lower, upper):
    """V(D*, G) by minigan's quadrature of p log D* + q log(1 - D*)."""
    def logit(x):
        return theory.optimal_logit(p(x), q(x))
    return theory.value(logit, p, q, lower, upper)


def check_jensen_shannon_divergence(jensen_shannon_divergence):
    """Theorem 1: -log 4 + 2 JSD(p_data || p_g) equals the value V(D*, G) of the optimal
    discriminator, for Gaussians, a mixture, equal densities (JSD = 0) and densities that
    barely overlap (JSD -> log 2). The JSD is also symmetric and in [0, log 2], and equals
    the values worked by hand for densities that are exactly 0 on part of the interval
    (where p(x) = 0, p log(p / m) is 0, its limit, not 0 log 0 = nan)."""
    for p, q, lower, upper, exact, words in EXACT:
        jsd = float(jensen_shannon_divergence(p, q, lower, upper))
        hint = " (nan: 0 log 0 must count as 0)" if math.isnan(jsd) else ""
        assert jsd == pytest.approx(exact, abs=1e-6), (
            f"JSD of the {words}: expected {exact:.8f}, got {jsd:.8f}{hint}")
    for p, q, lower, upper in _pairs():
        jsd = float(jensen_shannon_divergence(p, q, lower, upper))
        where = f"on [{lower:g}, {upper:g}]"
        assert -1e-9 <= jsd <= math.log(2) + 1e-9, f"{where}: JSD = {jsd} is outside [0, log 2]"
        swapped = float(jensen_shannon_divergence(q, p, lower, upper))
        assert jsd == pytest.approx(swapped, abs=1e-7), (
            f"{where}: JSD(p || q) = {jsd:.8f} must equal JSD(q || p) = {swapped:.8f}")
        v = value_at_optimum(p, q, lower, upper)
        assert -math.log(4) + 2 * jsd == pytest.approx(v, abs=1e-6), (
            f"{where}: -log 4 + 2 JSD = {-math.log(4) + 2 * jsd:.8f} but V(D*, G) = {v:.8f}")


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


def jsd_nan_where_a_density_is_zero(p, q, lower, upper):
    """Writes p log(p / m) with np.log: 0 * log 0 = nan where a density is exactly 0."""
    def integrand(x):
        px, qx = p(x), q(x)
        m = 0.5 * (px + qx)
        return 0.5 * px * np.log(px / m) + 0.5 * qx * np.log(qx / m)
    return integrate.quad(integrand, lower, upper, limit=200)[0]


def jsd_is_the_distance(p, q, lower, upper):
    """sqrt(JSD), the Jensen-Shannon *distance* (scipy.spatial.distance.jensenshannon's)."""
    return math.sqrt(max(theory.jensen_shannon_divergence(p, q, lower, upper), 0.0))


def jsd_over_the_whole_line(p, q, lower, upper):
    """Ignores [lower, upper] and integrates over (-inf, inf): quad misses mass far from 0."""
    def integrand(x):
        px, qx = p(x), q(x)
        m = 0.5 * (px + qx)
        return 0.5 * special.rel_entr(px, m) + 0.5 * special.rel_entr(qx, m)
    return integrate.quad(integrand, -np.inf, np.inf)[0]


# --- 2.3 to 2.5 the losses -----------------------------------------------------------------
def _evaluate(loss, *arrays, dtype=np.float64):
    """The loss's value (a float) and its gradients in each logit array, by autograd."""
    tensors = [minigan.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in arrays]
    value = loss(*tensors)
    assert isinstance(value, minigan.Tensor) and value.size == 1, (
        f"return a scalar minigan Tensor built with minigan operations, got "
        f"{type(value).__name__} of shape {np.shape(value)}")
    try:
        gradients = minigan.grad(value.reshape(()), tensors)
    except RuntimeError as error:
        raise AssertionError("autograd cannot differentiate the loss in the logits: build it "
                             f"from minigan operations on them, not NumPy ({error})") from error
    return value.item(), [g.numpy() for g in gradients]


def _check_loss(loss, naive, exact, at_one_half, mixed, extremes):
    """The loss at D = 1/2 (every logit 0) is ``at_one_half``; it equals ``naive`` (the
    formula in D = sigmoid(a)) for moderate logits, batches of different sizes included;
    its value and gradients equal ``exact`` (the same formula through softplus, exact at
    any logit) on the float64 batches ``mixed``, which put logits of +-1e4 among moderate
    ones; and it is finite and right at the float32 ``extremes`` (logits +-1e4)."""
    inputs = naive.__code__.co_argcount                  # 2 for D's loss, 1 for G's
    value, _ = _evaluate(loss, *[np.zeros((n, 1)) for n in (3, 5)[:inputs]])
    assert value == pytest.approx(at_one_half, rel=1e-12), (
        f"where D = 1/2 for every sample (every logit 0) the loss is {at_one_half:.10g} "
        f"(log 2 per log-term), got {value:.10g}")

    rng = np.random.default_rng(22)
    for sizes in [(16, 16), (12, 7)]:
        arrays = [rng.uniform(-12, 12, (n, 1)) for n in sizes[:inputs]]
        value, grads = _evaluate(loss, *arrays)
        assert value == pytest.approx(naive(*arrays), rel=1e-9, abs=1e-12), (
            f"for batches of {sizes[:inputs]} logits in (-12, 12) the loss is {value:.10g}, "
            f"the formula in D = sigmoid(logit) gives {naive(*arrays):.10g}")
        for i, (mine, expected) in enumerate(zip(grads, exact(*arrays)[1])):
            np.testing.assert_allclose(mine, expected, rtol=1e-7, atol=1e-12, err_msg=(
                f"the gradient in the logits of argument {i + 1} (batches of {sizes[:inputs]})"))
    for arrays in mixed:
        arrays = [np.array(a) for a in arrays]
        value, grads = _evaluate(loss, *arrays)
        expected_value, expected_grads = exact(*arrays)
        shown = [a.ravel().tolist() for a in arrays]
        assert value == pytest.approx(expected_value, rel=1e-12), (
            f"at logits {shown} (float64) the loss is {expected_value:.10g}, got {value:.10g}")
        for mine, expected in zip(grads, expected_grads):
            assert np.allclose(mine, expected, rtol=1e-9, atol=1e-15), (
                f"at logits {shown} (float64) the gradient is {expected.ravel().tolist()}, "
                f"got {np.asarray(mine).ravel().tolist()}")
    for arrays, expected in extremes:
        value, grads = _evaluate(loss, *arrays, dtype=np.float32)
        assert math.isfinite(value), f"the loss is {value} at logits {arrays}"
        assert value == pytest.approx(expected, abs=1e-2), (
            f"at logits {arrays} (float32) the loss is {expected:g}, got {value:g}")
        assert all(np.all(np.isfinite(g)) for g in grads), f"a gradient is not finite at {arrays}"


BIG, SMALL = [[1e4], [1e4]], [[-1e4], [-1e4]]
# off the kink at 0, where relu(a) + log(1 + exp(-|a|)), a right softplus, has slope 0
MIXED_REAL = [[1e4], [-1e4], [0.5], [3.0]]
MIXED_FAKE = [[-1e4], [30.0], [1e4]]
MIXED = [[1e4], [-1e4], [0.5], [30.0], [-3.0]]


def _d_exact(r, f):
    return (np.mean(softplus(-r)) + np.mean(softplus(f)),
            [-special.expit(-r) / r.size, special.expit(f) / f.size])


def check_discriminator_loss(discriminator_loss):
    """-mean log D(x) - mean log(1 - D(G(z))), each mean over its own batch; gradients
    -(1 - D(x)) / N on real logits and D(G(z)) / M on fake ones; log 4 when D = 1/2;
    0 when D is right and sure (real +1e4, fake -1e4), 2e4 when it is wrong and sure."""
    _check_loss(discriminator_loss,
                naive=lambda r, f: -np.mean(np.log(sigmoid(r))) - np.mean(np.log(1 - sigmoid(f))),
                exact=_d_exact, at_one_half=math.log(4),
                mixed=[(MIXED_REAL, MIXED_FAKE), (MIXED_FAKE, MIXED_REAL)],
                extremes=[((BIG, SMALL), 0.0), ((SMALL, BIG), 2e4)])


def check_generator_loss_saturating(generator_loss_saturating):
    """mean log(1 - D(G(z))); per sample its slope in the logit is -D(G(z)), which
    vanishes where D rejects the fake; -log 2 when D = 1/2; log(1 - sigmoid(1e4)) = -1e4,
    not -inf."""
    _check_loss(generator_loss_saturating,
                naive=lambda f: np.mean(np.log(1 - sigmoid(f))),
                exact=lambda f: (-np.mean(softplus(f)), [-special.expit(f) / f.size]),
                at_one_half=-math.log(2), mixed=[(MIXED,)],
                extremes=[((BIG,), -1e4), ((SMALL,), 0.0)])


def check_generator_loss_nonsaturating(generator_loss_nonsaturating):
    """-mean log D(G(z)); per sample its slope in the logit is -(1 - D(G(z))), close to -1
    where D rejects the fake; log 2 when D = 1/2; -log sigmoid(-1e4) = 1e4, not inf."""
    _check_loss(generator_loss_nonsaturating,
                naive=lambda f: -np.mean(np.log(sigmoid(f))),
                exact=lambda f: (np.mean(softplus(-f)), [-special.expit(-f) / f.size]),
                at_one_half=math.log(2), mixed=[(MIXED,)],
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


def discriminator_loss_clips_logits(real_logits, fake_logits):
    """Clips the logits to [-50, 50] "for safety": the loss at a logit of 1e4 becomes 50."""
    from minigan.ops import softplus
    real, fake = real_logits.clip(-50, 50), fake_logits.clip(-50, 50)
    return softplus(-real).mean() + softplus(fake).mean()


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


def saturating_eps_in_log(fake_logits):
    """log(1 - D + 1e-8): finite, but -18.4 instead of -1e4, and off by 1e-8 everywhere."""
    return (1 - fake_logits.sigmoid() + 1e-8).log().mean()


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


def nonsaturating_blends_with_a_mask(fake_logits):
    """-a where -a > 30, log(1 + exp(-a)) elsewhere, blended by a 0/1 mask: the unused
    branch overflows, and 0 * inf = nan."""
    import minigan as mg
    x = -fake_logits
    mask = mg.tensor((x.numpy() > 30).astype(x.numpy().dtype))
    return (mask * x + (1 - mask) * mg.log(1 + mg.exp(x))).mean()


CHECKS = {"optimal_discriminator": check_optimal_discriminator,
          "jensen_shannon_divergence": check_jensen_shannon_divergence,
          "discriminator_loss": check_discriminator_loss,
          "generator_loss_saturating": check_generator_loss_saturating,
          "generator_loss_nonsaturating": check_generator_loss_nonsaturating}
MUTANTS = {"optimal_discriminator": [optimal_discriminator_swapped, optimal_discriminator_ratio,
                                     optimal_discriminator_sigmoid_of_difference,
                                     optimal_discriminator_guards_the_sum,
                                     optimal_discriminator_in_float32],
           "jensen_shannon_divergence": [jsd_is_kl, jsd_without_halves, jsd_in_bits,
                                         jsd_with_sum_instead_of_mixture,
                                         jsd_nan_where_a_density_is_zero, jsd_is_the_distance,
                                         jsd_over_the_whole_line],
           "discriminator_loss": [discriminator_loss_labels_swapped,
                                  discriminator_loss_from_probabilities,
                                  discriminator_loss_one_mean, discriminator_loss_clips_logits],
           "generator_loss_saturating": [saturating_is_nonsaturating, saturating_wrong_sign,
                                         saturating_from_probabilities, saturating_eps_in_log],
           "generator_loss_nonsaturating": [nonsaturating_is_saturating,
                                            nonsaturating_from_probabilities, nonsaturating_sum,
                                            nonsaturating_blends_with_a_mask]}

test_exercise, test_mutant_is_rejected = make_tests("02", CHECKS, MUTANTS)
