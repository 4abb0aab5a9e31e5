"""Chapter 15's exercises: the smoothed optimal discriminator, the minibatch standard
deviation, feature matching and the historical average."""
import numpy as np
import pytest
from scipy import optimize

from tests.exercises.harness import assert_close, make_tests

pytestmark = pytest.mark.ch15


def _unchanged(exercise, **inputs):
    for name, (array, copy) in inputs.items():
        assert np.array_equal(array, copy), f"{exercise} changed its input {name}: leave it be"


def check_smoothed_optimal_discriminator(smoothed_optimal_discriminator):
    """The closed form (alpha p + beta q) / (p + q) at many points, float64 and unchanged
    inputs; it minimises the smoothed cross-entropy at each point (found numerically);
    (alpha + beta) / 2 where both densities vanish; beta = 0 gives alpha times the plain D*."""
    rng = np.random.default_rng(0)
    p, q = rng.random(50), rng.random(50)
    p[:5], q[3:8] = 0.0, 0.0                # only fakes, only data, and neither (3, 4)
    kept = p.copy(), q.copy()
    for alpha, beta in [(0.9, 0.0), (0.8, 0.1), (1.0, 0.0), (0.7, 0.3)]:
        got = np.asarray(smoothed_optimal_discriminator(p, q, alpha, beta))
        total = p + q
        expected = np.where(total > 0, (alpha * p + beta * q) / np.where(total > 0, total, 1),
                            (alpha + beta) / 2)
        assert_close(got, expected, f"D* with alpha {alpha}, beta {beta}", rtol=1e-12)
        for i in (10, 20, 30):
            def loss(y):
                return -((alpha * p[i] + beta * q[i]) * np.log(y)
                         + ((1 - alpha) * p[i] + (1 - beta) * q[i]) * np.log(1 - y))
            best = optimize.minimize_scalar(loss, bounds=(1e-9, 1 - 1e-9), method="bounded",
                                            options={"xatol": 1e-10}).x
            assert abs(got[i] - best) < 1e-6, \
                (f"alpha {alpha}, beta {beta}, p {p[i]:.3f}, q {q[i]:.3f}: the smoothed loss is "
                 f"least at D = {best:.5f}, your D* is {got[i]:.5f}")
    _unchanged("smoothed_optimal_discriminator", p_data=(p, kept[0]), p_g=(q, kept[1]))


def check_minibatch_stddev(minibatch_stddev):
    """Shape (N, C + 1, H, W), the input's channels first and unchanged; the new channel one
    number everywhere: the mean over features of sqrt(biased variance over the batch + eps);
    a batch of identical images gives sqrt(eps); float64 stays float64."""
    rng = np.random.default_rng(1)
    for shape in [(5, 2, 3, 3), (2, 1, 4, 4), (7, 3, 1, 1), (4, 4, 2, 2)]:
        x = rng.standard_normal(shape) * rng.uniform(0.5, 3, size=(1,) + shape[1:])
        kept = x.copy()
        out = np.asarray(minibatch_stddev(x, 1e-8))
        _unchanged("minibatch_stddev", x=(x, kept))
        n, c, h, w = shape
        assert out.shape == (n, c + 1, h, w), \
            f"x of shape {shape}: expected (N, C + 1, H, W) = {(n, c + 1, h, w)}, got {out.shape}"
        assert_close(out[:, :c], x, "the input's channels (they come first, unchanged)")
        expected = np.sqrt(x.var(axis=0, ddof=0) + 1e-8).mean()
        unbiased = np.sqrt(x.var(axis=0, ddof=1) + 1e-8).mean()
        got = out[:, c]
        assert np.ptp(got) < 1e-12, f"x of shape {shape}: the new channel must hold one number"
        assert abs(got.flat[0] - unbiased) > 1e-9 or abs(got.flat[0] - expected) < 1e-12, \
            (f"x of shape {shape}: you divided by N - 1 (the unbiased variance, "
             f"{unbiased:.6f}); the layer divides by N: {expected:.6f}")
        assert_close(got, np.full_like(got, expected), f"x of shape {shape}: the new channel "
                     f"(std over the batch, axis 0, averaged over the features)")
    same = np.repeat(rng.standard_normal((1, 2, 2, 2)), 6, axis=0)
    assert np.asarray(minibatch_stddev(same, 1e-8))[0, 2, 0, 0] == pytest.approx(1e-4), \
        "a batch of identical images has std sqrt(eps) = 1e-4"


