"""Chapter 14's exercises: the Dirac-GAN's Jacobian, the simultaneous update map's spectral
radius, one extragradient step, the R1-regularised eigenvalues and Spearman's rank
correlation (with ties)."""
import numpy as np
import pytest
import scipy.stats

from tests.exercises.harness import assert_close, make_tests

pytestmark = pytest.mark.ch14


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


# The standard GAN's f(t) = -log(1 + e^{-t}): f' = sigmoid(-t), f'' = -sigmoid(t) sigmoid(-t);
# and a link with f''' != 0 everywhere, so that no term of the product rule can hide.
LINKS = {"standard": (lambda t: sigmoid(-t), lambda t: -sigmoid(t) * sigmoid(-t)),
         "cubic": (lambda t: 1 + t + t ** 2, lambda t: 1 + 2 * t)}


def field(theta, psi, f_prime):
    return np.array([-psi * f_prime(psi * theta), theta * f_prime(psi * theta)])


def check_dirac_jacobian(dirac_jacobian):
    """Against central finite differences of the field at random points (to 1e-6, which only
    the exact derivative meets), and exactly [[0, -f'(0)], [f'(0), 0]] at the equilibrium."""
    rng = np.random.default_rng(14)
    for name, (fp, fpp) in LINKS.items():
        got = np.asarray(dirac_jacobian(0.0, 0.0, fp, fpp))
        assert_close(got, np.array([[0.0, -fp(0.0)], [fp(0.0), 0.0]]),
                     f"{name} link, at the equilibrium (0, 0)")
        for theta, psi in rng.uniform(-1.5, 1.5, (5, 2)):
            got = np.asarray(dirac_jacobian(float(theta), float(psi), fp, fpp))
            e = 1e-6
            d_theta = (field(theta + e, psi, fp) - field(theta - e, psi, fp)) / (2 * e)
            d_psi = (field(theta, psi + e, fp) - field(theta, psi - e, fp)) / (2 * e)
            expected = np.array([d_theta, d_psi]).T
            assert_close(got, expected, f"{name} link at (theta, psi) = ({theta:.3f}, {psi:.3f}) "
                         f"(rows: d v_theta, d v_psi; columns: d/dtheta, d/dpsi)",
                         rtol=1e-6, atol=1e-7)


def check_simultaneous_spectral_radius(radius):
    """sqrt(1 + lr^2 c^2) for the Dirac-GAN's rotation (complex eigenvalues), |1 + lr lambda|
    for real ones, the larger of the two for a mixed 3x3 J, and a float."""
    for c, lr in ((0.5, 0.1), (1.0, 0.3), (2.0, 0.05)):
        J = np.array([[0.0, -c], [c, 0.0]])
        got = radius(J, lr)
        assert isinstance(got, float), f"return a float, got {type(got).__name__}"
        assert got == pytest.approx(np.sqrt(1 + lr ** 2 * c ** 2), rel=1e-12), \
            (f"J = [[0, -{c}], [{c}, 0]], lr {lr}: eigenvalues 1 +- i lr c have modulus "
             f"sqrt(1 + lr^2 c^2) = {np.sqrt(1 + lr ** 2 * c ** 2):.10f}, got {got:.10f}")
    J = np.array([[-3.0, 0.0], [0.0, -0.5]])
    assert radius(J, 0.5) == pytest.approx(0.75, rel=1e-12), \
        "J = diag(-3, -0.5), lr 0.5: the map is diag(-0.5, 0.75), radius 0.75"
    J = np.array([[0.0, -1.0, 0.0], [1.0, -0.2, 0.0], [0.0, 0.0, 1.0]])
    expected = np.max(np.abs(np.linalg.eigvals(np.eye(3) + 0.1 * J)))
    assert radius(J, 0.1) == pytest.approx(expected, rel=1e-12), "a 3x3 J: any size n"


def check_extragradient_step(step):
    """On a linear field v(w) = J w one step is (I + lr J + lr^2 J^2) w; on a nonlinear one
    w + lr v(w + lr v(w)). The input w is left as it was; float64 out."""
    rng = np.random.default_rng(3)
    J = np.array([[0.0, -0.5], [0.5, -0.1]])
    for lr in (0.1, 0.7):
        w = rng.standard_normal(2)
        kept = w.copy()
        got = np.asarray(step(w, lambda u: J @ u, lr))
        assert np.array_equal(w, kept), "extragradient_step changed w: leave it be"
        assert_close(got, (np.eye(2) + lr * J + lr ** 2 * J @ J) @ kept,
                     f"linear field, lr {lr}: expected (I + lr J + lr^2 J^2) w")

    def curved(u):
        return np.array([-u[1] * sigmoid(-u[0] * u[1]), u[0] * sigmoid(-u[0] * u[1]), -u[2] ** 3])
    w = np.array([0.7, -1.1, 0.4])
    half = w + 0.3 * curved(w)
    assert_close(np.asarray(step(w.copy(), curved, 0.3)), w + 0.3 * curved(half),
                 "the Dirac-GAN's field plus a third coordinate, lr 0.3")


