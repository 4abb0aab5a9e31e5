"""minigan.metrics.fid, kid, precision_recall and classifier: the image metrics, on features.

The metrics never see an image, only feature vectors (N, d) from some network, so they
are tested on Gaussian features, where the right answers are known: in closed form
(the Fréchet distance of two diagonal Gaussians), from a reference implementation
(scipy's sqrtm, brute-force loops over pairs and neighbours), or as a property that a
correct metric must have (0 against itself, symmetric, growing with the distortion,
unbiased, blind to one failure and not the other).

Features are put on the suite's device, so the same tests check CuPy under
MINIGAN_DEVICE=cuda: through the ``xp`` fixture, or, in the hypothesis tests (which run
their body many times per fixture), through ``backend.get_array_module()``. Statistical
checks use fixed seeds, with margins stated in each test.
"""
import math
import re

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import cdist

import minigan
from minigan import backend
from minigan.metrics import classifier, fid, kid, precision_recall

seeds = st.integers(0, 2 ** 16)


def gaussian(n, d, seed, shift=0.0, scale=1.0):
    """n features from N(shift, scale^2 I) in d dimensions, as a float64 NumPy array."""
    return shift + scale * np.random.default_rng(seed).standard_normal((n, d))


def random_spd(d, rng, floor=0.1):
    """A random symmetric positive definite matrix, eigenvalues at least ``floor``."""
    b = rng.standard_normal((d, d + 3))
    return b @ b.T / d + floor * np.eye(d)


