"""minigan.data.toy and minigan.metrics.modes: mixtures with known modes, and counting them.

The samplers must draw what their docstrings promise (the VEEGAN/PacGAN ring of 8 and
grid of 25, each mode with its standard deviation and its fair share), reproducibly.
The metric must then give the answers that are known in closed form: a sample of the
true mixture reaches every mode, with the high-quality fraction P(||x - c|| < 3 sigma)
of a Gaussian *in that dimension*, and a near-zero reverse KL; a fully collapsed
generator reaches one mode with reverse KL log K; samples far from every mode reach none.

Statistical checks draw from fixed seeds with tolerances of at least five standard
errors, so they test the distribution, not the luck of one seed.
"""
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special, stats
from scipy.spatial.distance import cdist

import minigan
from minigan.data import toy
from minigan.metrics import modes

pytestmark = pytest.mark.ch04

RING_STD, GRID_STD = 0.01, 0.05


# --- the centres ---------------------------------------------------------------------------
def test_ring_has_eight_distinct_centres_on_the_unit_circle():
    """The ring's 8 centres lie at radius 1 and angles 2 pi k / 8, starting at (1, 0).

    linspace must leave out its endpoint: with it, the last angle would be 2 pi, a
    second copy of the first centre, and the ring would have only 7 distinct modes.
    """
    centres = toy.ring_centres()
    assert centres.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(centres[0], [1.0, 0.0], atol=1e-15)
    angles = np.mod(np.arctan2(centres[:, 1], centres[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)
    # Neighbours are 2 sin(pi / 8) = 0.765 apart, 76 standard deviations of a mode.
    gaps = np.linalg.norm(centres - np.roll(centres, 1, axis=0), axis=1)
    np.testing.assert_allclose(gaps, 2 * math.sin(math.pi / 8), rtol=1e-12)


@given(st.integers(3, 16), st.floats(0.1, 10.0))   # K = 2: no "anticlockwise"
def test_ring_centres_are_equally_spaced_at_the_radius(n_modes, radius):
    """For any number of modes and radius: |c_k| = radius and consecutive centres are
    2 radius sin(pi / K) apart, going anticlockwise (the cross product is positive)."""
    centres = toy.ring_centres(n_modes, radius)
    assert centres.shape == (n_modes, 2)
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), radius, rtol=1e-12)
    following = np.roll(centres, -1, axis=0)
    np.testing.assert_allclose(np.linalg.norm(following - centres, axis=1),
                               2 * radius * math.sin(math.pi / n_modes), rtol=1e-9)
    assert np.all(centres[:, 0] * following[:, 1] - centres[:, 1] * following[:, 0] > 0)


def test_grid_centres_are_the_25_points_of_minus_4_to_4_in_steps_of_2():
    """{-4, -2, 0, 2, 4}^2, each point once, in row-major order, centred on the origin."""
    centres = toy.grid_centres()
    assert centres.shape == (25, 2)
    expected = [(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)]
    np.testing.assert_array_equal(centres, expected)
    np.testing.assert_array_equal(toy.grid_centres(3, 1.0),
                                  [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)])


# --- the samples ---------------------------------------------------------------------------
@pytest.mark.parametrize("sampler, std, n_modes", [
    pytest.param(toy.ring, RING_STD, 8, id="ring"),
    pytest.param(toy.grid, GRID_STD, 25, id="grid")])