def check_feature_matching_loss(feature_matching_loss):
    """||mean real - mean fake||^2 for batches of different sizes; 0 when the means agree
    even though the batches differ; a float; the inputs unchanged."""
    rng = np.random.default_rng(2)
    for n, m, f in [(10, 7, 3), (4, 9, 5), (1, 1, 2), (6, 6, 6)]:
        real, fake = rng.standard_normal((n, f)), rng.standard_normal((m, f)) + 0.5
        kept = real.copy(), fake.copy()
        got = feature_matching_loss(real, fake)
        assert np.ndim(got) == 0, f"expected one number, got an array of shape {np.shape(got)}"
        expected = float(np.sum((real.mean(0) - fake.mean(0)) ** 2))
        assert got == pytest.approx(expected, rel=1e-12), \
            (f"batches ({n}, {f}) and ({m}, {f}): expected ||mean real - mean fake||^2 = "
             f"{expected:.6f}, got {float(got):.6f}")
        _unchanged("feature_matching_loss", real=(real, kept[0]), fake=(fake, kept[1]))
    real = rng.standard_normal((8, 3))
    other = real[::-1] * 1.0
    assert feature_matching_loss(real, other) == pytest.approx(0, abs=1e-20), \
        "the same batch in another order has the same mean: the loss must be 0"


def check_historical_averages(historical_averages):
    """The running means are (1/t) sum of the first t parameter arrays, t = 1..T (the first is
    theta[1] itself), float64, and the penalties ||theta[t] - mean_t||^2; inputs unchanged."""
    rng = np.random.default_rng(3)
    parameters = [rng.standard_normal((3, 2)) + t for t in range(6)]
    kept = [p.copy() for p in parameters]
    means, penalties = historical_averages(parameters)
    assert len(means) == len(penalties) == 6, \
        f"expected 6 means and 6 penalties, got {len(means)} and {len(penalties)}"
    for t in range(6):
        expected = np.mean(parameters[:t + 1], axis=0)
        assert_close(np.asarray(means[t]), expected,
                     f"the mean after update {t + 1} (of theta[1..{t + 1}])")
        assert penalties[t] == pytest.approx(np.sum((parameters[t] - expected) ** 2), rel=1e-12), \
            f"the penalty after update {t + 1}: ||theta[{t + 1}] - mean||^2"
    for array, copy in zip(parameters, kept):
        assert np.array_equal(array, copy), "historical_averages changed a parameter array"


# --- planted wrong answers ----------------------------------------------------------------
def smoothed_d_ignores_fake_label(p_data, p_g, real_label, fake_label):
    """One-sided formula used for everything: drops beta p_g."""
    from tests.exercises.ch15_reference import smoothed_optimal_discriminator as ref
    return ref(p_data, p_g, real_label, 0.0) + 0 * fake_label


def smoothed_d_weighted_denominator(p_data, p_g, real_label, fake_label):
    """alpha p / (alpha p + (1 - beta) q): the labels put into the denominator too."""
    p, q = np.asarray(p_data, dtype=np.float64), np.asarray(p_g, dtype=np.float64)
    total = real_label * p + (1 - fake_label) * q
    return np.where(total > 0, real_label * p / np.where(total > 0, total, 1),
                    0.5 * (real_label + fake_label))


def smoothed_d_half_where_empty(p_data, p_g, real_label, fake_label):
    """Right formula, but 1/2 where both densities vanish (the plain game's value)."""
    from tests.exercises.ch15_reference import smoothed_optimal_discriminator as ref
    total = np.asarray(p_data) + np.asarray(p_g)
    return np.where(total > 0, ref(p_data, p_g, real_label, fake_label), 0.5)


def stddev_unbiased(x, eps=1e-8):
    """Divides by N - 1 (numpy's ddof=1, PyTorch's default)."""
    s = np.sqrt(x.var(axis=0, ddof=1) + eps).mean() if len(x) > 1 else np.sqrt(eps)
    return np.concatenate([x, np.full((x.shape[0], 1) + x.shape[2:], s)], axis=1)


def stddev_over_features(x, eps=1e-8):
    """The wrong axis: the std of each image over its own pixels, then averaged."""
    s = np.sqrt(x.reshape(len(x), -1).var(axis=1) + eps).mean()
    return np.concatenate([x, np.full((x.shape[0], 1) + x.shape[2:], s)], axis=1)


def stddev_per_feature(x, eps=1e-8):
    """Keeps the std of every feature instead of their mean: a map, not one number."""
    std = np.sqrt(x.var(axis=0) + eps).mean(axis=0, keepdims=True)     # (1, H, W)
    return np.concatenate([x, np.broadcast_to(std, (x.shape[0], 1) + x.shape[2:])], axis=1)