# --- the matrix square root and the Fréchet distance -----------------------------------------
@given(st.integers(1, 16), seeds)
def test_matrix_sqrt_squares_back_and_agrees_with_scipy(d, seed):
    """For a symmetric positive definite A, the root R is symmetric, R R = A, and R is
    scipy.linalg.sqrtm(A): the PSD square root is unique."""
    xp = backend.get_array_module()
    a = random_spd(d, np.random.default_rng(seed))
    root = backend.to_numpy(fid.matrix_sqrt_psd(xp.asarray(a)))
    np.testing.assert_allclose(root, root.T, atol=1e-12)
    np.testing.assert_allclose(root @ root, a, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(root, np.real(scipy.linalg.sqrtm(a)), rtol=1e-7, atol=1e-9)


@given(st.integers(2, 16), st.integers(1, 15), seeds)
def test_matrix_sqrt_of_a_rank_deficient_matrix_has_no_nan(d, rank, seed):
    """A covariance of fewer samples than dimensions is singular: its zero eigenvalues come
    out of eigh at about -1e-16, and without the clip to 0 their square root is NaN (and a
    RuntimeWarning, an error in this suite). The root must still square back to A."""
    xp = backend.get_array_module()
    rank = min(rank, d - 1)
    b = np.random.default_rng(seed).standard_normal((d, rank))
    a = b @ b.T
    root = backend.to_numpy(fid.matrix_sqrt_psd(xp.asarray(a)))
    assert np.all(np.isfinite(root))
    np.testing.assert_allclose(root @ root, a, atol=1e-8 * max(1.0, np.abs(a).max()))


def reference_frechet_distance(mu1, sigma1, mu2, sigma2):
    """pytorch-fid's formula: ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2)), real part."""
    covmean = np.real(scipy.linalg.sqrtm(sigma1 @ sigma2))
    diff = mu1 - mu2
    return diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


@given(st.integers(1, 16), seeds)
def test_frechet_distance_agrees_with_the_sqrtm_reference(d, seed):
    """The eigh route, Tr((S1^{1/2} S2 S1^{1/2})^{1/2}), gives the reference's Tr(sqrtm(S1 S2)):
    the two matrices are similar, so they have the same eigenvalues."""
    xp = backend.get_array_module()
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    sigma1, sigma2 = random_spd(d, rng), random_spd(d, rng)
    expected = reference_frechet_distance(mu1, sigma1, mu2, sigma2)
    value = fid.frechet_distance(*(xp.asarray(a) for a in (mu1, sigma1, mu2, sigma2)))
    assert value == pytest.approx(expected, rel=1e-7, abs=1e-8 * (np.trace(sigma1) + d))


@given(st.integers(1, 16), seeds)
def test_frechet_distance_of_diagonal_gaussians_in_closed_form(d, seed):
    """With diagonal covariances everything commutes: the distance is
    ||mu1 - mu2||^2 + sum_i (sqrt(s1_i) - sqrt(s2_i))^2, a sum over independent coordinates."""
    xp = backend.get_array_module()
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = rng.uniform(0.01, 4.0, d), rng.uniform(0.01, 4.0, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    value = fid.frechet_distance(xp.asarray(mu1), xp.asarray(np.diag(s1)),
                                 xp.asarray(mu2), xp.asarray(np.diag(s2)))
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_feature_statistics_are_numpy_mean_and_cov(xp):
    """The fitted Gaussian: the sample mean and numpy.cov's covariance (N - 1 denominator)."""
    x = gaussian(50, 6, seed=1)
    mu, sigma = fid.feature_statistics(xp.asarray(x))
    np.testing.assert_allclose(backend.to_numpy(mu), x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(sigma), np.cov(x, rowvar=False), rtol=1e-12)


# --- FID on feature sets -----------------------------------------------------------------
def test_fid_of_a_set_with_itself_is_zero(xp):
    """Identical sets have identical statistics: FID = 0 up to round-off, here relative to
    Tr(S) = d = 32. Also for a float32 Tensor (a generator's output) against its own data."""
    x = gaussian(300, 32, seed=2)
    assert abs(fid.fid(xp.asarray(x), xp.asarray(x))) < 1e-9
    features = minigan.tensor(x.astype(np.float32))
    assert abs(fid.fid(features, features.data)) < 1e-9


@given(st.integers(2, 12), seeds)
@settings(max_examples=20)
def test_fid_is_symmetric(d, seed):
    """FID(a, b) = FID(b, a): the Fréchet distance is a metric, though the formula puts S1
    and S2 in different places (S1^{1/2} S2 S1^{1/2})."""
    xp = backend.get_array_module()
    rng = np.random.default_rng(seed)
    a = xp.asarray(rng.standard_normal((40, d)) @ rng.standard_normal((d, d)))
    b = xp.asarray(rng.standard_normal((60, d)) * rng.uniform(0.2, 3.0, d) + 1.0)
    assert fid.fid(a, b) == pytest.approx(fid.fid(b, a), rel=1e-8, abs=1e-10)


def test_fid_grows_with_the_shift_and_with_the_noise(xp):
    """Shifting one set by t u (|u| = 1) adds about t^2; adding noise of scale s to it raises
    every variance from 1 to 1 + s^2, adding about d (sqrt(1 + s^2) - 1)^2. Both increase
    strictly along the levels, far beyond the sampling noise of one fixed pair of sets."""
    d = 16
    x, y = gaussian(1000, d, seed=3), gaussian(1000, d, seed=4)
    u = np.ones(d) / math.sqrt(d)
    noise = gaussian(1000, d, seed=5)
    levels = [0.0, 0.25, 0.5, 1.0, 2.0]
    shifted = [fid.fid(xp.asarray(x), xp.asarray(y + t * u)) for t in levels]
    noised = [fid.fid(xp.asarray(x), xp.asarray(y + s * noise)) for s in levels]
    assert all(np.diff(shifted) > 0), shifted
    assert all(np.diff(noised) > 0), noised
    assert shifted[-1] - shifted[0] == pytest.approx(4.0, rel=0.1)
    assert noised[-1] - noised[0] == pytest.approx(d * (math.sqrt(5) - 1) ** 2, rel=0.1)


def test_fid_of_one_distribution_is_far_below_fid_of_a_shifted_one(xp):
    """Two samples of N(0, I) differ only by sampling noise (FID about 0.16 for N = 1,000,
    d = 16); a shift by 0.5 in every coordinate adds ||shift||^2 = 4, 25 times that."""
    x, y = gaussian(1000, 16, seed=6), gaussian(1000, 16, seed=7)
    same = fid.fid(xp.asarray(x), xp.asarray(y))
    shifted = fid.fid(xp.asarray(x), xp.asarray(y + 0.5))
    assert 0 < same < shifted / 10, (same, shifted)


def test_fid_is_biased_upwards_by_an_amount_that_shrinks_with_n(xp):
    """Two samples of one distribution have different estimated means and covariances, and
    any difference makes the distance (which is >= 0) positive: FID is biased upwards, by
    an amount falling roughly as 1/N (means of 3 draws: 0.66, 0.16, 0.04 for N = 250,
    1,000, 4,000 in d = 16; the test asks for a factor 2.5 per step). So FIDs compare
    only at one N."""
    means = [np.mean([fid.fid(xp.asarray(gaussian(n, 16, seed=10 * n + i)),
                              xp.asarray(gaussian(n, 16, seed=10 * n + i + 5)))
                      for i in range(3)]) for n in (250, 1000, 4000)]
    assert means[0] > 2.5 * means[1] > 2.5 ** 2 * means[2] > 0, means


# --- KID ---------------------------------------------------------------------------------
def brute_force_mmd2_unbiased(x, y):
    """MMD^2_u by loops over the pairs, i != j within a set."""
    d = x.shape[1]

    def k(a, b):
        return (a @ b / d + 1) ** 3
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


@given(st.integers(2, 8), st.integers(2, 8), st.integers(1, 5), seeds)
def test_mmd2_unbiased_matches_the_loops_over_pairs(m, n, d, seed):
    """The vectorised estimate (kernel sums minus their diagonals) is the U-statistic."""
    xp = backend.get_array_module()
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((m, d)), rng.standard_normal((n, d)) + 0.5
    assert kid.mmd2_unbiased(xp.asarray(x), xp.asarray(y)) == pytest.approx(
        brute_force_mmd2_unbiased(x, y), rel=1e-9, abs=1e-12)


def test_mmd2_estimate_is_unbiased_and_can_be_negative(xp):
    """For P = Q the estimate averages to 0 over independent draws, and single draws fall on
    both sides of 0. 400 draws of m = n = 40 in d = 8: the mean must be within 4 standard
    errors of 0. Keeping the diagonals (the biased V-statistic) instead adds
    (E k(x, x) - E k(x, x')) (1/m + 1/n) > 0, over 20 standard errors here."""
    estimates = [kid.mmd2_unbiased(xp.asarray(gaussian(40, 8, seed=2 * i)),
                                   xp.asarray(gaussian(40, 8, seed=2 * i + 1)))
                 for i in range(400)]
    mean, error = np.mean(estimates), stats.sem(estimates)
    assert abs(mean) < 4 * error, (mean, error)
    assert min(estimates) < 0 < max(estimates)
    # The V-statistic's excess in closed form, for d = 8. With s = x.x' / d for independent
    # x, x': E s = E s^3 = 0 and E s^2 = 1/d, so E k(x, x') = 1 + 3/d. With u = |x|^2 / d
    # (chi-squared / d): E u = 1, E u^2 = 1 + 2/d, E u^3 = (d + 2)(d + 4) / d^2, so
    # E k(x, x) = E (u + 1)^3 = E u^3 + 3 E u^2 + 3 E u + 1.
    d = 8
    k_self = (d + 2) * (d + 4) / d ** 2 + 3 * (1 + 2 / d) + 3 + 1
    excess = (k_self - (1 + 3 / d)) * (1 / 40 + 1 / 40)
    assert excess > 20 * error, (excess, error)


def test_kid_of_one_distribution_is_near_zero_and_of_two_clearly_positive(xp):
    """Same distribution: |mean| within 2 std, std the spread of the single-subset estimates.
    The mean over subsets is about the estimate on all 1,000 samples, whose spread for
    P = Q is about half that of a 500-sample subset (for P = Q the estimate's standard
    deviation falls as 1/m, not 1/sqrt(m)), so 2 std is some 4 of its standard deviations.
    (Here mean -0.003, std 0.0034.) Shifted by 0.5 in every coordinate: mean 1.05, over
    10 times its own spread and 100 times the same-distribution value."""
    x, y = gaussian(1000, 16, seed=11), gaussian(1000, 16, seed=12)
    same, std = kid.kid(xp.asarray(x), xp.asarray(y), subsets=20, subset_size=500, rng=0)
    assert std > 0 and abs(same) < 2 * std, (same, std)
    mean, std = kid.kid(xp.asarray(x), xp.asarray(y + 0.5), subsets=20, subset_size=500, rng=0)
    assert mean > 10 * std > 0 and mean > 100 * abs(same), (mean, std, same)


def test_kid_grows_with_the_shift(xp):
    """Larger shifts of one set, larger KID (the same subsets each time: the same seed)."""
    x, y = gaussian(600, 16, seed=13), gaussian(600, 16, seed=14)
    means = [kid.kid(xp.asarray(x), xp.asarray(y + t), subsets=10, subset_size=300, rng=1)[0]
             for t in (0.0, 0.1, 0.2, 0.4, 0.8)]
    assert all(np.diff(means) > 0), means


def test_kid_clips_the_subset_size_and_reproduces_with_its_seed(xp):
    """A subset_size above the sets' sizes uses the whole (smaller) sets: with both sets
    whole, every subset is the same estimate (std 0) and equals mmd2_unbiased of the sets.
    The same seed gives the same KID, another seed another."""
    x, y = xp.asarray(gaussian(50, 8, seed=15)), xp.asarray(gaussian(50, 8, seed=16, shift=0.2))
    mean, std = kid.kid(x, y, subsets=5, rng=0)          # default subset_size 1,000 > 50
    assert mean == pytest.approx(kid.mmd2_unbiased(x, y), rel=1e-10)
    assert std < 1e-12 * abs(mean)
    assert kid.kid(x, y, subsets=5, subset_size=20, rng=3) == kid.kid(x, y, subsets=5,
                                                                     subset_size=20, rng=3)
    assert kid.kid(x, y, subsets=5, subset_size=20, rng=3) != kid.kid(x, y, subsets=5,
                                                                     subset_size=20, rng=4)


# --- precision and recall --------------------------------------------------------------------
def brute_force_precision_recall(real, generated, k):
    """The definition, with scipy's distances and a full sort of each row."""
    def radii(points):
        d = cdist(points, points)
        return np.array([np.sort(np.delete(row, i))[k - 1] for i, row in enumerate(d)])

    def share_inside(queries, points, r):
        return np.mean((cdist(queries, points) <= r[None, :]).any(axis=1))
    return (share_inside(generated, real, radii(real)),
            share_inside(real, generated, radii(generated)), radii(real))


@given(st.integers(5, 40), st.integers(5, 40), st.integers(1, 5), st.integers(1, 4),
       st.integers(1, 50), seeds)
def test_precision_and_recall_match_the_brute_force_definition(n, m, d, k, batch_size, seed):
    """Blocked squared distances, partition and the explicit removal of each point from its
    own neighbours give the definition's radii, precision and recall, whatever the block
    size (down to 1 row, which puts block edges everywhere). The radii agree to the
    round-off of ||x||^2 - 2 x.y + ||y||^2, which is absolute in the *squared* distance
    (about 1e-16 max ||x||^2), so they are compared squared."""
    xp = backend.get_array_module()
    rng = np.random.default_rng(seed)
    real, generated = rng.standard_normal((n, d)), 0.7 * rng.standard_normal((m, d)) + 0.3
    precision, recall, real_radii = brute_force_precision_recall(real, generated, k)
    result = precision_recall.precision_recall(xp.asarray(real), xp.asarray(generated), k=k,
                                               batch_size=batch_size)
    radii = backend.to_numpy(precision_recall.manifold_radii(xp.asarray(real), k, batch_size))
    np.testing.assert_allclose(radii ** 2, real_radii ** 2, rtol=1e-9,
                               atol=1e-13 * (real * real).sum(axis=1).max())
    assert result.precision == pytest.approx(precision, abs=1e-15)
    assert result.recall == pytest.approx(recall, abs=1e-15)


def test_a_duplicate_is_a_neighbour_at_distance_zero(xp):
    """Only the point itself is left out of its neighbours: a copy of it counts (k = 1 gives
    radius 0 to both copies), while a point alone gets its true nearest distance."""
    points = xp.asarray(np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0]]))
    np.testing.assert_allclose(backend.to_numpy(precision_recall.manifold_radii(points, k=1)),
                               [0.0, 0.0, 5.0], atol=1e-12)