def test_each_mode_has_its_centre_its_std_and_its_fair_share(sampler, std, n_modes):
    """Around each centre the samples have mean c_k, std sigma per coordinate and share 1/K.

    With n = 1,000 K samples (about 1,000 per mode): the share's standard error is
    sqrt(p (1 - p) / n) <= 0.0033, a coordinate mean's is sigma / sqrt(1000) = 0.032 sigma,
    a standard deviation's relative one 1 / sqrt(2000) = 2.2%; the tolerances are 6x these
    (the share's is 6 sqrt(1/K / n), a little above it).
    """
    n = 1000 * n_modes
    samples, centres = sampler(n, rng=0)
    assert samples.shape == (n, 2) and samples.dtype == np.float64
    index, _ = modes.nearest_mode(samples, centres)
    shares = np.bincount(index, minlength=n_modes) / n
    np.testing.assert_allclose(shares, 1 / n_modes, atol=6 * math.sqrt(1 / n_modes / n))
    for k in range(n_modes):
        mine = samples[index == k]
        np.testing.assert_allclose(mine.mean(axis=0), centres[k], atol=6 * 0.032 * std)
        np.testing.assert_allclose(mine.std(axis=0, ddof=1), std, rtol=6 * 0.022)


def test_labels_name_the_component_each_sample_was_drawn_from():
    """gaussian_mixture's labels are the components: with modes 76 sigma apart, each
    sample's nearest centre is its own component's."""
    centres = toy.ring_centres()
    samples, labels = toy.gaussian_mixture(4000, centres, RING_STD, rng=1)
    assert labels.shape == (4000,) and labels.dtype.kind == "i"
    np.testing.assert_array_equal(modes.nearest_mode(samples, centres)[0], labels)


def test_weights_set_the_shares_and_a_zero_weight_mode_is_never_drawn():
    """Shares follow the weights (here 0.6, 0.3, 0, 0.1); a weight of 0 gets no sample,
    also as the first or last weight (where the cumulative sum has its edges)."""
    n = 20_000
    _, labels = toy.gaussian_mixture(n, [[-6.0], [-2.0], [2.0], [6.0]], 0.1, rng=2,
                                     weights=[0.6, 0.3, 0.0, 0.1])
    shares = np.bincount(labels, minlength=4) / n
    np.testing.assert_allclose(shares, [0.6, 0.3, 0.0, 0.1], atol=6 * math.sqrt(0.25 / n))
    assert shares[2] == 0
    for weights in ([0.0, 0.5, 0.5], [0.5, 0.5, 0.0]):
        _, labels = toy.gaussian_mixture(5000, [[0.0], [1.0], [2.0]], 0.1, rng=3, weights=weights)
        assert set(labels.tolist()) == {k for k, w in enumerate(weights) if w > 0}


@pytest.mark.parametrize("weights", [
    pytest.param([0.5, 0.5], id="too_few"),
    pytest.param([0.5, 0.6, -0.1], id="negative"),
    pytest.param([0.2, 0.2, 0.2], id="sum_below_1"),
    pytest.param([np.nan, 0.5, 0.5], id="nan")])
def test_bad_weights_are_refused_with_the_rule(weights):
    """Weights must be K non-negative numbers summing to 1; the message says so."""
    with pytest.raises(ValueError, match="weights must be 3 non-negative numbers summing to 1"):
        toy.gaussian_mixture(10, [[0.0], [1.0], [2.0]], 0.1, rng=0, weights=weights)


