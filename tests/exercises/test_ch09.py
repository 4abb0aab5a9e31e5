"""Chapter 09's exercises: WGAN-GP's interpolates, WGAN's weight clipping, the critic's
Wasserstein estimate and the Kantorovich-Rubinstein duality in one dimension."""
import numpy as np
import pytest
import scipy.stats

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch09


def check_interpolate(interpolate):
    """Each x_hat_i lies on the segment from fake_i to real_i, at one eps_i for all of its
    coordinates, and the eps_i are U[0, 1] across the examples (mean 1/2, std 1/sqrt 12)."""
    rng = np.random.default_rng(0)
    for shape in [(4000, 2), (2000, 3, 4, 4)]:
        real = rng.standard_normal(shape)
        fake = rng.standard_normal(shape) + 3.0     # |real - fake| is rarely near 0
        x_hat = np.asarray(interpolate(real, fake, np.random.default_rng(1)), dtype=np.float64)
        assert x_hat.shape == shape, f"expected shape {shape}, got {x_hat.shape}"
        eps = ((x_hat - fake) / (real - fake)).reshape(shape[0], -1)
        spread = np.max(np.abs(eps - eps[:, :1]))
        assert spread < 1e-6, f"eps differs within an example by {spread:.3g}: one eps per example"
        eps = eps[:, 0]
        assert eps.min() >= -1e-9 and eps.max() <= 1 + 1e-9, "x_hat must lie between fake and real"
        assert eps.mean() == pytest.approx(0.5, abs=0.03), f"mean eps {eps.mean():.3f}, not 1/2"
        assert eps.std() == pytest.approx(12 ** -0.5, abs=0.02), \
            f"std of eps {eps.std():.3f}, not 1/sqrt(12) = 0.289: eps ~ U[0, 1], one per example"


def check_clip_weights_(clip_weights_):
    """Entries outside [-c, c] become -c or c, the others stay exactly; the arrays change in
    place (the same objects), biases (1-D arrays) included."""
    rng = np.random.default_rng(2)
    for c in (0.01, 0.5):
        arrays = [rng.uniform(-5 * c, 5 * c, (30, 20)), rng.uniform(-5 * c, 5 * c, 20),
                  rng.uniform(-0.5 * c, 0.5 * c, (7, 3))]
        before = [a.copy() for a in arrays]
        identities = [id(a) for a in arrays]
        clip_weights_(arrays, c)
        assert [id(a) for a in arrays] == identities, "the list must hold the same arrays"
        for array, original in zip(arrays, before):
            np.testing.assert_array_equal(array, np.clip(original, -c, c),
                                          err_msg="each array must be clipped into [-c, c] in place")


def check_wasserstein_estimate(wasserstein_estimate):
    """For a linear critic f(x) = u . x the estimate is u . (mean real - mean fake) exactly;
    for any critic it is mean f(real) - mean f(fake), with batches of different sizes and
    scores of shape (N,) or (N, 1)."""
    rng = np.random.default_rng(3)
    real = rng.standard_normal((300, 2)) + np.array([2.0, -1.0])
    fake = rng.standard_normal((200, 2))
    u = np.array([0.6, 0.8])
    estimate = wasserstein_estimate(lambda x: x @ u, real, fake)
    assert estimate == pytest.approx(float(u @ (real.mean(0) - fake.mean(0))), rel=1e-10)
    assert estimate > 0, "real scores high and fake ones low give a positive estimate"

    def critic(x):
        return np.tanh(x[:, :1] - 0.5 * x[:, 1:])      # scores (N, 1)
    expected = float(np.mean(critic(real)) - np.mean(critic(fake)))
    assert wasserstein_estimate(critic, real, fake) == pytest.approx(expected, rel=1e-10)


def check_kantorovich_rubinstein_1d(kantorovich_rubinstein_1d):
    """The estimate equals scipy's W1 (equal and unequal sample sizes, shifted and reshaped
    distributions); the critic is 1-Lipschitz and attains it: mean f(x) - mean f(y) = W1."""
    rng = np.random.default_rng(4)
    cases = [(rng.standard_normal(500), rng.standard_normal(500) + 1.5),
             (rng.standard_normal(400), 1.5 * rng.standard_normal(250)),
             (rng.uniform(-2, 2, 300), rng.laplace(0, 1, 700)),
             (np.array([0.0]), np.array([2.0, 3.0]))]
    for x, y in cases:
        estimate, critic = kantorovich_rubinstein_1d(x, y)
        assert estimate == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-9), \
            "the estimate must equal W1 (scipy.stats.wasserstein_distance)"
        attained = float(np.mean(critic(x)) - np.mean(critic(y)))
        assert attained == pytest.approx(estimate, rel=1e-9), \
            "the critic must attain the estimate: mean f(x) - mean f(y)"
        points = np.sort(np.concatenate([x, y, np.linspace(x.min() - 1, y.max() + 1, 2000)]))
        values = np.asarray(critic(points), dtype=np.float64)
        steps = np.diff(points)
        slopes = np.abs(np.diff(values))[steps > 0] / steps[steps > 0]
        assert slopes.max() <= 1 + 1e-9, f"the critic has slope {slopes.max():.3f} > 1"


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


CHECKS = {"interpolate": check_interpolate, "clip_weights_": check_clip_weights_,
          "wasserstein_estimate": check_wasserstein_estimate,
          "kantorovich_rubinstein_1d": check_kantorovich_rubinstein_1d}
MUTANTS = {"interpolate": [interpolate_one_eps_per_batch, interpolate_eps_per_coordinate,
                           interpolate_endpoints_only],
           "clip_weights_": [clip_weights_upper_only, clip_weights_not_in_place,
                             clip_weights_rescales],
           "wasserstein_estimate": [wasserstein_estimate_swapped, wasserstein_estimate_paired,
                                    wasserstein_estimate_sums],
           "kantorovich_rubinstein_1d": [kantorovich_rubinstein_linear_critic,
                                         kantorovich_rubinstein_sorted_pairs,
                                         kantorovich_rubinstein_steep]}

test_exercise, test_mutant_is_rejected = make_tests("09", CHECKS, MUTANTS)