def check_regularised_eigenvalues(eigenvalues):
    """Both roots, as complex128, for underdamped (gamma < 2 f'), critical and overdamped
    penalties; they are the eigenvalues of [[0, -f'], [f', -gamma]]."""
    for fp, gamma in ((0.5, 0.3), (0.5, 0.0), (1.0, 2.0), (0.5, 2.5), (2.0, 1.0)):
        got = np.asarray(eigenvalues(fp, gamma))
        assert got.shape == (2,), f"expected two eigenvalues, shape (2,), got {got.shape}"
        assert got.dtype == np.complex128, f"expected complex128, got {got.dtype}"
        expected = np.linalg.eigvals(np.array([[0.0, -fp], [fp, -gamma]]))
        got_sorted, expected_sorted = np.sort_complex(got), np.sort_complex(expected)
        assert np.allclose(got_sorted, expected_sorted, atol=1e-7), \
            (f"f' = {fp}, gamma = {gamma}: expected {np.round(expected_sorted, 6)}, got "
             f"{np.round(got_sorted, 6)}")


def check_spearman(spearman):
    """Equal to scipy.stats.spearmanr on samples with and without ties, +-1 for monotone
    relations, unchanged by a monotone transform, and the inputs untouched."""
    rng = np.random.default_rng(5)
    cases = [(rng.standard_normal(30), rng.standard_normal(30)),
             (np.array([1.0, 2, 2, 3, 5, 5, 5, 9]), np.array([3.0, 1, 4, 1, 5, 9, 2, 6])),
             (rng.integers(0, 4, 40).astype(float), rng.integers(0, 3, 40).astype(float)),
             (np.array([5.0, 1, 5]), np.array([1.0, 2, 3]))]
    for x, y in cases:
        kept = x.copy(), y.copy()
        got = spearman(x, y)
        assert np.array_equal(x, kept[0]) and np.array_equal(y, kept[1]), \
            "spearman changed its inputs: leave them be"
        expected = scipy.stats.spearmanr(x, y)[0]
        assert float(got) == pytest.approx(expected, abs=1e-12), \
            (f"x = {np.round(x[:8], 3).tolist()}..., y = {np.round(y[:8], 3).tolist()}...: "
             f"expected {expected:.10f}, got {float(got):.10f}"
             + (" (tied values share the mean of their ranks)" if len(np.unique(x)) < len(x)
                else ""))
    x = rng.standard_normal(20)
    assert spearman(x, np.exp(3 * x)) == pytest.approx(1.0, abs=1e-12), \
        "a monotone increasing relation has rank correlation 1, whatever its curvature"
    assert spearman(x, -x ** 3) == pytest.approx(-1.0, abs=1e-12), \
        "a monotone decreasing relation has rank correlation -1"


# --- planted wrong answers -------------------------------------------------------------------
def dirac_jacobian_forgets_the_product_rule(theta, psi, f_prime, f_second):
    """Treats f'(psi theta) as a constant: only the outer factor is differentiated."""
    fp = f_prime(psi * theta)
    return np.array([[0.0, -fp], [fp, 0.0]])


def dirac_jacobian_transposed(theta, psi, f_prime, f_second):
    from tests.exercises.ch14_reference import dirac_jacobian
    return dirac_jacobian(theta, psi, f_prime, f_second).T


def dirac_jacobian_chain_rule_once(theta, psi, f_prime, f_second):
    """d f'(psi theta)/dtheta taken as f''(psi theta), missing the inner factor psi."""
    t = psi * theta
    fp, fpp = f_prime(t), f_second(t)
    return np.array([[-psi * fpp, -fp - psi * fpp], [fp + theta * fpp, theta * fpp]])


def radius_of_j_alone(jacobian, lr):
    return float(np.max(np.abs(np.linalg.eigvals(lr * np.asarray(jacobian)))))


def radius_one_plus_modulus(jacobian, lr):
    """1 + lr max |lambda|: right for positive real eigenvalues only."""
    return float(1 + lr * np.max(np.abs(np.linalg.eigvals(jacobian))))


def radius_real_parts(jacobian, lr):
    """Drops the imaginary parts: the rotation's growth disappears."""
    return float(np.max(np.abs(1 + lr * np.linalg.eigvals(jacobian).real)))