@pytest.mark.parametrize("call, error, message", [
    (lambda: toy.ring(-1), ValueError, "ring: n must be >= 0, got -1"),
    (lambda: toy.ring(2.5), TypeError, r"ring: n must be a whole number \(an int\), got 2.5"),
    (lambda: toy.ring(True), TypeError, "ring: n must be a whole number"),
    (lambda: toy.ring(10, std=-1), ValueError, "ring: std must be one finite number >= 0"),
    (lambda: toy.ring(10, std=float("nan")), ValueError, "ring: std must be one finite number"),
    (lambda: toy.ring(10, n_modes=0), ValueError, "ring: n_modes must be >= 1, got 0"),
    (lambda: toy.ring(10, radius=0), ValueError, "ring: radius must be a finite number > 0"),
    (lambda: toy.ring(10, rng=-3), ValueError, "ring: an int rng is a seed, which must be >= 0"),
    (lambda: toy.ring(10, rng="seed"), TypeError, "ring: rng must be None, an int seed or a "
                                                  "generator of numpy.random.default_rng, got str"),
    (lambda: toy.ring(10, rng=np.random.RandomState(0)), TypeError,
     "ring: rng must be .* got RandomState"),
    (lambda: toy.grid(10, side=0), ValueError, "grid: side must be >= 1, got 0"),
    (lambda: toy.grid(10, spacing=-2.0), ValueError, "grid: spacing must be a finite number > 0"),
    (lambda: toy.grid(-5), ValueError, "grid: n must be >= 0, got -5"),
    (lambda: toy.ring_centres(n_modes=2.0), TypeError, "ring_centres: n_modes must be a whole"),
    (lambda: toy.grid_centres(side=-1), ValueError, "grid_centres: side must be >= 1"),
    (lambda: toy.mixture_1d(10, means=[[0.0, 1.0]]), ValueError,
     r"mixture_1d: means must be one number per mode, a \(K,\) array, got shape \(1, 2\)"),
    (lambda: toy.mixture_1d(10, means=["a", "b"]), TypeError, "mixture_1d: means must be numbers"),
    (lambda: toy.mixture_1d(10, std="wide"), TypeError, "mixture_1d: std must be numbers"),
    (lambda: toy.mixture_1d(10, weights=[0.5, 0.6]), ValueError,
     "mixture_1d: weights must be 2 non-negative numbers summing to 1"),
    (lambda: toy.gaussian_mixture(10, [], 0.1), ValueError,
     r"gaussian_mixture: centres must be .* with K >= 1, got shape \(0,\)"),
    (lambda: toy.gaussian_mixture(10, [[0.0], [np.inf]], 0.1), ValueError,
     "gaussian_mixture: centres must be a .* of finite numbers"),
    (lambda: toy.gaussian_mixture(10, [[0.0], [1.0]], [0.1, 0.2, 0.3]), ValueError,
     "gaussian_mixture: std must be one finite number >= 0, or 2 of them"),
    (lambda: toy.swiss_roll(-1), ValueError, "swiss_roll: n must be >= 0, got -1"),
    (lambda: toy.swiss_roll(10, noise=-0.1), ValueError,
     "swiss_roll: noise must be a finite number >= 0"),
    (lambda: toy.swiss_roll(10, turns=0), ValueError,
     "swiss_roll: turns must be a finite number > 0"),
])
def test_samplers_refuse_bad_arguments_by_function_and_name(call, error, message):
    """A count that is negative or not an int, a negative or NaN std, an rng that is not
    one, a shape that does not fit: refused with the sampler's and the argument's names,
    never drawn from (numpy would take a negative std, or a float n, with no complaint)."""
    with pytest.raises(error, match=message):
        call()


def test_samplers_take_numpy_ints_and_zero_samples():
    """n may be a NumPy int (a product of array sizes) and may be 0: an empty (0, dim) draw."""
    samples, centres = toy.ring(np.int64(3), rng=0)
    assert samples.shape == (3, 2) and centres.shape == (8, 2)
    assert toy.grid(0, rng=0)[0].shape == (0, 2)
    assert toy.swiss_roll(0, rng=np.random.default_rng(0)).shape == (0, 2)


def test_per_component_std():
    """``std`` may give one standard deviation per component."""
    samples, labels = toy.gaussian_mixture(6000, [[0.0], [100.0]], [0.1, 2.0], rng=4)
    np.testing.assert_allclose([samples[labels == 0].std(), samples[labels == 1].std()],
                               [0.1, 2.0], rtol=0.1)


SAMPLERS = [
    pytest.param(lambda rng: toy.ring(50, rng=rng)[0], id="ring"),
    pytest.param(lambda rng: toy.grid(50, rng=rng)[0], id="grid"),
    pytest.param(lambda rng: toy.mixture_1d(50, rng=rng)[0], id="mixture_1d"),
    pytest.param(lambda rng: toy.mixture_1d(50, rng=rng, weights=[0.3, 0.7])[0],
                 id="mixture_1d_weighted"),
    pytest.param(lambda rng: toy.swiss_roll(50, rng=rng, noise=0.1), id="swiss_roll"),
]