def test_the_balls_are_closed(xp):
    """A ball holds its boundary, ||x - phi_i|| <= r_i (the paper's <=): the k-th neighbour
    that sets a radius lies on it. Here the radii are 5 and 5 (each other's neighbour):
    (6, 8) is 5 from (3, 4), on the boundary and inside; (6, 8.01) is outside."""
    points = xp.asarray(np.array([[0.0, 0.0], [3.0, 4.0]]))
    radii = precision_recall.manifold_radii(points, k=1)
    inside = precision_recall.inside_manifold(xp.asarray(np.array([[6.0, 8.0], [6.0, 8.01]])),
                                              points, radii)
    np.testing.assert_array_equal(backend.to_numpy(inside), [True, False])


def test_one_distribution_gives_precision_and_recall_near_one(xp):
    """A set against itself: every point is inside its own ball, so exactly (1, 1). Two
    samples of N(0, I_8), N = 1,000: both near 1 (0.90 and 0.89 with these seeds), not 1,
    since a fresh point can fall just outside the balls of another sample's tail."""
    x, y = xp.asarray(gaussian(1000, 8, seed=17)), xp.asarray(gaussian(1000, 8, seed=18))
    assert precision_recall.precision_recall(x, x) == (1.0, 1.0)
    result = precision_recall.precision_recall(x, y)
    assert result.precision > 0.85 and result.recall > 0.85, result


