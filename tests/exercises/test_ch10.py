"""Chapter 10's exercises: LSGAN's optimal discriminator, the hinge losses and spectral
normalisation's power iteration."""
import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch10


def check_lsgan_optimal_discriminator(lsgan_optimal_discriminator):
    """At random density values and for three codings (a, b), no D on a fine grid does
    better than the answer; where both densities vanish the answer is (a + b) / 2."""
    rng = np.random.default_rng(0)
    p, q = rng.uniform(0, 1, (5, 40)), rng.uniform(0, 1, (5, 40))
    p[0, :5] = q[0, :5] = 0.0
    for a, b in [(-1.0, 1.0), (0.0, 1.0), (0.2, 3.0)]:
        d = np.asarray(lsgan_optimal_discriminator(p, q, a, b), dtype=float)
        assert d.shape == p.shape, f"expected shape {p.shape}, got {d.shape}"
        np.testing.assert_allclose(d[0, :5], (a + b) / 2, err_msg="(a + b) / 2 where p = q = 0")

        def cost(values):
            return 0.5 * p * (values - b) ** 2 + 0.5 * q * (values - a) ** 2
        grid = np.linspace(a - 1, b + 1, 4001)[:, None, None]
        best = cost(grid).min(axis=0)
        assert np.all(cost(d) <= best + 1e-12), \
            f"for a = {a}, b = {b} some D on a grid has a lower cost than the answer"


def check_hinge_losses(hinge_losses):
    """The definitions on random scores of unequal batch sizes, and two landmarks: scores
    beyond the margins (real >= 1, fake <= -1) cost D nothing; all scores 0 cost it 2."""
    rng = np.random.default_rng(1)
    real, fake = rng.normal(0.5, 1.5, 300), rng.normal(-0.5, 1.5, 200)
    loss_d, loss_g = hinge_losses(real, fake)
    expected = np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake))
    assert loss_d == pytest.approx(expected, rel=1e-9)
    assert loss_g == pytest.approx(-np.mean(fake), rel=1e-9), "L_G = -E[D(G(z))]"
    assert hinge_losses(rng.uniform(1, 3, 50), rng.uniform(-3, -1, 70))[0] == pytest.approx(0.0)
    assert hinge_losses(np.zeros(10), np.zeros(20))[0] == pytest.approx(2.0)


def random_weight(rng, shape, sigmas):
    """A weight whose (out, rest) matrix has the given leading singular values (and 0.5 after)."""
    out, rest = shape[0], int(np.prod(shape[1:]))
    left, _ = np.linalg.qr(rng.standard_normal((out, out)))
    right, _ = np.linalg.qr(rng.standard_normal((rest, out)))
    values = np.full(out, 0.5)
    values[:len(sigmas)] = sigmas
    return ((left * values) @ right.T).reshape(shape)


def check_spectral_norm_estimate(spectral_norm_estimate):
    """For Linear (6, 10) and conv (8, 3, 3, 3) weights with sigma_1 = 3, sigma_2 = 1.5: after
    20 steps sigma is within 1e-4 of 3 (the SVD's), u and v have unit length and W v = sigma u;
    the u passed in is unchanged."""
    rng = np.random.default_rng(2)
    for shape in [(6, 10), (8, 3, 3, 3)]:
        weight = random_weight(rng, shape, [3.0, 1.5])
        matrix = weight.reshape(shape[0], -1)
        assert np.linalg.svd(matrix, compute_uv=False)[0] == pytest.approx(3.0)
        u0 = rng.standard_normal(shape[0])
        kept = u0.copy()
        sigma, u, v = spectral_norm_estimate(weight, u0, 20)
        np.testing.assert_array_equal(u0, kept, err_msg="the u passed in must not change")
        assert np.shape(u) == (shape[0],) and np.shape(v) == (matrix.shape[1],)
        assert sigma == pytest.approx(3.0, abs=1e-4), f"sigma {sigma:.5f}, the SVD says 3"
        assert np.linalg.norm(u) == pytest.approx(1.0) and np.linalg.norm(v) == pytest.approx(1.0)
        np.testing.assert_allclose(matrix @ v, sigma * u, atol=1e-3)