@pytest.mark.parametrize("draw", SAMPLERS)
def test_seeds_reproduce_the_samples(draw):
    """The same int seed gives the same samples (and the same as a numpy Generator with
    that seed), another seed other samples; with rng=None, minigan.manual_seed decides."""
    np.testing.assert_array_equal(draw(7), draw(7))
    np.testing.assert_array_equal(draw(7), draw(np.random.default_rng(7)))
    assert not np.array_equal(draw(7), draw(8))
    minigan.manual_seed(3)
    first = draw(None)
    minigan.manual_seed(3)
    np.testing.assert_array_equal(draw(None), first)
    minigan.manual_seed(4)
    assert not np.array_equal(draw(None), first)
    assert first.dtype == np.float64 and first.ndim == 2


def test_mixture_1d_has_one_column_and_returns_its_means():
    """Samples (n, 1) around the given means; the means come back as (K,)."""
    samples, means = toy.mixture_1d(4000, means=(-3.0, 3.0), std=0.5, rng=5)
    assert samples.shape == (4000, 1)
    np.testing.assert_array_equal(means, [-3.0, 3.0])
    left = samples[samples[:, 0] < 0, 0]
    assert left.mean() == pytest.approx(-3.0, abs=0.1)
    assert len(left) / 4000 == pytest.approx(0.5, abs=6 * math.sqrt(0.25 / 4000))


def test_swiss_roll_lies_on_its_spiral_inside_the_unit_square():
    """Without noise each point is (t cos t, t sin t) / t1 for its own t in [t0, t1]:
    t is recovered as t1 |x|, and the point's angle is t's (modulo 2 pi)."""
    turns = 1.5
    points = toy.swiss_roll(500, rng=6, turns=turns)
    start, end = math.pi / 2, math.pi / 2 + 2 * math.pi * turns
    assert points.shape == (500, 2) and np.all(np.abs(points) <= 1)
    t = end * np.linalg.norm(points, axis=1)
    assert np.all((t >= start - 1e-9) & (t <= end + 1e-9))
    np.testing.assert_allclose(points, np.stack([t * np.cos(t), t * np.sin(t)], 1) / end,
                               atol=1e-12)


# --- nearest modes and the histogram --------------------------------------------------------
@given(st.integers(1, 20), st.integers(1, 6), st.integers(1, 3), st.integers(0, 2 ** 16))
def test_nearest_mode_is_the_argmin_of_all_distances(n, k, dim, seed):
    """nearest_mode agrees with a brute-force argmin over scipy's distance matrix."""
    rng = np.random.default_rng(seed)
    samples, centres = rng.standard_normal((n, dim)), rng.standard_normal((k, dim))
    index, distance = modes.nearest_mode(samples, centres)
    d = cdist(samples, centres)
    np.testing.assert_array_equal(index, d.argmin(axis=1))
    np.testing.assert_allclose(distance, d.min(axis=1), rtol=1e-12)


def test_nearest_mode_takes_tensors():
    """A generator's output (a float32 Tensor) goes in as it is."""
    centres = toy.ring_centres()
    samples = minigan.tensor(centres[[3, 5, 5]] + 0.001)
    index, _ = modes.nearest_mode(samples, centres)
    np.testing.assert_array_equal(index, [3, 5, 5])


@pytest.mark.parametrize("samples_shape, centres_shape", [
    ((10,), (8, 2)), ((10, 2), (8,)), ((10, 3), (8, 2)), ((2, 5, 2), (8, 2))])
def test_nearest_mode_refuses_shapes_that_do_not_match(samples_shape, centres_shape):
    """Samples must be (N, dim) and centres (K, dim) with the same dim; the message shows both."""
    expected = re.escape(f"expected samples (N, dim) and centres (K, dim), got shapes "
                         f"{samples_shape} and {centres_shape}")
    with pytest.raises(ValueError, match=expected):
        modes.nearest_mode(np.zeros(samples_shape), np.zeros(centres_shape))


