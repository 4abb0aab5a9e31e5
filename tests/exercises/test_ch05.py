"""Chapter 05's exercises: the matrix square root, the Fréchet distance, KID's unbiased MMD^2
and k-NN precision, checked against closed forms and hand-built cases."""
import math

import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch05


def _random_psd(rng, d, rank=None):
    x = rng.standard_normal((rank or d + 2, d))
    return x.T @ x / len(x)


def check_matrix_sqrt_psd(matrix_sqrt_psd):
    """R is symmetric, PSD and R @ R = A: on a diagonal matrix (R = the entrywise root), on
    full-rank random matrices, and on rank-deficient ones (X^T X from 3 rows in 6 dimensions),
    whose zero eigenvalues round-off leaves slightly negative: the answer must still be finite."""
    got = np.asarray(matrix_sqrt_psd(np.diag([4.0, 9.0, 0.0])))
    np.testing.assert_allclose(got, np.diag([2.0, 3.0, 0.0]), atol=1e-12)
    rng = np.random.default_rng(0)
    for d, rank in [(5, None), (8, None), (6, 3), (6, 3), (10, 4)]:
        a = _random_psd(rng, d, rank)
        root = np.asarray(matrix_sqrt_psd(a), dtype=np.float64)
        assert root.shape == (d, d), f"expected ({d}, {d}), got {root.shape}"
        assert np.all(np.isfinite(root)), "NaN in the root: clip the eigenvalues at 0"
        np.testing.assert_allclose(root, root.T, atol=1e-10)
        np.testing.assert_allclose(root @ root, a, atol=1e-9)
        assert np.linalg.eigvalsh((root + root.T) / 2).min() > -1e-7, "the root must be PSD"


def _frechet_2x2(mu1, s1, mu2, s2):
    """For 2x2 covariances Tr((S1 S2)^{1/2}) = sqrt(l1) + sqrt(l2), l the eigenvalues of S1 S2,
    and (sqrt(l1) + sqrt(l2))^2 = Tr(S1 S2) + 2 sqrt(det S1 det S2): a closed form."""
    cross = math.sqrt(np.trace(s1 @ s2) + 2 * math.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross)


def check_frechet_distance(frechet_distance):
    """Closed forms: in 1-D (m1 - m2)^2 + (s1 - s2)^2; for diagonal covariances a sum of
    those; for 2x2 covariances that do not commute, the closed form of _frechet_2x2. And 0
    between a Gaussian and itself, symmetric in its two Gaussians."""
    got = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[9.0]]))
    assert got == pytest.approx(2.0 ** 2 + (2.0 - 3.0) ** 2, rel=1e-10)
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    rng = np.random.default_rng(1)
    for _ in range(5):
        s1, s2 = _random_psd(rng, 2), _random_psd(rng, 2)
        m1, m2 = rng.standard_normal(2), rng.standard_normal(2)
        assert abs(np.trace(s1 @ s2 - s2 @ s1)) + np.abs(s1 @ s2 - s2 @ s1).max() > 1e-3
        expected = _frechet_2x2(m1, s1, m2, s2)
        assert frechet_distance(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-8, abs=1e-10)
        assert frechet_distance(m2, s2, m1, s1) == pytest.approx(expected, rel=1e-8, abs=1e-10)
    s, m = _random_psd(rng, 6), rng.standard_normal(6)
    assert abs(frechet_distance(m, s, m, s)) < 1e-9


def _cubic(a, b):
    return (a @ b / len(a) + 1) ** 3


