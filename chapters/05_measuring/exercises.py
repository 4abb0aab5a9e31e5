"""Chapter 05 exercises: the arithmetic inside FID, KID and precision.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch05

NumPy arrays in, NumPy floats or arrays out; leave the arrays passed in unchanged (the
tests check). The tests compare your answers with closed forms up to round-off, so any
correct method passes (numpy.linalg.eigh, an SVD, scipy.linalg.sqrtm, ...).
"""


def matrix_sqrt_psd(a):
    """Exercise 5.1. The square root of a symmetric positive semi-definite matrix ``a`` (d, d):
    the symmetric PSD matrix R with R @ R = a. Use the eigendecomposition a = V diag(w) V^T
    (``numpy.linalg.eigh``). The eigenvalues of a PSD matrix are >= 0, but a rank-deficient
    one (a covariance of fewer samples than dimensions) comes back with some at about -1e-16:
    what is the square root of those? Return (d, d), with no NaN: the check gives you such
    matrices, and a zero eigenvalue's root must come out 0 (up to round-off), not
    sqrt(a small floor)."""
    raise NotImplementedError("Exercise 5.1: matrix_sqrt_psd")


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Exercise 5.2. The squared Fréchet (2-Wasserstein) distance between the Gaussians
    N(mu1, sigma1) and N(mu2, sigma2), mu (d,) and sigma (d, d) symmetric PSD:

        ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1^{1/2} sigma2 sigma1^{1/2})^{1/2}).

    (The last trace equals Tr((sigma1 sigma2)^{1/2}), which is *not* Tr(sigma1^{1/2}
    sigma2^{1/2}) unless the two commute.) Your matrix_sqrt_psd may help. The covariances
    may be singular (estimated from fewer samples than dimensions): the answer must stay
    finite there too. Return a float."""
    raise NotImplementedError("Exercise 5.2: frechet_distance")


def mmd2_unbiased(x, y):
    """Exercise 5.3. KID's unbiased estimate of MMD^2 between samples x (m, d) and y (n, d),
    with the cubic kernel k(a, b) = (a . b / d + 1)^3:

        1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
        - 2/(mn) sum_{i, j} k(x_i, y_j).

    Why leave out i = j? Return a float (it can be negative)."""
    raise NotImplementedError("Exercise 5.3: mmd2_unbiased")


def precision(real, generated, k=3):
    """Exercise 5.4. Improved precision (Kynkäänniemi et al. 2019): the share of ``generated``
    (M, d) rows inside the union of the closed balls ||x - real_i|| <= r_i, where r_i is the
    distance from real_i to its k-th nearest neighbour among the *other* rows of ``real``
    (N, d). A duplicate of real_i is another row, at distance 0. A generated row counts if
    it lies in any of the balls, not only in the ball of its nearest real row. Return a
    float in [0, 1]."""
    raise NotImplementedError("Exercise 5.4: precision")
