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


def _unchanged(before, after, name):
    assert np.array_equal(before, after), f"your answer changed its input {name} in place"


def _real(value, what):
    """A learner's array as real float64: an imaginary part of round-off size (what
    scipy.linalg.sqrtm leaves on a singular matrix) is dropped, a larger one is an error."""
    value = np.asarray(value)
    if np.iscomplexobj(value):
        imaginary = np.abs(value.imag).max(initial=0)
        assert imaginary <= 1e-6 * max(1.0, np.abs(value.real).max(initial=0)), \
            f"{what}: expected a real answer, got an imaginary part of {imaginary:.3g}"
        value = value.real
    return value.astype(np.float64)


def _named(case, function, *arguments, hint=""):
    """function(*arguments), with the case named if it raises (an exercise not yet written
    still raises its own NotImplementedError)."""
    try:
        return function(*arguments)
    except NotImplementedError:
        raise
    except Exception as error:
        raise AssertionError(f"{case}: your answer raised {type(error).__name__}: "
                             f"{error}{hint}") from error


def check_matrix_sqrt_psd(matrix_sqrt_psd):
    """R is the symmetric PSD root of A: exactly the entrywise root on a diagonal matrix
    (a zero eigenvalue stays 0, not sqrt(eps)); R itself where A = R @ R is built from a known
    PSD R; and on random full-rank and rank-deficient matrices (X^T X from 3 rows in 6
    dimensions), whose zero eigenvalues round-off leaves slightly negative, R is finite,
    symmetric and PSD with R @ R = A. Up to round-off, so other correct methods
    (scipy.linalg.sqrtm, an SVD, whose roots of a singular matrix are good to about 1e-8) pass."""
    for diagonal in ([4.0, 9.0, 0.0], [2.25], [0.0, 1.0]):
        a = np.diag(diagonal)
        case = f"the root of diag({diagonal})"
        got = _real(_named(case, matrix_sqrt_psd, a), case)
        expected = np.diag(np.sqrt(diagonal))
        assert got.shape == a.shape and np.allclose(got, expected, rtol=0, atol=1e-7), \
            f"{case} is diag({np.sqrt(diagonal).tolist()}), got {got.tolist()}"
    rng = np.random.default_rng(0)
    for rank in (4, 2):
        basis, _ = np.linalg.qr(rng.standard_normal((4, 4)))
        spectrum = np.array([2.0, 1.0, 0.5, 0.25]) * (np.arange(4) < rank)
        root = (basis * spectrum) @ basis.T
        got = _real(matrix_sqrt_psd(root @ root), f"the root of R @ R, R of rank {rank}")
        np.testing.assert_allclose(got, root, atol=1e-7,
                                   err_msg=f"A = R @ R for a known symmetric PSD R of rank {rank}: "
                                           f"the root of A is R")
    for d, rank in [(5, None), (8, None), (6, 3), (6, 3), (10, 4)]:
        a = _random_psd(rng, d, rank)
        case = (f"A = X^T X / {rank} from {rank} rows in {d} dimensions (rank {rank})" if rank
                else f"a full-rank {d} x {d} A")
        copy = a.copy()
        hint = ("; round-off leaves its zero eigenvalues at about -1e-16: clip them at 0"
                if rank else "")
        root = _real(_named(case, matrix_sqrt_psd, a, hint=hint), case)
        _unchanged(copy, a, "a")
        assert root.shape == (d, d), f"{case}: expected ({d}, {d}), got {root.shape}"
        assert np.all(np.isfinite(root)), (
            f"{case}: the root has NaN; round-off leaves A's zero eigenvalues at about -1e-16, "
            f"and sqrt of those is NaN: clip them at 0 first")
        scale = np.abs(a).max()
        assert np.abs(root - root.T).max() <= 1e-6 * scale, f"{case}: the root is not symmetric"
        np.testing.assert_allclose(root @ root, a, atol=1e-9 * scale, err_msg=f"{case}: R @ R = A")
        assert np.linalg.eigvalsh((root + root.T) / 2).min() > -1e-6 * scale, \
            f"{case}: the root must be PSD (the root with eigenvalues sqrt(w) >= 0)"


def _frechet_2x2(mu1, s1, mu2, s2):
    """For 2x2 covariances Tr((S1 S2)^{1/2}) = sqrt(l1) + sqrt(l2), l the eigenvalues of S1 S2,
    and (sqrt(l1) + sqrt(l2))^2 = Tr(S1 S2) + 2 sqrt(det S1 det S2): a closed form."""
    cross = math.sqrt(np.trace(s1 @ s2) + 2 * math.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross)


