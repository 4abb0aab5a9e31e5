"""Chapter 09's exercises: WGAN-GP's interpolates, WGAN's weight clipping, the critic's
Wasserstein estimate and the Kantorovich-Rubinstein duality in one dimension."""
import numpy as np
import pytest
import scipy.stats

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch09


def _unchanged(exercise, **inputs):
    """Each input (array, copy taken before the call) is as it was: nothing wrote into it."""
    for name, (array, copy) in inputs.items():
        assert np.array_equal(array, copy), f"{exercise} changed its input {name}: leave it be"


def _draws(seed, n):
    """The eps_i the docstring asks for, rng.random(N), in float64 and in float32."""
    return [np.random.default_rng(seed).random(n),
            np.random.default_rng(seed).random(n, dtype=np.float32).astype(np.float64)]


def check_interpolate(interpolate):
    """x_hat_i = eps_i real_i + (1 - eps_i) fake_i with eps = rng.random(N) from the rng
    passed in: so one seed gives one x_hat, and another seed another. Batches of vectors,
    of images, and of as many examples as coordinates (where eps of shape (N,) broadcasts
    along the wrong axis without an error). When x_hat is wrong, the eps_i recovered from it
    say how: not one per example, off the segment, real and fake swapped, or other draws."""
    rng = np.random.default_rng(0)
    for shape, seed in [((6, 6), 3), ((500, 2), 1), ((300, 3, 4, 4), 2), ((5, 1), 4)]:
        real = rng.standard_normal(shape)
        fake = rng.standard_normal(shape) + 3.0     # |real - fake| is rarely near 0
        kept = real.copy(), fake.copy()
        x_hat = np.asarray(interpolate(real, fake, np.random.default_rng(seed)), dtype=np.float64)
        _unchanged("interpolate", real=(real, kept[0]), fake=(fake, kept[1]))
        assert x_hat.shape == shape, f"expected x_hat of shape {shape}, got {x_hat.shape}"
        per_example = (shape[0],) + (1,) * (len(shape) - 1)
        draws = _draws(seed, shape[0])
        if any(np.allclose(x_hat, eps * real + (1 - eps) * fake, rtol=1e-5, atol=1e-5)
               for eps in (e.reshape(per_example) for e in draws)):
            continue
        eps = ((x_hat - fake) / (real - fake)).reshape(shape[0], -1)
        spread = np.max(np.abs(eps - eps[:, :1]))
        assert spread < 1e-4, (f"batch {shape}: the eps recovered from x_hat differs within one "
                               f"example by {spread:.3g}: one eps per example, for all its "
                               f"coordinates")
        eps = eps[:, 0]
        assert eps.min() >= -1e-6 and eps.max() <= 1 + 1e-6, \
            (f"batch {shape}: eps from {eps.min():.3g} to {eps.max():.3g}: x_hat must lie "
             f"between fake and real")
        assert not any(np.allclose(eps, 1 - e, atol=1e-4) for e in draws), \
            f"batch {shape}: real and fake swapped: expected eps real + (1 - eps) fake"
        again = np.asarray(interpolate(real, fake, np.random.default_rng(seed)), dtype=np.float64)
        assert np.allclose(again, x_hat), \
            f"batch {shape}: the same seed gave another x_hat: draw eps from the rng passed in"
        raise AssertionError(f"batch {shape}: eps must be rng.random(N) from the rng passed in, "
                             f"in order; expected eps[:3] = {np.round(draws[0][:3], 4).tolist()}, "
                             f"got {np.round(eps[:3], 4).tolist()}")