def test_shifted_samples_lose_precision_and_pushed_off_ones_keep_recall(xp):
    """(1) Shifting all generated features off the real manifold lowers precision step by
    step to near 0. (2) Pushing a share f of them far off, keeping the rest good, lowers
    precision to about (1 - f) times its value and leaves recall where it was (0.88): the
    good part still covers the real data, and the far points cover nothing real."""
    real = gaussian(1000, 8, seed=19)
    fake = gaussian(1000, 8, seed=20)
    precisions = [precision_recall.precision_recall(xp.asarray(real), xp.asarray(fake + t))
                  .precision for t in (0.0, 0.25, 0.5, 1.0, 2.0)]
    assert all(np.diff(precisions) < 0) and precisions[-1] < 0.05, precisions
    baseline = precision_recall.precision_recall(xp.asarray(real), xp.asarray(fake))
    for share_off in (0.25, 0.5, 0.75):
        pushed = fake.copy()
        pushed[:int(share_off * 1000)] += 20.0
        result = precision_recall.precision_recall(xp.asarray(real), xp.asarray(pushed))
        assert result.precision == pytest.approx((1 - share_off) * baseline.precision, abs=0.05)
        assert result.recall > baseline.recall - 0.05, (share_off, result, baseline)


def test_collapse_onto_one_cluster_loses_recall_and_keeps_precision(xp):
    """Real features from 4 clusters 10 standard deviations apart; a generator that makes
    only cluster 0. Its samples look as real as a sample of the data would (precision 0.87
    here), but they cover only the quarter of the real data in cluster 0 (recall near
    1/4 of 0.87)."""
    rng = np.random.default_rng(21)
    centres = 10.0 * np.eye(8)[:4]
    real = centres[rng.integers(0, 4, 2000)] + rng.standard_normal((2000, 8))
    collapsed = centres[0] + rng.standard_normal((500, 8))
    result = precision_recall.precision_recall(xp.asarray(real), xp.asarray(collapsed))
    assert result.precision > 0.8, result
    assert 0.15 < result.recall < 0.3, result