def _frechet_by_eigenvalues(mu1, s1, mu2, s2):
    """Tr((S1 S2)^{1/2}) as the sum of the roots of the eigenvalues of S1 S2 (real and >= 0,
    as S1 S2 is similar to a PSD matrix; round-off can leave them at -1e-17 or 1e-17 j)."""
    eigenvalues = np.linalg.eigvals(s1 @ s2).real
    cross = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross)


def _distance(frechet_distance, mu1, s1, mu2, s2, case, singular=False):
    hint = ("; round-off leaves a singular covariance's zero eigenvalues at about -1e-16, "
            "and their square root is NaN: clip them at 0" if singular else "")
    inputs = {"mu1": mu1, "sigma1": s1, "mu2": mu2, "sigma2": s2}
    copies = {name: a.copy() for name, a in inputs.items()}
    got = _real(_named(case, frechet_distance, mu1, s1, mu2, s2, hint=hint), case)
    for name, a in inputs.items():
        _unchanged(copies[name], a, name)
    assert got.size == 1, f"{case}: expected one number, got shape {got.shape}"
    got = float(got.reshape(()))
    assert math.isfinite(got), f"{case}: got {got}{hint}"
    return got


def check_frechet_distance(frechet_distance):
    """Closed forms: in 1-D (m1 - m2)^2 + (s1 - s2)^2; for diagonal covariances a sum of
    those; for 2x2 covariances that do not commute, the closed form of _frechet_2x2; in 4 and
    6 dimensions, the sum of the roots of the eigenvalues of S1 S2, also for rank-deficient
    covariances (3 samples in 6 dimensions), where the answer must stay finite. And 0 between
    a Gaussian and itself, symmetric in its two Gaussians. Up to round-off (relative 1e-6),
    so scipy.linalg.sqrtm(S1 @ S2), good to about 1e-8 on a singular product, passes."""
    def expect(case, gaussians, expected, singular=False):
        got = _distance(frechet_distance, *gaussians, case, singular)
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-8), \
            f"{case}: expected {expected:.6f}, got {got:.6f}"

    expect("1-D, N(1, 4) and N(3, 9)",
           (np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[9.0]])),
           2.0 ** 2 + (2.0 - 3.0) ** 2)
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expect("diagonal covariances diag(1, 4, 0.25) and diag(9, 1, 0)",
           (mu1, np.diag(a), mu2, np.diag(b)),
           np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    rng = np.random.default_rng(1)
    for _ in range(5):
        s1, s2 = _random_psd(rng, 2), _random_psd(rng, 2)
        m1, m2 = rng.standard_normal(2), rng.standard_normal(2)
        assert np.abs(s1 @ s2 - s2 @ s1).max() > 1e-3
        expected = _frechet_2x2(m1, s1, m2, s2)
        expect("2 x 2 covariances that do not commute", (m1, s1, m2, s2), expected)
        expect("2 x 2 covariances that do not commute, the Gaussians swapped",
               (m2, s2, m1, s1), expected)
    for d, rank in [(4, None), (6, None), (6, 3)]:
        s1, s2 = _random_psd(rng, d, rank), _random_psd(rng, d, rank)
        m1, m2 = rng.standard_normal(d), rng.standard_normal(d)
        case = (f"covariances of rank {rank} in {d} dimensions (from {rank} samples)" if rank
                else f"full-rank {d} x {d} covariances")
        expect(case, (m1, s1, m2, s2), _frechet_by_eigenvalues(m1, s1, m2, s2), bool(rank))
    s, m = _random_psd(rng, 6), rng.standard_normal(6)
    expect("a Gaussian and itself", (m, s, m, s), 0.0)


def _cubic(a, b):
    return (a @ b / len(a) + 1) ** 3


def _mmd2_pair_by_pair(x, y):
    m, n = len(x), len(y)
    within_x = sum(_cubic(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    within_y = sum(_cubic(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    across = sum(_cubic(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return within_x + within_y - 2 * across


def check_mmd2_unbiased(mmd2_unbiased):
    """Equals the formula summed pair by pair, for samples of different sizes m != n != d
    (and m = n), one of them negative (the unbiased estimate can be); and is unbiased: over
    400 draws of two small samples of one distribution its mean is 0 within 3 standard
    errors (the biased estimate, which keeps the pairs i = j, sits far above)."""
    rng = np.random.default_rng(2)
    cases = [(rng.standard_normal((5, 3)), rng.standard_normal((7, 3)) + 0.5),
             (rng.standard_normal((4, 2)), rng.standard_normal((4, 2)) * 2),
             (rng.standard_normal((3, 6)), rng.standard_normal((8, 6)) - 0.3)]
    negative = np.random.default_rng(104)   # two samples of one distribution, MMD^2_u = -1.64
    cases.append((negative.standard_normal((6, 4)), negative.standard_normal((4, 4))))
    for x, y in cases:
        copies = x.copy(), y.copy()
        got = float(np.asarray(mmd2_unbiased(x, y)).reshape(()))
        _unchanged(copies[0], x, "x")
        _unchanged(copies[1], y, "y")
        expected = _mmd2_pair_by_pair(x, y)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), (
            f"x {x.shape}, y {y.shape}: the formula summed pair by pair gives {expected:.6f}, "
            f"got {got:.6f}")
    estimates = np.array([float(mmd2_unbiased(rng.standard_normal((6, 2)),
                                              rng.standard_normal((8, 2)))) for _ in range(400)])
    error = estimates.std() / math.sqrt(len(estimates))
    assert abs(estimates.mean()) < 3 * error, \
        f"mean {estimates.mean():.4f} over draws of one distribution, standard error {error:.4f}"


def _precision_by_loops(real, generated, k):
    """The definition, one point at a time."""
    radii = []
    for i, point in enumerate(real):
        others = [np.linalg.norm(point - other) for j, other in enumerate(real) if j != i]
        radii.append(sorted(others)[k - 1])
    inside = [any(np.linalg.norm(g - r) <= radius for r, radius in zip(real, radii))
              for g in generated]
    return sum(inside) / len(generated)


def check_precision(precision):
    """Hand-built 1-D cases, then the definition computed point by point on random sets.

    * Real points 0, 1, 3, 6, 10 have k = 1 radii 1, 1, 2, 3, 4 and k = 2 radii 3, 2, 3, 4, 7.
      Of the generated points -1.5, -1, 0.5, 8, 14, 14.5, 20, 100, four lie in a k = 1 ball
      (-1 and 14 exactly on a boundary: the balls are closed) and six in a k = 2 ball.
    * Real points 0, 1, 2, 20 (k = 1 radii 1, 1, 1, 18): 3.5 is outside the ball of its
      nearest real point, 2, but inside the ball of 20; a point counts if it lies in *any*
      ball. 3 of -0.5, 2.5, 3.5, 40 are inside.
    * Real points 0, 0, 5, 9: a duplicate is another row, at distance 0, so the two zeros have
      k = 1 radius 0; of 0.5, -0.5, 0, 2 only 0 and 2 are inside.
    * Random sets in 2 and 5 dimensions, k = 1, 2, 3 (and the default k = 3), compared with the
      definition computed point by point. A set against itself scores 1; far points score 0.
    """
    def expect(real, generated, k, expected, case):
        real = np.asarray(real, dtype=np.float64)[:, None]
        generated = np.asarray(generated, dtype=np.float64)[:, None]
        copies = real.copy(), generated.copy()
        got = float(precision(real, generated, k=k))
        _unchanged(copies[0], real, "real")
        _unchanged(copies[1], generated, "generated")
        assert got == pytest.approx(expected), f"{case}, k = {k}: expected {expected}, got {got}"

    generated = [-1.5, -1.0, 0.5, 8.0, 14.0, 14.5, 20.0, 100.0]
    expect([0, 1, 3, 6, 10], generated, 1, 4 / 8, "real 0, 1, 3, 6, 10 (radii 1, 1, 2, 3, 4)")
    expect([0, 1, 3, 6, 10], generated, 2, 6 / 8, "real 0, 1, 3, 6, 10 (radii 3, 2, 3, 4, 7)")
    expect([0, 1, 2, 20], [-0.5, 2.5, 3.5, 40], 1, 3 / 4,
           "real 0, 1, 2, 20 (radii 1, 1, 1, 18; 3.5 lies in the ball of 20, not of 2)")
    expect([0, 0, 5, 9], [0.5, -0.5, 0, 2], 1, 2 / 4,
           "real 0, 0, 5, 9 (the duplicates' radius is 0: each is the other's neighbour)")

    rng = np.random.default_rng(3)
    for d, k in [(2, 1), (2, 3), (5, 2), (5, 3)]:
        real, generated = rng.standard_normal((40, d)), 1.3 * rng.standard_normal((60, d)) + 0.3
        copies = real.copy(), generated.copy()
        got = float(precision(real, generated, k=k))
        _unchanged(copies[0], real, "real")
        _unchanged(copies[1], generated, "generated")
        expected = _precision_by_loops(real, generated, k)
        assert got == pytest.approx(expected), (
            f"40 real and 60 generated points in {d} dimensions, k = {k}: expected {expected}, "
            f"got {got}")
    real, generated = rng.standard_normal((40, 3)), 1.3 * rng.standard_normal((60, 3))
    expected, got = _precision_by_loops(real, generated, 3), float(precision(real, generated))
    assert got == pytest.approx(expected), f"the default k is 3: expected {expected}, got {got}"
    points = rng.standard_normal((50, 4))
    assert precision(points, points, k=3) == pytest.approx(1.0), "a set against itself scores 1"
    assert precision(points, points[:20] + 100.0, k=3) == 0.0, \
        "points 100 away from every real point score 0"


# --- planted wrong answers -----------------------------------------------------------------
def sqrt_without_clipping(a):
    """Takes the root of the eigenvalues as they come: NaN where round-off made them < 0."""
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(w)) @ v.T


def sqrt_entrywise(a):
    """The root of each entry: right for a diagonal matrix only."""
    return np.sqrt(np.abs(a))


def sqrt_floored_at_epsilon(a):
    """Floors the eigenvalues at 1e-12 instead of 0: a zero eigenvalue gets the root 1e-6."""
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(np.maximum(w, 1e-12))) @ v.T


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


def frechet_root_of_the_product(mu1, sigma1, mu2, sigma2):
    """Takes the root of S1 S2 with eigh, which assumes a symmetric matrix: S1 S2 is not."""
    from minigan.metrics.fid import matrix_sqrt_psd
    cross = np.trace(matrix_sqrt_psd(sigma1 @ sigma2))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * cross)


def frechet_without_clipping(mu1, sigma1, mu2, sigma2):
    """Roots eigenvalues without clipping them: NaN on a singular covariance."""
    def root(a):
        w, v = np.linalg.eigh(a)
        return (v * np.sqrt(w)) @ v.T
    middle = root(sigma1) @ sigma2 @ root(sigma1)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2)
                 - 2 * np.trace(root(middle)))


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


def mmd2_clipped_at_zero(x, y):
    """Rounds a negative estimate up to 0: no longer unbiased."""
    from minigan.metrics.kid import mmd2_unbiased
    return max(0.0, mmd2_unbiased(x, y))


def mmd2_divides_by_d_outside(x, y):
    """Uses (a . b)^3 / d + 1 for the kernel instead of (a . b / d + 1)^3."""
    d, m, n = x.shape[1], len(x), len(y)
    k_xx, k_yy, k_xy = (x @ x.T) ** 3 / d + 1, (y @ y.T) ** 3 / d + 1, (x @ y.T) ** 3 / d + 1
    return float((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
                 + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1)) - 2 * k_xy.mean())


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