def check_clip_weights_(clip_weights_):
    """Entries outside [-c, c] become -c or c, the others stay exactly; the arrays change in
    place (the same objects), whatever their shape (biases, 1-D, included), memory layout
    (a transposed weight is stored column by column) or dtype (float32)."""
    rng = np.random.default_rng(2)
    for c in (0.01, 0.5):
        arrays = [rng.uniform(-5 * c, 5 * c, (30, 20)), rng.uniform(-5 * c, 5 * c, 20),
                  rng.uniform(-0.5 * c, 0.5 * c, (7, 3)),
                  np.asfortranarray(rng.uniform(-5 * c, 5 * c, (6, 5))),
                  rng.uniform(-5 * c, 5 * c, (4, 4)).astype(np.float32)]
        before = [a.copy() for a in arrays]
        identities = [id(a) for a in arrays]
        clip_weights_(arrays, c)
        assert [id(a) for a in arrays] == identities, \
            "the list must hold the same arrays, clipped in place (the network keeps the old ones)"
        for i, (array, original) in enumerate(zip(arrays, before)):
            expected = np.clip(original, -c, c)
            wrong = np.argwhere(array != expected)
            if len(wrong):
                at = tuple(int(k) for k in wrong[0])
                raise AssertionError(
                    f"c = {c}, array {i} of shape {array.shape}: entry {at} was "
                    f"{original[at]:.4g}, clipped into [-c, c] in place it should be "
                    f"{expected[at]:.4g}, got {array[at]:.4g}")


def check_wasserstein_estimate(wasserstein_estimate):
    """For a linear critic f(x) = u . x the estimate is u . (mean real - mean fake) exactly,
    positive or negative (no absolute value); for any critic it is mean f(real) - mean f(fake),
    with batches of different sizes (either larger) and scores of shape (N,) or (N, 1); one
    number comes back."""
    rng = np.random.default_rng(3)
    real = rng.standard_normal((300, 2)) + np.array([2.0, -1.0])
    fake = rng.standard_normal((200, 2))
    kept = real.copy(), fake.copy()
    for u in (np.array([0.6, 0.8]), np.array([-0.6, -0.8])):
        got = wasserstein_estimate(lambda x: x @ u, real, fake)
        assert np.ndim(got) == 0, f"expected one number, got an array of shape {np.shape(got)}"
        expected = float(u @ (real.mean(0) - fake.mean(0)))
        assert got == pytest.approx(expected, rel=1e-9), \
            (f"critic f(x) = {u.tolist()} . x: expected u . (mean real - mean fake) = "
             f"{expected:.5f}, got {float(got):.5f}")

    def critic(x):
        return np.tanh(x[:, :1] - 0.5 * x[:, 1:])      # scores (N, 1)
    for a, b in ((real, fake), (fake[:50], real)):
        expected = float(np.mean(critic(a)) - np.mean(critic(b)))
        got = wasserstein_estimate(critic, a, b)
        assert np.ndim(got) == 0, f"expected one number, got an array of shape {np.shape(got)}"
        assert got == pytest.approx(expected, rel=1e-9), \
            (f"scores of shape (N, 1), batches of {len(a)} and {len(b)}: expected mean f(real) - "
             f"mean f(fake) = {expected:.5f}, got {float(got):.5f}")
    _unchanged("wasserstein_estimate", real=(real, kept[0]), fake=(fake, kept[1]))


def check_kantorovich_rubinstein_1d(kantorovich_rubinstein_1d):
    """The estimate equals scipy's W1 (equal and unequal sample sizes, shifted and reshaped
    distributions, tied values); the critic is 1-Lipschitz and attains it:
    mean f(x) - mean f(y) = W1; x and y are left unchanged."""
    rng = np.random.default_rng(4)
    cases = [(rng.standard_normal(500), rng.standard_normal(500) + 1.5),
             (rng.standard_normal(400), 1.5 * rng.standard_normal(250)),
             (rng.uniform(-2, 2, 300), rng.laplace(0, 1, 700)),
             (np.array([0.0]), np.array([2.0, 3.0])),
             (np.array([0.0, 1, 1, 2, 3, 1]), np.array([1.0, 1, 2, 2, 2, 5, 0])),   # ties
             (rng.integers(0, 5, 40).astype(float), rng.integers(1, 4, 30).astype(float))]
    for x, y in cases:
        kept = x.copy(), y.copy()
        estimate, critic = kantorovich_rubinstein_1d(x, y)
        _unchanged("kantorovich_rubinstein_1d", x=(x, kept[0]), y=(y, kept[1]))
        what = f"x ({len(x)},), y ({len(y)},)"
        w1 = scipy.stats.wasserstein_distance(x, y)
        assert np.ndim(estimate) == 0, \
            f"{what}: the estimate must be one number, got shape {np.shape(estimate)}"
        assert estimate == pytest.approx(w1, rel=1e-9, abs=1e-12), \
            (f"{what}: expected W1 = {w1:.5f} (scipy.stats.wasserstein_distance), "
             f"got {float(estimate):.5f}")
        attained = float(np.mean(critic(x)) - np.mean(critic(y)))
        assert attained == pytest.approx(w1, rel=1e-9, abs=1e-12), \
            f"{what}: the critic must attain W1 = {w1:.5f}: mean f(x) - mean f(y) = {attained:.5f}"
        points = np.sort(np.concatenate([x, y, np.linspace(min(x.min(), y.min()) - 1,
                                                           max(x.max(), y.max()) + 1, 2000)]))
        values = np.asarray(critic(points), dtype=np.float64)
        steps = np.diff(points)
        slopes = np.abs(np.diff(values))[steps > 0] / steps[steps > 0]
        assert slopes.max() <= 1 + 1e-9, f"{what}: the critic has slope {slopes.max():.3f} > 1"