# --- the classifier score and class coverage -------------------------------------------------
@given(st.integers(1, 20), st.integers(1, 5), seeds)
def test_classifier_score_of_confident_even_predictions_is_c(c, repeats, seed):
    """One-hot predictions, each class equally often: KL(p(y|x) || uniform) = log C for every
    sample, so the score is C, in any order. Split into ``repeats`` parts that each hold
    every class once, each part scores C too (std 0)."""
    xp = backend.get_array_module()
    labels = np.tile(np.arange(c), repeats)
    one_hot = np.eye(c)[labels]
    shuffled = one_hot[np.random.default_rng(seed).permutation(len(labels))]
    mean, std = classifier.classifier_score(xp.asarray(shuffled))
    assert mean == pytest.approx(c, rel=1e-12) and std == 0
    mean, std = classifier.classifier_score(xp.asarray(one_hot), splits=repeats)
    assert mean == pytest.approx(c, rel=1e-12) and std == pytest.approx(0, abs=1e-12)


@given(st.integers(1, 20), st.integers(1, 30), seeds)
def test_classifier_score_is_one_when_every_sample_gets_the_same_distribution(c, n, seed):
    """Every p(y|x) equal to the marginal: every KL is 0 and the score is exp(0) = 1,
    however confident (some entries 0) or unsure the one distribution is."""
    xp = backend.get_array_module()
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(c)) * (rng.random(c) < 0.7)
    p = p / p.sum() if p.sum() > 0 else np.eye(c)[0]
    mean, _ = classifier.classifier_score(xp.asarray(np.tile(p, (n, 1))))
    assert mean == pytest.approx(1.0, abs=1e-12)