def extragradient_from_the_half_step(w, field, lr):
    """The second step starts at w_half: two plain steps, not extragradient."""
    half = w + lr * field(w)
    return half + lr * field(half)


def extragradient_in_place(w, field, lr):
    w += lr * field(w)          # overwrites the caller's w with w_half
    w += lr * field(w)
    return w


def extragradient_plain_step(w, field, lr):
    return w + lr * field(w)


def eigenvalues_full_gamma(f_prime, gamma):
    """-gamma +- ...: forgets the 1/2."""
    root = np.sqrt(complex(gamma ** 2 / 4 - f_prime ** 2))
    return np.array([-gamma + root, -gamma - root])


def eigenvalues_real_sqrt(f_prime, gamma):
    """A real square root: NaN whenever the eigenvalues are complex."""
    root = np.sqrt(np.float64(gamma ** 2 / 4 - f_prime ** 2))
    return np.array([-gamma / 2 + root, -gamma / 2 - root], dtype=np.complex128)


def eigenvalues_wrong_sign(f_prime, gamma):
    root = np.sqrt(complex(gamma ** 2 / 4 + f_prime ** 2))
    return np.array([-gamma / 2 + root, -gamma / 2 - root])


def spearman_argsort_ranks(x, y):
    """Ranks from argsort: ties broken by position instead of shared."""
    rx = np.argsort(np.argsort(x)).astype(float)
    ry = np.argsort(np.argsort(y)).astype(float)
    return float(np.corrcoef(rx, ry)[0, 1])


def spearman_textbook_formula(x, y):
    """1 - 6 sum d^2 / (n (n^2 - 1)) with average ranks: exact only without ties."""
    rx, ry = scipy.stats.rankdata(x), scipy.stats.rankdata(y)
    n = len(x)
    return float(1 - 6 * np.sum((rx - ry) ** 2) / (n * (n ** 2 - 1)))


def spearman_pearson(x, y):
    """The correlation of the values, not of their ranks."""
    return float(np.corrcoef(x, y)[0, 1])


def spearman_sorts_in_place(x, y):
    from tests.exercises.ch14_reference import spearman
    result = spearman(x, y)
    x.sort()
    return result


# --- correct answers in other styles: they must pass -----------------------------------------
def spearman_with_scipy_ranks(x, y):
    rx, ry = scipy.stats.rankdata(x), scipy.stats.rankdata(y)
    return float(np.corrcoef(rx, ry)[0, 1])


def spearman_with_loops(x, y):
    def ranks(values):
        out = []
        for v in values:
            below = sum(1 for u in values if u < v)
            equal = sum(1 for u in values if u == v)
            out.append(below + (equal + 1) / 2)
        return np.array(out)
    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx @ ry) / np.sqrt((rx @ rx) * (ry @ ry)))


def radius_with_closed_form(jacobian, lr):
    """Via the eigenvalues of J: |1 + lr lambda| for each."""
    return float(np.max(np.abs(1 + lr * np.linalg.eigvals(np.asarray(jacobian, float)))))


def regularised_eigenvalues_numerically(f_prime, gamma):
    return np.linalg.eigvals(np.array([[0.0, -f_prime], [f_prime, -gamma]])).astype(np.complex128)


@pytest.mark.parametrize("check, answer", [
    (check_spearman, spearman_with_scipy_ranks), (check_spearman, spearman_with_loops),
    (check_simultaneous_spectral_radius, radius_with_closed_form),
    (check_regularised_eigenvalues, regularised_eigenvalues_numerically)])
def test_other_correct_answers_pass(check, answer):
    check(answer)


CHECKS = {"dirac_jacobian": check_dirac_jacobian,
          "simultaneous_spectral_radius": check_simultaneous_spectral_radius,
          "extragradient_step": check_extragradient_step,
          "regularised_eigenvalues": check_regularised_eigenvalues,
          "spearman": check_spearman}
MUTANTS = {"dirac_jacobian": [dirac_jacobian_forgets_the_product_rule, dirac_jacobian_transposed,
                              dirac_jacobian_chain_rule_once],
           "simultaneous_spectral_radius": [radius_of_j_alone, radius_one_plus_modulus,
                                            radius_real_parts],
           "extragradient_step": [extragradient_from_the_half_step, extragradient_in_place,
                                  extragradient_plain_step],
           "regularised_eigenvalues": [eigenvalues_full_gamma, eigenvalues_real_sqrt,
                                       eigenvalues_wrong_sign],
           "spearman": [spearman_argsort_ranks, spearman_textbook_formula, spearman_pearson,
                        spearman_sorts_in_place]}

test_exercise, test_mutant_is_rejected = make_tests("14", CHECKS, MUTANTS)