# --- planted wrong answers -----------------------------------------------------------------
def interpolate_one_eps_per_batch(real, fake, rng):
    """One eps for the whole batch: every x_hat sits at the same fraction of its segment."""
    eps = rng.random()
    return eps * real + (1 - eps) * fake


def interpolate_eps_per_coordinate(real, fake, rng):
    """An eps for every coordinate: x_hat leaves the segment between the two samples."""
    eps = rng.random(real.shape)
    return eps * real + (1 - eps) * fake


def interpolate_endpoints_only(real, fake, rng):
    """eps in {0, 1}: the penalty would look only at the samples, never between them."""
    eps = rng.integers(0, 2, (real.shape[0],) + (1,) * (real.ndim - 1))
    return eps * real + (1 - eps) * fake


def interpolate_swaps_real_and_fake(real, fake, rng):
    """eps fake + (1 - eps) real: the same distribution, but not the x_hat asked for."""
    eps = rng.random((real.shape[0],) + (1,) * (real.ndim - 1))
    return eps * fake + (1 - eps) * real


def interpolate_ignores_the_rng(real, fake, rng):
    """Draws from NumPy's global generator: the seed passed in changes nothing."""
    eps = np.random.random((real.shape[0],) + (1,) * (real.ndim - 1))
    return eps * real + (1 - eps) * fake


def interpolate_sorts_eps(real, fake, rng):
    """Sorts the draws: still U[0, 1] and one per example, but no longer eps_i for example i."""
    eps = np.sort(rng.random(real.shape[0])).reshape((-1,) + (1,) * (real.ndim - 1))
    return eps * real + (1 - eps) * fake


def interpolate_broadcasts_from_the_right(real, fake, rng):
    """eps of shape (N,) against (N, D): one eps per coordinate, and no error when N = D."""
    eps = rng.random(real.shape[0])
    return eps * real + (1 - eps) * fake


def clip_weights_upper_only(arrays, c):
    """Clips at +c only: large negative weights survive."""
    for array in arrays:
        np.minimum(array, c, out=array)


def clip_weights_not_in_place(arrays, c):
    """Builds clipped copies: the critic's own arrays never change."""
    arrays = [np.clip(array, -c, c) for array in arrays]


def clip_weights_rescales(arrays, c):
    """Rescales each array so that its largest entry is c: changes the entries inside too."""
    for array in arrays:
        array *= c / max(np.abs(array).max(), c)


def clip_weights_through_a_reshape(arrays, c):
    """Clips a.reshape(-1): a copy, not a view, for an array stored column by column."""
    for array in arrays:
        flat = array.reshape(-1)
        np.clip(flat, -c, c, out=flat)


def wasserstein_estimate_swapped(critic, real, fake):
    """E_g[f] - E_data[f]: the critic's loss, not its estimate."""
    return float(np.mean(critic(fake)) - np.mean(critic(real)))