def test_high_quality_means_strictly_within_the_threshold():
    """At 2.9 sigma a sample counts, at 3.1 sigma it does not; ``threshold`` moves the line."""
    centres, sigma = toy.ring_centres(), RING_STD
    samples = np.array([[1 + 2.9 * sigma, 0.0], [1 + 3.1 * sigma, 0.0], [0.0, 1 - 0.5 * sigma]])
    np.testing.assert_array_equal(modes.mode_counts(samples, centres, sigma),
                                  [1, 0, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(modes.mode_counts(samples, centres, sigma, threshold=4.0),
                                  [2, 0, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(modes.mode_counts(samples, centres, sigma, threshold=0.4),
                                  [0] * 8)


# --- the protocol on known answers ----------------------------------------------------------
def test_three_sigma_mass_depends_on_the_dimension():
    """P(||x - c|| < 3 sigma) is erf(3 / sqrt 2) = 0.9973 in 1-D, but in 2-D ||x - c|| / sigma
    is Rayleigh distributed (chi with 2 degrees of freedom): P = 1 - exp(-9/2) = 0.9889."""
    assert 1 - math.exp(-4.5) == pytest.approx(stats.chi2.cdf(9, df=2), rel=1e-14)
    assert 1 - math.exp(-4.5) == pytest.approx(stats.chi.cdf(3, df=2), rel=1e-14)
    assert special.erf(3 / math.sqrt(2)) == pytest.approx(stats.chi.cdf(3, df=1), rel=1e-14)
    assert special.erf(3 / math.sqrt(2)) - (1 - math.exp(-4.5)) > 0.008


@pytest.mark.parametrize("sampler, std, n_modes", [
    pytest.param(toy.ring, RING_STD, 8, id="ring"),
    pytest.param(toy.grid, GRID_STD, 25, id="grid")])
def test_the_true_mixture_captures_every_mode(sampler, std, n_modes):
    """Samples of the mixture itself: all K modes, the 2-D 3-sigma mass 1 - exp(-9/2) of
    them high quality, and a reverse KL near 0.

    With N = 20,000 the fraction's standard error is sqrt(p (1 - p) / N) = 0.00074; the
    tolerance 0.004 is 5.4 of them, and the 1-D value 0.9973 lies 11 of them away. The
    reverse KL of a multinomial histogram is about (K - 1) / (2 N) = 0.0006 for the grid.
    """
    n = 20_000
    samples, centres = sampler(n, rng=10)
    result = modes.mode_statistics(samples, centres, std)
    assert result.modes == n_modes
    assert result.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.004)
    assert 0 <= result.reverse_kl < 0.005
    assert result.counts.shape == (n_modes,)
    assert result.counts.sum() == round(result.high_quality * n)


def test_a_one_dimensional_mixture_has_the_one_dimensional_three_sigma_mass():
    """In 1-D the high-quality fraction is erf(3 / sqrt 2) = 0.9973 (standard error 0.00037)."""
    samples, means = toy.mixture_1d(20_000, means=(-10.0, 0.0, 10.0), std=1.0, rng=11)
    result = modes.mode_statistics(samples, means[:, None], 1.0)
    assert result.modes == 3
    assert result.high_quality == pytest.approx(special.erf(3 / math.sqrt(2)), abs=0.002)


@pytest.mark.parametrize("centres, std", [
    pytest.param(toy.ring_centres(), RING_STD, id="ring"),
    pytest.param(toy.grid_centres(), GRID_STD, id="grid")])
@pytest.mark.parametrize("mode", [0, 5])
def test_a_collapsed_generator_captures_one_mode_with_reverse_kl_log_k(centres, std, mode):
    """All samples within a standard deviation of one centre: 1 mode, every sample high
    quality, the histogram all on that mode, and KL(q || uniform) = log K, its maximum."""
    rng = np.random.default_rng(12)
    samples = centres[mode] + 0.3 * std * rng.standard_normal((300, 2))
    result = modes.mode_statistics(samples, centres, std)
    assert result.modes == 1 and result.high_quality == 1.0
    expected = np.zeros(len(centres), dtype=int)
    expected[mode] = 300
    np.testing.assert_array_equal(result.counts, expected)
    assert result.reverse_kl == pytest.approx(math.log(len(centres)), rel=1e-12)


def test_samples_far_from_every_mode_capture_nothing():
    """Samples far from every centre: 0 modes, 0 high quality, and the reverse KL of an
    empty histogram is undefined (NaN), not 0 (which would claim a perfect spread)."""
    centres = toy.ring_centres()
    result = modes.mode_statistics(np.full((100, 2), 50.0), centres, RING_STD)
    assert result.modes == 0 and result.high_quality == 0.0
    assert math.isnan(result.reverse_kl)
    np.testing.assert_array_equal(result.counts, np.zeros(8))


def test_missing_modes_and_low_quality_samples_are_counted_apart():
    """Half the samples on modes 0 and 1 (equally), half far away: 2 modes, quality 0.5,
    and the histogram, built from the high-quality half only, gives log 8 - log 2."""
    centres = toy.ring_centres()
    samples = np.concatenate([np.repeat(centres[:2], 25, axis=0), np.full((50, 2), 9.0)])
    result = modes.mode_statistics(samples, centres, RING_STD)
    assert result.modes == 2 and result.high_quality == 0.5
    assert result.reverse_kl == pytest.approx(math.log(8) - math.log(2), rel=1e-12)


# --- the reverse KL ---------------------------------------------------------------------------
histograms = st.lists(st.integers(0, 1000), min_size=1, max_size=30).filter(any)


@given(histograms)
def test_reverse_kl_is_log_k_minus_the_entropy(counts):
    """KL(q || uniform) = log K - H(q) = scipy's KL to the uniform histogram, in [0, log K]."""
    k = len(counts)
    value = modes.reverse_kl(counts)
    assert value == pytest.approx(math.log(k) - stats.entropy(counts), abs=1e-12)
    assert value == pytest.approx(stats.entropy(counts, np.ones(k)), abs=1e-12)
    assert -1e-12 <= value <= math.log(k) + 1e-12


@given(histograms, st.integers(2, 50))
def test_reverse_kl_depends_only_on_the_shares(counts, factor):
    """Scaling every count by the same factor leaves q, and the KL, unchanged."""
    assert modes.reverse_kl(np.multiply(counts, factor)) == pytest.approx(
        modes.reverse_kl(counts), abs=1e-12)


def test_reverse_kl_examples():
    """Uniform: 0. All on one of 4: log 4. Empty: NaN (q is undefined)."""
    assert modes.reverse_kl([10, 10, 10, 10]) == pytest.approx(0.0, abs=1e-15)
    assert modes.reverse_kl([40, 0, 0, 0]) == pytest.approx(math.log(4), rel=1e-15)
    assert math.isnan(modes.reverse_kl([0, 0, 0]))


# --- mean and standard error over seeds --------------------------------------------------------
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=12))
def test_mean_and_standard_error_agree_with_scipy(values):
    """The mean, and s / sqrt(n) with the n - 1 sample deviation: scipy.stats.sem."""
    mean, error = modes.mean_and_standard_error(values)
    assert mean == pytest.approx(np.mean(values), rel=1e-12, abs=1e-9)
    assert error == pytest.approx(stats.sem(values), rel=1e-9, abs=1e-9)


def test_standard_error_of_one_value_is_nan_and_of_none_an_error():
    """One run says nothing of the spread (NaN); no runs at all is a mistake."""
    mean, error = modes.mean_and_standard_error([3.5])
    assert mean == 3.5 and math.isnan(error)
    assert modes.mean_and_standard_error([1.0, 3.0]) == pytest.approx((2.0, 1.0))
    with pytest.raises(ValueError, match="got no values"):
        modes.mean_and_standard_error([])
