"""Chapter 10's exercises: LSGAN's optimal discriminator, the hinge losses and spectral
normalisation's power iteration."""
import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch10


def _assert_close(got, expected, what, rtol=1e-9, atol=1e-12):
    """``got`` equals ``expected`` entrywise; else name the first entry that differs."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {got.shape}"
    wrong = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if wrong.any():
        at = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise AssertionError(f"{what}: at index {at} expected {expected[at]:.6g}, got "
                             f"{got[at]:.6g} ({wrong.sum()} of {wrong.size} entries wrong)")


def check_lsgan_optimal_discriminator(lsgan_optimal_discriminator):
    """Hand-worked points, then D* = (b p_data + a p_g) / (p_data + p_g) on random densities
    (some zero in one, some in both) for several codings; no D on a fine grid does better;
    the arrays passed in are unchanged."""
    # a = 0, b = 1: p = 1, q = 3 puts D a quarter of the way from a to b; with one density
    # zero D goes all the way to that density's target; with both zero, half way.
    for a, b, expected in [(0.0, 1.0, [0.25, 1.0, 0.0, 0.5]), (-1.0, 1.0, [-0.5, 1.0, -1.0, 0.0])]:
        got = lsgan_optimal_discriminator(np.array([1.0, 2.0, 0.0, 0.0]),
                                          np.array([3.0, 0.0, 2.0, 0.0]), a, b)
        _assert_close(got, expected, f"D* for a = {a:g}, b = {b:g}, p_data = [1, 2, 0, 0], "
                                     f"p_g = [3, 0, 2, 0]")

    rng = np.random.default_rng(0)
    p, q = rng.uniform(0, 1, (5, 40)), rng.uniform(0, 3, (5, 40))
    p[0, :5] = q[0, :5] = 0.0          # both vanish: (a + b) / 2
    p[1, :5] = 0.0                     # only generated data here: D = a
    q[2, :5] = 0.0                     # only real data here: D = b
    for a, b in [(-1.0, 1.0), (0.0, 1.0), (0.3, -2.0), tuple(rng.uniform(-3, 3, 2))]:
        p_in, q_in = p.copy(), q.copy()
        d = np.asarray(lsgan_optimal_discriminator(p_in, q_in, a, b), dtype=float)
        assert np.array_equal(p_in, p) and np.array_equal(q_in, q), \
            "the p_data and p_g passed in must not change"
        total = np.where(p + q > 0, p + q, 1.0)
        expected = np.where(p + q > 0, (b * p + a * q) / total, (a + b) / 2)
        _assert_close(d, expected, f"D* for a = {a:.3g}, b = {b:.3g}")

        def cost(values):
            return 0.5 * p * (values - b) ** 2 + 0.5 * q * (values - a) ** 2
        grid = np.linspace(min(a, b) - 1, max(a, b) + 1, 2001)[:, None, None]
        assert np.all(cost(d) <= cost(grid).min(axis=0) + 1e-12), \
            f"for a = {a:.3g}, b = {b:.3g} some D on a grid has a lower cost than the answer"


def check_hinge_losses(hinge_losses):
    """A hand-worked case; the definitions on random scores of unequal batch sizes; two
    landmarks: scores beyond the margins (real >= 1, fake <= -1) cost D nothing, all scores
    0 cost it 2; the score arrays passed in are unchanged."""
    # max(0, 1 - [2, 0.5, -1]) = [0, 0.5, 2], mean 5/6; max(0, 1 + [-2, 0.5]) = [0, 1.5], mean 3/4.
    got = tuple(float(x) for x in hinge_losses(np.array([2.0, 0.5, -1.0]), np.array([-2.0, 0.5])))
    assert got == pytest.approx((5 / 6 + 3 / 4, 0.75), rel=1e-12), \
        (f"real [2, 0.5, -1], fake [-2, 0.5]: expected (L_D, L_G) = (1.5833, 0.7500), "
         f"got ({got[0]:.4f}, {got[1]:.4f})")

    rng = np.random.default_rng(1)
    real, fake = rng.normal(0.5, 1.5, 300), rng.normal(-0.5, 1.5, 200)
    real_in, fake_in = real.copy(), fake.copy()
    loss_d, loss_g = (float(x) for x in hinge_losses(real_in, fake_in))
    assert np.array_equal(real_in, real) and np.array_equal(fake_in, fake), \
        "the score arrays passed in must not change"
    expected = np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake))
    assert loss_d == pytest.approx(expected, rel=1e-9), \
        f"L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))] = {expected:.6f}, got {loss_d:.6f}"
    assert loss_g == pytest.approx(-np.mean(fake), rel=1e-9), \
        f"L_G = -E[D(G(z))] = {-np.mean(fake):.6f}, got {loss_g:.6f}"
    beyond = float(hinge_losses(rng.uniform(1, 3, 50), rng.uniform(-3, -1, 70))[0])
    assert beyond == pytest.approx(0.0, abs=1e-12), \
        f"real scores >= 1 and fake scores <= -1 must cost D nothing, got L_D = {beyond:.4g}"
    undecided = float(hinge_losses(np.zeros(10), np.zeros(20))[0])
    assert undecided == pytest.approx(2.0), f"all scores 0: expected L_D = 2, got {undecided:.4g}"


def random_weight(rng, shape, sigmas):
    """A weight whose (out, rest) matrix has the given leading singular values (and 0.5 after)."""
    out, rest = shape[0], int(np.prod(shape[1:]))
    left, _ = np.linalg.qr(rng.standard_normal((out, out)))
    right, _ = np.linalg.qr(rng.standard_normal((rest, out)))
    values = np.full(out, 0.5)
    values[:len(sigmas)] = sigmas
    return ((left * values) @ right.T).reshape(shape)


def _power_iterates(matrix, u0, steps):
    """The power method in closed form: u_k is (W W^T)^k u0 and v_k is W^T (W W^T)^(k-1) u0,
    each scaled to unit length, so no loop of updates to get wrong."""
    gram = matrix @ matrix.T
    u = np.linalg.matrix_power(gram, steps) @ u0
    v = matrix.T @ np.linalg.matrix_power(gram, steps - 1) @ u0
    u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)
    return float(u @ matrix @ v), u, v


def check_spectral_norm_estimate(spectral_norm_estimate):
    """For Linear (6, 10) and conv (8, 3, 3, 3) weights with sigma_1 = 3, sigma_2 = 1.5: after
    20 steps sigma is within 1e-4 of 3 (the SVD's), u and v have unit length and W v = sigma u;
    the u and weight passed in are unchanged. With sigma_2 = 2.7, where the iteration is slow,
    1, 2 and 5 steps from the given u land exactly on the power method's iterates."""
    rng = np.random.default_rng(2)
    for shape in [(6, 10), (8, 3, 3, 3)]:
        weight = random_weight(rng, shape, [3.0, 1.5])
        matrix = weight.reshape(shape[0], -1)
        assert np.linalg.svd(matrix, compute_uv=False)[0] == pytest.approx(3.0)
        u0 = rng.standard_normal(shape[0])
        u_in, weight_in = u0.copy(), weight.copy()
        sigma, u, v = spectral_norm_estimate(weight_in, u_in, 20)
        assert np.array_equal(u_in, u0), "the u passed in must not change"
        assert np.array_equal(weight_in, weight), "the weight passed in must not change"
        assert np.shape(u) == (shape[0],) and np.shape(v) == (matrix.shape[1],), \
            f"expected u {(shape[0],)}, v {(matrix.shape[1],)}, got {np.shape(u)}, {np.shape(v)}"
        assert sigma == pytest.approx(3.0, abs=1e-4), f"sigma {sigma:.5f}, the SVD says 3"
        lengths = np.linalg.norm(u), np.linalg.norm(v)
        assert lengths == pytest.approx((1.0, 1.0)), \
            f"u and v must have unit length, got {lengths[0]:.4g} and {lengths[1]:.4g}"
        _assert_close(matrix @ v, sigma * u, "W v = sigma u after 20 steps", rtol=0, atol=1e-3)

        weight = random_weight(rng, shape, [3.0, 2.7])
        matrix = weight.reshape(shape[0], -1)
        u0 = rng.standard_normal(shape[0])
        for steps in (1, 2, 5):
            expected = _power_iterates(matrix, u0, steps)
            sigma, u, v = spectral_norm_estimate(weight, u0.copy(), steps)
            where = f"{shape} weight, {steps} step(s) from the given u"
            assert float(sigma) == pytest.approx(expected[0], rel=1e-9), \
                f"{where}: expected sigma = u^T W v = {expected[0]:.6f}, got {float(sigma):.6f}"
            _assert_close(u, expected[1], f"{where}: u", atol=1e-9)
            _assert_close(v, expected[2], f"{where}: v", atol=1e-9)


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


def lsgan_middle_where_one_vanishes(p_data, p_g, a, b):
    """(a + b) / 2 wherever either density is 0, not only where both are."""
    p, q = np.asarray(p_data, dtype=float), np.asarray(p_g, dtype=float)
    both = (p > 0) & (q > 0)
    return np.where(both, (b * p + a * q) / np.where(both, p + q, 1.0), (a + b) / 2)


def lsgan_into_p_data(p_data, p_g, a, b):
    """Right values, written into the caller's p_data to save an array."""
    p, q = np.asarray(p_data), np.asarray(p_g)
    total = p + q
    p[...] = np.where(total > 0, (b * p + a * q) / np.where(total > 0, total, 1.0), (a + b) / 2)
    return p


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


def hinge_one_mean_over_both(real_scores, fake_scores):
    """One mean over the real and fake terms together: the larger batch counts more."""
    terms = np.concatenate([np.maximum(0, 1 - np.asarray(real_scores)),
                            np.maximum(0, 1 + np.asarray(fake_scores))])
    return float(terms.mean()), float(-np.mean(fake_scores))


def hinge_of_the_mean_score(real_scores, fake_scores):
    """The hinge of the mean score, max(0, 1 - E[D(x)]): one good sample hides a bad one."""
    loss_d = max(0.0, 1 - np.mean(real_scores)) + max(0.0, 1 + np.mean(fake_scores))
    return float(loss_d), float(-np.mean(fake_scores))


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


def power_one_step_short(weight, u, steps):
    """range(steps - 1): one step fewer than asked, unseen once the iteration has converged."""
    from tests.exercises.ch10_reference import spectral_norm_estimate
    return spectral_norm_estimate(weight, u, max(steps - 1, 1))


def power_by_svd(weight, u, steps):
    """Takes the SVD: the exact sigma, but not the power method's estimate after ``steps``."""
    matrix = np.asarray(weight, dtype=float).reshape(len(weight), -1)
    left, values, right = np.linalg.svd(matrix)
    sign = 1.0 if left[:, 0] @ u >= 0 else -1.0
    return float(values[0]), sign * left[:, 0], sign * right[0]


def power_from_a_fresh_vector(weight, u, steps):
    """Starts from a random vector of its own, ignoring the u passed in."""
    from tests.exercises.ch10_reference import spectral_norm_estimate
    return spectral_norm_estimate(weight, np.random.default_rng(0).standard_normal(len(u)), steps)


def power_sigma_from_the_old_u(weight, u, steps):
    """sigma from the u before the last update: ||W^T u_old||, not u^T W v."""
    matrix = np.asarray(weight, dtype=float).reshape(len(weight), -1)
    u = np.array(u, dtype=float)
    for _ in range(steps):
        v = matrix.T @ u
        sigma = np.linalg.norm(v) / np.linalg.norm(u)
        v /= np.linalg.norm(v)
        u = matrix @ v
        u /= np.linalg.norm(u)
    return float(sigma), u, v


CHECKS = {"lsgan_optimal_discriminator": check_lsgan_optimal_discriminator,
          "hinge_losses": check_hinge_losses,
          "spectral_norm_estimate": check_spectral_norm_estimate}
MUTANTS = {"lsgan_optimal_discriminator": [lsgan_swapped_targets, lsgan_vanilla,
                                           lsgan_zero_where_empty, lsgan_middle_where_one_vanishes,
                                           lsgan_into_p_data],
           "hinge_losses": [hinge_without_clamp, hinge_sign_error, hinge_generator_hinge,
                            hinge_sums, hinge_one_mean_over_both, hinge_of_the_mean_score],
           "spectral_norm_estimate": [power_without_normalising, power_wrong_reshape,
                                      power_in_place, power_one_step, power_one_step_short,
                                      power_by_svd, power_from_a_fresh_vector,
                                      power_sigma_from_the_old_u]}

test_exercise, test_mutant_is_rejected = make_tests("10", CHECKS, MUTANTS)