def wasserstein_estimate_paired(critic, real, fake):
    """Pairs the i-th real with the i-th fake sample and averages |f(x) - f(y)|."""
    n = min(len(real), len(fake))
    return float(np.mean(np.abs(np.ravel(critic(real[:n])) - np.ravel(critic(fake[:n])))))


def wasserstein_estimate_sums(critic, real, fake):
    """Sums instead of averaging: the estimate grows with the batch."""
    return float(np.sum(critic(real)) - np.sum(critic(fake)))


def wasserstein_estimate_absolute(critic, real, fake):
    """|E_data[f] - E_g[f]|: hides a critic that scores the fake samples higher."""
    return abs(float(np.mean(critic(real)) - np.mean(critic(fake))))


def wasserstein_estimate_per_column(critic, real, fake):
    """Means over axis 0 only: an array of shape (1,) for scores (N, 1), not a number."""
    return np.mean(critic(real), axis=0) - np.mean(critic(fake), axis=0)


def kantorovich_rubinstein_linear_critic(x, y):
    """Only the critics f(t) = +-t: |mean x - mean y|, a lower bound on W1."""
    sign = 1.0 if np.mean(x) >= np.mean(y) else -1.0
    return float(abs(np.mean(x) - np.mean(y))), (lambda t: sign * np.asarray(t))


def kantorovich_rubinstein_sorted_pairs(x, y):
    """Pairs the sorted samples, which needs N = M (and says nothing of the critic)."""
    return float(np.mean(np.abs(np.sort(x) - np.sort(y)))), (lambda t: np.asarray(t))


def kantorovich_rubinstein_steep(x, y):
    """The right critic's shape with slope 2: twice W1, and not 1-Lipschitz."""
    from tests.exercises.ch09_reference import kantorovich_rubinstein_1d
    estimate, critic = kantorovich_rubinstein_1d(x, y)
    return 2 * estimate, (lambda t: 2 * critic(t))


def kantorovich_rubinstein_sorts_in_place(x, y):
    """x.sort(): right answer, but the caller's samples come back reordered."""
    from tests.exercises.ch09_reference import kantorovich_rubinstein_1d
    x.sort()
    y.sort()
    return kantorovich_rubinstein_1d(x, y)


def kantorovich_rubinstein_unique_values(x, y):
    """Builds F_x and F_y from the distinct values: a value held twice counts once."""
    t = np.unique(np.concatenate([x, y]))
    cdf_x = np.searchsorted(np.unique(x), t[:-1], side="right") / len(np.unique(x))
    cdf_y = np.searchsorted(np.unique(y), t[:-1], side="right") / len(np.unique(y))
    values = np.concatenate([[0.0], np.cumsum(np.sign(cdf_y - cdf_x) * np.diff(t))])

    def critic(points):
        return np.interp(points, t, values)
    return float(np.mean(critic(x)) - np.mean(critic(y))), critic


CHECKS = {"interpolate": check_interpolate, "clip_weights_": check_clip_weights_,
          "wasserstein_estimate": check_wasserstein_estimate,
          "kantorovich_rubinstein_1d": check_kantorovich_rubinstein_1d}
MUTANTS = {"interpolate": [interpolate_one_eps_per_batch, interpolate_eps_per_coordinate,
                           interpolate_endpoints_only, interpolate_swaps_real_and_fake,
                           interpolate_ignores_the_rng, interpolate_sorts_eps,
                           interpolate_broadcasts_from_the_right],
           "clip_weights_": [clip_weights_upper_only, clip_weights_not_in_place,
                             clip_weights_rescales, clip_weights_through_a_reshape],
           "wasserstein_estimate": [wasserstein_estimate_swapped, wasserstein_estimate_paired,
                                    wasserstein_estimate_sums, wasserstein_estimate_absolute,
                                    wasserstein_estimate_per_column],
           "kantorovich_rubinstein_1d": [kantorovich_rubinstein_linear_critic,
                                         kantorovich_rubinstein_sorted_pairs,
                                         kantorovich_rubinstein_steep,
                                         kantorovich_rubinstein_sorts_in_place,
                                         kantorovich_rubinstein_unique_values]}

test_exercise, test_mutant_is_rejected = make_tests("09", CHECKS, MUTANTS)