def check_mmd2_unbiased(mmd2_unbiased):
    """Equals the formula summed pair by pair; and is unbiased: over 400 draws of two small
    samples of one distribution its mean is 0 within 3 standard errors (the biased estimate,
    which keeps the pairs i = j, sits far above)."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((7, 3)) + 0.5
    m, n = len(x), len(y)
    within_x = sum(_cubic(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    within_y = sum(_cubic(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    across = sum(_cubic(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    assert mmd2_unbiased(x, y) == pytest.approx(within_x + within_y - 2 * across, rel=1e-10)
    estimates = np.array([mmd2_unbiased(rng.standard_normal((6, 2)), rng.standard_normal((8, 2)))
                          for _ in range(400)])
    error = estimates.std() / math.sqrt(len(estimates))
    assert abs(estimates.mean()) < 3 * error, \
        f"mean {estimates.mean():.4f} over draws of one distribution, standard error {error:.4f}"


def check_precision(precision):
    """A hand-built 1-D case: real points 0, 1, 3, 6, 10 have k = 1 radii 1, 1, 2, 3, 4 and
    k = 2 radii 3, 2, 3, 4, 7. Of the generated points -1.5, -1, 0.5, 8, 14, 14.5, 20, 100,
    four lie in a k = 1 ball (-1 and 14 exactly on a boundary: the balls are closed) and six
    in a k = 2 ball. A set against itself scores 1; points far away score 0."""
    real = np.array([0.0, 1.0, 3.0, 6.0, 10.0])[:, None]
    generated = np.array([-1.5, -1.0, 0.5, 8.0, 14.0, 14.5, 20.0, 100.0])[:, None]
    assert precision(real, generated, k=1) == pytest.approx(4 / 8)
    assert precision(real, generated, k=2) == pytest.approx(6 / 8)
    rng = np.random.default_rng(3)
    points = rng.standard_normal((50, 4))
    assert precision(points, points, k=3) == pytest.approx(1.0)
    assert precision(points, points[:20] + 100.0, k=3) == 0.0


# --- planted wrong answers -----------------------------------------------------------------
def sqrt_without_clipping(a):
    """Takes the root of the eigenvalues as they come: NaN where round-off made them < 0."""
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(w)) @ v.T


def sqrt_entrywise(a):
    """The root of each entry: right for a diagonal matrix only."""
    return np.sqrt(np.abs(a))


def frechet_without_the_2(mu1, sigma1, mu2, sigma2):
    """Subtracts the cross term once instead of twice."""
    from minigan.metrics.fid import matrix_sqrt_psd
    root = matrix_sqrt_psd(sigma1)
    cross = np.trace(matrix_sqrt_psd(root @ sigma2 @ root))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - cross)


def frechet_product_of_roots(mu1, sigma1, mu2, sigma2):
    """Tr(S1^{1/2} S2^{1/2}) for Tr((S1 S2)^{1/2}): equal only when S1 and S2 commute."""
    from minigan.metrics.fid import matrix_sqrt_psd
    cross = np.trace(matrix_sqrt_psd(sigma1) @ matrix_sqrt_psd(sigma2))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * cross)


def frechet_mean_not_squared(mu1, sigma1, mu2, sigma2):
    """||mu1 - mu2|| where the distance needs its square."""
    from minigan.metrics.fid import frechet_distance
    gap = float(np.sum((mu1 - mu2) ** 2))
    return frechet_distance(mu1, sigma1, mu2, sigma2) - gap + math.sqrt(gap)


def mmd2_biased(x, y):
    """Keeps the pairs i = j and divides by m^2: the biased (V-statistic) estimate."""
    d = x.shape[1]
    return float(((x @ x.T / d + 1) ** 3).mean() + ((y @ y.T / d + 1) ** 3).mean()
                 - 2 * ((x @ y.T / d + 1) ** 3).mean())


def mmd2_drops_diagonal_divides_by_m_squared(x, y):
    """Leaves out i = j but still divides by m^2: biased downwards."""
    d, m, n = x.shape[1], len(x), len(y)
    k_xx, k_yy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3
    return float((k_xx.sum() - np.trace(k_xx)) / m ** 2 + (k_yy.sum() - np.trace(k_yy)) / n ** 2
                 - 2 * ((x @ y.T / d + 1) ** 3).mean())


def _radii_and_distances(real, generated, k, counting_self=False):
    within = np.sqrt(((real[:, None] - real[None]) ** 2).sum(axis=2))
    column = k - 1 if counting_self else k          # column 0 of each sorted row is the point
    radii = np.sort(within, axis=1)[:, column]
    across = np.sqrt(((generated[:, None] - real[None]) ** 2).sum(axis=2))
    return radii, across


def precision_counting_itself(real, generated, k=3):
    """Counts each real point as its own nearest neighbour: every radius one neighbour short."""
    radii, across = _radii_and_distances(real, generated, k, counting_self=True)
    return float((across <= radii[None]).any(axis=1).mean())


def precision_open_balls(real, generated, k=3):
    """Strict inequality: a point exactly on a ball's boundary is left out."""
    radii, across = _radii_and_distances(real, generated, k)
    return float((across < radii[None]).any(axis=1).mean())


CHECKS = {"matrix_sqrt_psd": check_matrix_sqrt_psd, "frechet_distance": check_frechet_distance,
          "mmd2_unbiased": check_mmd2_unbiased, "precision": check_precision}
MUTANTS = {"matrix_sqrt_psd": [sqrt_without_clipping, sqrt_entrywise],
           "frechet_distance": [frechet_without_the_2, frechet_product_of_roots,
                                frechet_mean_not_squared],
           "mmd2_unbiased": [mmd2_biased, mmd2_drops_diagonal_divides_by_m_squared],
           "precision": [precision_counting_itself, precision_open_balls]}

test_exercise, test_mutant_is_rejected = make_tests("05", CHECKS, MUTANTS)