@given(st.integers(2, 12), st.integers(2, 40), seeds)
def test_classifier_score_is_exp_of_marginal_minus_conditional_entropy(c, n, seed):
    """exp(E KL(p(y|x) || p(y))) = exp(H(p(y)) - E H(p(y|x))), checked with scipy's entropy
    on random predictions (some entries exactly 0), and it lies in [1, C]."""
    xp = backend.get_array_module()
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(0.5 * np.ones(c), size=n) * (rng.random((n, c)) < 0.8)
    p[:, 0] += p.sum(axis=1) == 0          # no all-zero row
    p /= p.sum(axis=1, keepdims=True)
    expected = math.exp(stats.entropy(p.mean(axis=0)) - np.mean(stats.entropy(p, axis=1)))
    mean, _ = classifier.classifier_score(xp.asarray(p))
    assert mean == pytest.approx(expected, rel=1e-10)
    assert 1 - 1e-12 <= mean <= c + 1e-9


def test_classifier_score_splits_score_each_part_with_its_own_marginal(xp):
    """First half confident and even over C = 5 classes, second half uniform rows: the
    parts score 5 and 1, so (mean, std) = (3, 2); all in one part, the score is between."""
    c = 5
    p = np.concatenate([np.eye(c)[np.arange(20) % c], np.full((20, c), 1 / c)])
    assert classifier.classifier_score(xp.asarray(p), splits=2) == pytest.approx((3.0, 2.0))
    assert 1 < classifier.classifier_score(xp.asarray(p))[0] < 5


def test_class_coverage_counts_the_predicted_classes(xp):
    """Shares per class, the classes that occur, and KL(q || uniform): log(4/2) for two of four
    classes evenly, log 4 for one, 0 for all four evenly. Labels may be a Tensor."""
    coverage = classifier.class_coverage(xp.asarray(np.array([1, 3, 3, 1, 1, 3])), 4)
    np.testing.assert_array_equal(coverage.shares, [0.0, 0.5, 0.0, 0.5])
    assert coverage.covered == 2
    assert coverage.reverse_kl == pytest.approx(math.log(2), rel=1e-12)
    one = classifier.class_coverage(minigan.tensor(np.full(7, 2)), 4)
    assert one.covered == 1 and one.reverse_kl == pytest.approx(math.log(4), rel=1e-12)
    even = classifier.class_coverage(np.arange(12) % 4, 4)
    assert even.covered == 4 and even.reverse_kl == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_array_equal(even.shares, [0.25] * 4)


# --- refusing what cannot be measured -----------------------------------------------------
def _call(function, *shapes, **kwargs):
    return lambda: function(*(np.zeros(s) for s in shapes), **kwargs)