def stddev_appended_last_axis(x, eps=1e-8):
    """Appends along the last axis (a column of pixels), not as a channel."""
    s = np.sqrt(x.var(axis=0) + eps).mean()
    return np.concatenate([x, np.full(x.shape[:3] + (1,), s)], axis=3)


def feature_matching_mean_of_squares(real_features, fake_features):
    """Matches per-example distances: mean_ij ||f_i - g_j||^2 is not the distance of means."""
    d = real_features[:, None, :] - fake_features[None, :, :]
    return float((d ** 2).sum(axis=2).mean())


def feature_matching_no_square(real_features, fake_features):
    """The norm, not its square."""
    return float(np.linalg.norm(real_features.mean(0) - fake_features.mean(0)))


def feature_matching_mean_over_features(real_features, fake_features):
    """Averages over the F features instead of summing: 1/F of the loss."""
    return float(np.mean((real_features.mean(0) - fake_features.mean(0)) ** 2))


def historical_exponential(parameters):
    """An exponential moving average (0.9) instead of the mean of all the past."""
    means, penalties, average = [], [], None
    for theta in parameters:
        average = theta.astype(np.float64) if average is None else 0.9 * average + 0.1 * theta
        means.append(average)
        penalties.append(float(np.sum((theta - average) ** 2)))
    return means, penalties


def historical_off_by_one(parameters):
    """Divides the sum of t arrays by t + 1 (counts the updates from 0)."""
    means, penalties, total = [], [], 0
    for t, theta in enumerate(parameters):
        total = total + theta
        means.append(total / (t + 1 + 1))
        penalties.append(float(np.sum((theta - means[-1]) ** 2)))
    return means, penalties


def historical_accumulates_in_place(parameters):
    """Accumulates the sum into the first array: the caller's parameters change."""
    total = parameters[0]
    means, penalties = [total / 1.0], [0.0]
    for t, theta in enumerate(parameters[1:], start=2):
        total += theta
        means.append(total / t)
        penalties.append(float(np.sum((theta - means[-1]) ** 2)))
    return means, penalties


# --- correct answers in other styles ------------------------------------------------------
def smoothed_d_loop(p_data, p_g, real_label, fake_label):
    out = np.empty(len(p_data))
    for i, (p, q) in enumerate(zip(p_data, p_g)):
        out[i] = (real_label * p + fake_label * q) / (p + q) if p + q > 0 \
            else (real_label + fake_label) / 2
    return out


def stddev_einsum(x, eps=1e-8):
    centred = x - x.mean(axis=0)
    variance = np.einsum("nchw,nchw->chw", centred, centred) / len(x)
    s = np.sqrt(variance + eps).mean()
    return np.concatenate([x, s * np.ones((len(x), 1) + x.shape[2:])], axis=1)


def feature_matching_einsum(real_features, fake_features):
    d = real_features.mean(0) - fake_features.mean(0)
    return float(np.einsum("f,f->", d, d))


def historical_loop(parameters):
    means, penalties = [], []
    for t in range(1, len(parameters) + 1):
        mean = sum(parameters[:t]) / t
        means.append(np.asarray(mean, dtype=np.float64))
        penalties.append(float(((parameters[t - 1] - mean) ** 2).sum()))
    return means, penalties


CHECKS = {"smoothed_optimal_discriminator": check_smoothed_optimal_discriminator,
          "minibatch_stddev": check_minibatch_stddev,
          "feature_matching_loss": check_feature_matching_loss,
          "historical_averages": check_historical_averages}
MUTANTS = {"smoothed_optimal_discriminator": [smoothed_d_ignores_fake_label,
                                              smoothed_d_weighted_denominator,
                                              smoothed_d_half_where_empty],
           "minibatch_stddev": [stddev_unbiased, stddev_over_features, stddev_per_feature,
                                stddev_appended_last_axis],
           "feature_matching_loss": [feature_matching_mean_of_squares, feature_matching_no_square,
                                     feature_matching_mean_over_features],
           "historical_averages": [historical_exponential, historical_off_by_one,
                                   historical_accumulates_in_place]}
OTHER_STYLES = {"smoothed_optimal_discriminator": smoothed_d_loop,
                "minibatch_stddev": stddev_einsum,
                "feature_matching_loss": feature_matching_einsum,
                "historical_averages": historical_loop}

test_exercise, test_mutant_is_rejected = make_tests("15", CHECKS, MUTANTS)


@pytest.mark.parametrize("name", sorted(OTHER_STYLES))
def test_a_correct_answer_in_another_style_passes(name):
    """A loop or einsum answer passes too: the checks test the result, not the style."""
    CHECKS[name](OTHER_STYLES[name])