# --- planted wrong answers -----------------------------------------------------------------
def lsgan_swapped_targets(p_data, p_g, a, b):
    """Real data pulled to a and generated data to b."""
    p, q = np.asarray(p_data, dtype=float), np.asarray(p_g, dtype=float)
    total = p + q
    return np.where(total > 0, (a * p + b * q) / np.where(total > 0, total, 1.0), (a + b) / 2)


def lsgan_vanilla(p_data, p_g, a, b):
    """The cross-entropy game's D* = p_data / (p_data + p_g), which ignores the targets."""
    p, q = np.asarray(p_data, dtype=float), np.asarray(p_g, dtype=float)
    total = p + q
    return np.where(total > 0, p / np.where(total > 0, total, 1.0), 0.5)


def lsgan_zero_where_empty(p_data, p_g, a, b):
    """The right formula, but 0 where both densities vanish."""
    p, q = np.asarray(p_data, dtype=float), np.asarray(p_g, dtype=float)
    total = p + q
    return np.where(total > 0, (b * p + a * q) / np.where(total > 0, total, 1.0), 0.0)


def hinge_without_clamp(real_scores, fake_scores):
    """1 - D(x) and 1 + D(G(z)) without max(0, .): the Wasserstein loss shifted by 2."""
    return float(np.mean(1 - real_scores) + np.mean(1 + fake_scores)), float(-np.mean(fake_scores))


def hinge_sign_error(real_scores, fake_scores):
    """max(0, 1 - D(G(z))) for the fakes: D is told to score fakes high."""
    loss_d = np.mean(np.maximum(0, 1 - real_scores)) + np.mean(np.maximum(0, 1 - fake_scores))
    return float(loss_d), float(-np.mean(fake_scores))


def hinge_generator_hinge(real_scores, fake_scores):
    """G also on a hinge, E[max(0, 1 - D(G(z)))]: not the SNGAN generator."""
    loss_d = np.mean(np.maximum(0, 1 - real_scores)) + np.mean(np.maximum(0, 1 + fake_scores))
    return float(loss_d), float(np.mean(np.maximum(0, 1 - fake_scores)))


def hinge_sums(real_scores, fake_scores):
    """Sums over the batch instead of means."""
    loss_d = np.sum(np.maximum(0, 1 - real_scores)) + np.sum(np.maximum(0, 1 + fake_scores))
    return float(loss_d), float(-np.sum(fake_scores))


def power_without_normalising(weight, u, steps):
    """Never normalises v or u: they grow as sigma^(2 steps), and u^T W v with them."""
    matrix = np.asarray(weight, dtype=float).reshape(len(weight), -1)
    u = np.array(u, dtype=float)
    for _ in range(steps):
        v = matrix.T @ u
        u = matrix @ v
    return float(u @ matrix @ v), u, v


def power_wrong_reshape(weight, u, steps):
    """Flattens the kernel with the output channels last: another matrix, another sigma."""
    from tests.exercises.ch10_reference import spectral_norm_estimate
    matrix = np.asarray(weight, dtype=float).reshape(-1, len(weight)).T
    return spectral_norm_estimate(matrix, u, steps)


def power_in_place(weight, u, steps):
    """Right, but overwrites the caller's u (SpectralNorm keeps its own buffer for that)."""
    from tests.exercises.ch10_reference import spectral_norm_estimate
    sigma, new_u, v = spectral_norm_estimate(weight, u, steps)
    u[...] = new_u
    return sigma, u, v


def power_one_step(weight, u, steps):
    """One step whatever ``steps`` says: a poor estimate from a random start."""
    from tests.exercises.ch10_reference import spectral_norm_estimate
    return spectral_norm_estimate(weight, u, 1)


CHECKS = {"lsgan_optimal_discriminator": check_lsgan_optimal_discriminator,
          "hinge_losses": check_hinge_losses,
          "spectral_norm_estimate": check_spectral_norm_estimate}
MUTANTS = {"lsgan_optimal_discriminator": [lsgan_swapped_targets, lsgan_vanilla,
                                           lsgan_zero_where_empty],
           "hinge_losses": [hinge_without_clamp, hinge_sign_error, hinge_generator_hinge,
                            hinge_sums],
           "spectral_norm_estimate": [power_without_normalising, power_wrong_reshape,
                                      power_in_place, power_one_step]}

test_exercise, test_mutant_is_rejected = make_tests("10", CHECKS, MUTANTS)
