"""The Fréchet distance between two sets of features: FID (Heusel et al. 2017).

Push real and generated images through a feature network (for the published FID,
Inception-v3's 2048 pool features; here any (N, d) array of features), fit a Gaussian
to each set, mean mu and covariance S, and report the Fréchet (2-Wasserstein) distance
between the two Gaussians, squared:

    FID = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2}).

It is 0 exactly when the means and the covariances agree, and lower is better. It
sees only the first two moments of the features: two distributions with the same
mean and covariance are at distance 0, however they differ otherwise.

**The square root.** S_1^{1/2} S_2 S_1^{1/2} is symmetric positive semi-definite, so
its square root comes from the symmetric eigendecomposition A = V diag(w) V^T:
A^{1/2} = V diag(sqrt(w)) V^T. ``xp.linalg.eigh`` computes it in NumPy and in CuPy
alike, unlike ``scipy.linalg.sqrtm``, which the reference code (pytorch-fid) applies to
the product S_1 S_2 instead. Both give the same trace: S_1 S_2 = S_1^{1/2} (S_1^{1/2}
S_2 S_1^{1/2}) S_1^{-1/2} is similar to the symmetric matrix (for an invertible S_1,
and by continuity for any), so the two have the same eigenvalues lambda_i, and

    Tr((S_1^{1/2} S_2 S_1^{1/2})^{1/2}) = Tr((S_1 S_2)^{1/2}) = sum_i sqrt(lambda_i).

The trace needs only those eigenvalues, so the outer root is never formed as a matrix.

**Estimation.** mu is the sample mean and S the sample covariance, with N - 1 in its
denominator (``numpy.cov``'s default, as in pytorch-fid). FID estimated this way is
*biased*: two samples of one distribution score above 0, by an amount that shrinks as
N grows (Binkowski et al. 2018), so FIDs are comparable only at the same N (papers
use 50,000 generated samples). KID (``minigan.metrics.kid``) has no such bias.
"""
from minigan.metrics import _arrays


def matrix_sqrt_psd(a):
    """The square root of a symmetric positive semi-definite matrix: A^{1/2} A^{1/2} = A.

    A = V diag(w) V^T (``xp.linalg.eigh``) gives A^{1/2} = V diag(sqrt(w)) V^T, the
    unique symmetric PSD root. Shapes: (d, d) -> (d, d), float64, on ``a``'s device.

    >>> matrix_sqrt_psd(numpy.diag([4.0, 9.0]))
    array([[2., 0.],
           [0., 3.]])
    """
    xp = _arrays.common_array_module(a)
    a = _arrays.as_float64(a, xp, "matrix_sqrt_psd")
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"matrix_sqrt_psd: expected a square matrix (d, d), got shape {a.shape}")
    # eigh reads only one triangle; averaging with the transpose makes the answer the
    # root of the symmetric part, whichever triangle round-off has disturbed.
    eigenvalues, eigenvectors = xp.linalg.eigh((a + a.T) / 2)
    # A PSD matrix has eigenvalues >= 0, but round-off leaves the zero ones (a rank-
    # deficient covariance, fewer samples than dimensions) at about -1e-16; their square
    # root would be NaN. Clipping them to 0 changes A by no more than the round-off did.
    roots = xp.sqrt(xp.clip(eigenvalues, 0, None))
    return (eigenvectors * roots[None, :]) @ eigenvectors.T


def feature_statistics(features):
    """The Gaussian fitted to a feature set: mean mu (d,) and covariance S (d, d).

    mu = (1/N) sum_i x_i,  S = 1/(N - 1) sum_i (x_i - mu)(x_i - mu)^T. Shapes: (N, d)
    with N >= 2 -> ((d,), (d, d)), float64. Compute the real data's statistics once and
    pass them to :func:`frechet_distance` for every generator.
    """
    xp = _arrays.common_array_module(features)
    x = _arrays.as_float64(features, xp, "feature_statistics")
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"feature_statistics: expected features (N, d) with N >= 2 (a "
                         f"covariance needs two samples), got shape {x.shape}")
    _arrays.check_finite("feature_statistics", "features", x, xp)
    mu = x.mean(axis=0)
    centred = x - mu[None, :]
    return mu, centred.T @ centred / (len(x) - 1)


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """The squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), a float:

        ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1^{1/2} S2 S1^{1/2})^{1/2}).

    Shapes: mu1, mu2 (d,); sigma1, sigma2 (d, d), symmetric PSD. Arrays or Tensors.
    For identical inputs the result is 0 up to round-off, which may leave it a hair
    below zero (about -1e-12); it is not clipped, so what you see is what was computed.

    >>> frechet_distance(numpy.zeros(2), numpy.eye(2), numpy.ones(2), 4 * numpy.eye(2))
    4.0
    """
    xp = _arrays.common_array_module(mu1, sigma1, mu2, sigma2)
    mu1, sigma1, mu2, sigma2 = (_arrays.as_float64(a, xp, "frechet_distance")
                                for a in (mu1, sigma1, mu2, sigma2))
    d = mu1.shape[0] if mu1.ndim == 1 else None
    if (d is None or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d)):
        raise ValueError(f"frechet_distance: expected mu1 (d,), sigma1 (d, d), mu2 (d,), sigma2 "
                         f"(d, d) with one d, got shapes {mu1.shape}, {sigma1.shape}, "
                         f"{mu2.shape} and {sigma2.shape}")
    root1 = matrix_sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    # Only the eigenvalues of the middle matrix are needed (see the module docstring);
    # the clip is matrix_sqrt_psd's, for the same round-off below zero.
    trace_of_root = xp.sqrt(xp.clip(xp.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    difference = mu1 - mu2
    return _arrays.number(difference @ difference + xp.trace(sigma1) + xp.trace(sigma2)
                          - 2 * trace_of_root)


def fid(features_a, features_b):
    """FID between two feature sets: the Fréchet distance of their fitted Gaussians.

    Shapes: features_a (N, d), features_b (M, d), with N, M >= 2 (arrays or Tensors,
    NumPy or CuPy). Returns a float. Symmetric in its arguments; lower is better.

    >>> rng = numpy.random.default_rng(0)
    >>> x = rng.standard_normal((500, 8))
    >>> abs(fid(x, x)) < 1e-9, round(fid(x, x + 1), 9)   # a shift by (1, ..., 1): ||.||^2 = 8
    (True, 8.0)
    """
    _, a, b = _arrays.feature_pair("fid", features_a, features_b, min_samples=2,
                                   why="to estimate a covariance")
    return frechet_distance(*feature_statistics(a), *feature_statistics(b))