@pytest.mark.parametrize("call, message", [
    pytest.param(_call(fid.fid, (10, 8), (10, 9)),
                 "fid: expected features_a (N, d) and features_b (M, d) with the same d, got "
                 "shapes (10, 8) and (10, 9)", id="fid_dimensions"),
    pytest.param(_call(fid.fid, (10,), (10, 8)),
                 "fid: expected features_a (N, d) and features_b (M, d) with the same d, got "
                 "shapes (10,) and (10, 8)", id="fid_not_2d"),
    pytest.param(_call(fid.fid, (1, 8), (10, 8)),
                 "fid: needs at least 2 samples per set to estimate a covariance, got shapes "
                 "(1, 8) and (10, 8)", id="fid_one_sample"),
    pytest.param(_call(fid.frechet_distance, (3,), (3, 3), (4,), (4, 4)),
                 "frechet_distance: expected mu1 (d,), sigma1 (d, d), mu2 (d,), sigma2 (d, d) "
                 "with one d, got shapes (3,), (3, 3), (4,) and (4, 4)", id="frechet_shapes"),
    pytest.param(_call(fid.matrix_sqrt_psd, (3, 4)),
                 "matrix_sqrt_psd: expected a square matrix (d, d), got shape (3, 4)",
                 id="sqrt_not_square"),
    pytest.param(_call(kid.kid, (10, 8), (12, 16)),
                 "kid: expected features_a (N, d) and features_b (M, d) with the same d, got "
                 "shapes (10, 8) and (12, 16)", id="kid_dimensions"),
    pytest.param(_call(kid.kid, (1, 8), (12, 8)),
                 "kid: needs at least 2 samples per set for the unbiased estimate, got shapes "
                 "(1, 8) and (12, 8)", id="kid_one_sample"),
    pytest.param(_call(precision_recall.precision_recall, (10, 8), (10, 4)),
                 "precision_recall: expected real_features (N, d) and generated_features (M, d) "
                 "with the same d, got shapes (10, 8) and (10, 4)", id="pr_dimensions"),
    pytest.param(_call(kid.mmd2_unbiased, (10, 8), (10, 4)),
                 "mmd2_unbiased: expected x (N, d) and y (M, d) with the same d, got shapes "
                 "(10, 8) and (10, 4)", id="mmd_dimensions"),
    pytest.param(_call(precision_recall.manifold_radii, (3, 8)),
                 "manifold_radii: expected features (N, d) with more than k=3 samples (each "
                 "needs k neighbours besides itself), got shape (3, 8)", id="radii_too_few"),
    pytest.param(_call(precision_recall.precision_recall, (10, 8), (3, 8)),
                 "precision_recall: needs at least 4 samples per set (more than k=3: each "
                 "needs k neighbours besides itself), got shapes (10, 8) and (3, 8)",
                 id="pr_too_few"),
    pytest.param(_call(precision_recall.precision_recall, (10, 8), (10, 8), k=10),
                 "precision_recall: needs at least 11 samples per set (more than k=10",
                 id="pr_too_few_for_k"),
    pytest.param(_call(classifier.classifier_score, (10,)),
                 "classifier_score: expected probabilities (N, C) with N >= 1, got shape (10,)",
                 id="score_not_2d"),
])
def test_errors_name_the_function_and_the_shapes(call, message):
    """Each refusal says which function refused, what it expected and the shapes it got."""
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_classifier_score_refuses_logits_and_class_coverage_foreign_labels():
    """Logits (rows not summing to 1, negative entries) are a common mistake for softmax
    outputs; labels must be integers in 0..C-1."""
    logits = np.random.default_rng(22).standard_normal((6, 3))
    with pytest.raises(ValueError, match=r"classifier_score: .*softmax outputs, not logits\), "
                                         r"got shape \(6, 3\)"):
        classifier.classifier_score(logits)
    with pytest.raises(ValueError, match=r"splits must be in 1..N = 1..6, got 7"):
        classifier.classifier_score(np.full((6, 3), 1 / 3), splits=7)
    with pytest.raises(ValueError, match=r"labels must be in 0..3 for num_classes=4, got labels "
                                         r"from 0 to 4"):
        classifier.class_coverage(np.array([0, 4]), 4)
    with pytest.raises(ValueError, match=r"expected predicted_labels \(N,\) integers"):
        classifier.class_coverage(np.array([0.0, 1.0]), 4)


def test_what_one_distribution_reads_depends_on_the_dimension():
    """Chapter 05's table: two samples of N(0, I_d), N = 1,000 (seed 0). FID(x, x) is 0 up to
    round-off (|.| < 1e-12); FID(x, y), the bias, grows about as d^2 / N; precision and
    recall are near 1 only in few dimensions (0.98 at d = 2, under 0.6 at d = 128); KID's
    mean stays within 2 standard deviations of 0 at every d."""
    readings = {}
    for d in (2, 8, 32, 128):
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal((1000, d)), rng.standard_normal((1000, d))
        pr = precision_recall.precision_recall(x, y)
        mean, std = kid.kid(x, y, subsets=20, subset_size=500, rng=0)
        readings[d] = (fid.fid(x, x), fid.fid(x, y), pr.precision, pr.recall, mean, std)
        assert abs(readings[d][0]) < 1e-12, (d, readings[d])
        assert abs(mean) < 2 * std, (d, mean, std)
    assert readings[2][2] > 0.97 and readings[2][3] > 0.97
    assert 0.55 < readings[128][2] < 0.6 and 0.55 < readings[128][3] < 0.6
    biases = [readings[d][1] for d in (2, 8, 32, 128)]
    assert all(a * 8 < b for a, b in zip(biases, biases[1:])), biases   # d x4 -> bias x ~14
    assert readings[128][1] == pytest.approx(8.31, abs=0.01)