def precision_nearest_ball_only(real, generated, k=3):
    """Tests each point against the ball of its nearest real point only, not the union."""
    radii, across = _radii_and_distances(real, generated, k)
    nearest = across.argmin(axis=1)
    return float((across[np.arange(len(generated)), nearest] <= radii[nearest]).mean())


def precision_skips_zero_distances(real, generated, k=3):
    """Leaves out every distance 0 to skip the point itself: a duplicate is skipped too."""
    within = np.sqrt(((real[:, None] - real[None]) ** 2).sum(axis=2))
    radii = np.sort(np.where(within > 0, within, np.inf), axis=1)[:, k - 1]
    across = np.sqrt(((generated[:, None] - real[None]) ** 2).sum(axis=2))
    return float((across <= radii[None]).any(axis=1).mean())


CHECKS = {"matrix_sqrt_psd": check_matrix_sqrt_psd, "frechet_distance": check_frechet_distance,
          "mmd2_unbiased": check_mmd2_unbiased, "precision": check_precision}
MUTANTS = {"matrix_sqrt_psd": [sqrt_without_clipping, sqrt_entrywise, sqrt_floored_at_epsilon],
           "frechet_distance": [frechet_without_the_2, frechet_product_of_roots,
                                frechet_root_of_the_product, frechet_without_clipping,
                                frechet_mean_not_squared],
           "mmd2_unbiased": [mmd2_biased, mmd2_drops_diagonal_divides_by_m_squared,
                             mmd2_clipped_at_zero, mmd2_divides_by_d_outside],
           "precision": [precision_counting_itself, precision_open_balls,
                         precision_nearest_ball_only, precision_skips_zero_distances]}

test_exercise, test_mutant_is_rejected = make_tests("05", CHECKS, MUTANTS)
