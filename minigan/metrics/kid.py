"""The Kernel Inception Distance (Binkowski et al. 2018): an unbiased MMD^2 on features.

The maximum mean discrepancy between distributions P and Q under a kernel k is

    MMD^2(P, Q) = E k(x, x') + E k(y, y') - 2 E k(x, y),   x, x' ~ P and y, y' ~ Q,

all independent. KID uses the cubic polynomial kernel on d-dimensional features,

    k(x, y) = (x . y / d + 1)^3,

whose feature space holds every monomial of degree up to 3, so MMD^2 = 0 exactly
when the features' moments agree up to the third (FID compares two).

**Unbiased.** From x_1..x_m ~ P and y_1..y_n ~ Q, the estimate (a U-statistic)

    MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
              - 2/(mn) sum_{i, j} k(x_i, y_j)

leaves out the pairs i = j: k(x_i, x_i) is not a draw of k(x, x') with x' independent
of x. Each average then has exactly its population value as expectation, so
E[MMD^2_u] = MMD^2. In particular, for P = Q the estimate is 0 *on average*, and for
any one draw it is as likely to come out a little negative as a little positive.
Unlike FID, KID's expected value does not depend on the number of samples, so KIDs
measured on different N can be compared.

**Subsets.** The protocol of Binkowski et al. averages MMD^2_u over 100 random subsets
of 1,000 samples from each set (drawn without replacement within a subset), and
reports the mean and the standard deviation of those 100 estimates. Smaller sets use
subsets as large as the smaller set.
"""
import numpy

from minigan import backend
from minigan.metrics import _arrays


def polynomial_kernel(x, y):
    """The kernel matrix K_ij = (x_i . y_j / d + 1)^3. Shapes: (m, d), (n, d) -> (m, n)."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def mmd2_unbiased(x, y):
    """The unbiased estimate MMD^2_u of the module docstring, with the cubic kernel, a float.

    Shapes: x (m, d), y (n, d), m, n >= 2 (arrays or Tensors, NumPy or CuPy).
    """
    xp, x, y = _arrays.feature_pair("mmd2_unbiased", x, y, min_samples=2,
                                    why="for the unbiased estimate", names=("x", "y"))
    m, n = len(x), len(y)
    k_xx, k_yy = polynomial_kernel(x, x), polynomial_kernel(y, y)
    # The diagonals hold the pairs i = j, which the unbiased estimate leaves out.
    within_x = (k_xx.sum() - xp.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - xp.trace(k_yy)) / (n * (n - 1))
    return _arrays.number(within_x + within_y - 2 * polynomial_kernel(x, y).mean())


def kid(features_a, features_b, subsets=100, subset_size=1000, rng=None):
    """KID: the mean and standard deviation of MMD^2_u over random subsets.

    Args:
        features_a, features_b: (N, d) and (M, d) features, N, M >= 2 (arrays or
            Tensors, NumPy or CuPy).
        subsets: how many subsets to average over (100 in the paper).
        subset_size: the samples drawn from each set for one subset (1,000 in the
            paper); clipped to min(N, M).
        rng: a numpy Generator, an int seed, or None for minigan's generator, as in
            ``minigan.data.toy``.

    Returns:
        (mean, std) as floats. ``std`` is the spread of the single-subset estimates
        (numpy's std, n in its denominator, as in the reference code), not the
        standard error of ``mean``. The mean can be below 0 (the estimate is unbiased).

    >>> x = numpy.random.default_rng(0).standard_normal((400, 8))
    >>> mean, std = kid(x, x + 0.5, subsets=10, subset_size=200, rng=0)
    >>> mean > 10 * std
    True
    """
    xp, a, b = _arrays.feature_pair("kid", features_a, features_b, min_samples=2,
                                    why="for the unbiased estimate")
    _arrays.positive_int("kid", "subsets", subsets)
    _arrays.positive_int("kid", "subset_size", subset_size)
    if subsets < 1 or subset_size < 2:
        raise ValueError(f"kid: needs subsets >= 1 and subset_size >= 2, got subsets={subsets} "
                         f"and subset_size={subset_size}")
    size = min(subset_size, len(a), len(b))
    generator = _arrays.generator(rng)
    estimates = []
    for _ in range(subsets):
        # The first `size` entries of a random permutation: a subset without repetition.
        # Drawn with `random`, which NumPy's and CuPy's generators both offer, wherever
        # the generator lives; the indices then go to the features' device.
        pick_a = xp.asarray(backend.to_numpy(generator.random(len(a))).argsort()[:size])
        pick_b = xp.asarray(backend.to_numpy(generator.random(len(b))).argsort()[:size])
        estimates.append(mmd2_unbiased(a[pick_a], b[pick_b]))
    estimates = numpy.array(estimates)
    return float(estimates.mean()), float(estimates.std())
