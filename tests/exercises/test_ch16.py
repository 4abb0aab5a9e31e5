"""Chapter 16's exercises: the VAE's KL term, the diffusion forward marginal, the
reparameterisation gradient and the score of a noised mixture."""
import math

import numpy as np
import pytest
import scipy.special
import scipy.stats

from tests.exercises.harness import assert_close, make_tests

pytestmark = pytest.mark.ch16


def _unchanged(exercise, **inputs):
    """Each input (array, copy taken before the call) is as it was: nothing wrote into it."""
    for name, (array, copy) in inputs.items():
        assert np.array_equal(array, copy), f"{exercise} changed its input {name}: leave it be"


def check_gaussian_kl(gaussian_kl):
    """Against the KL of two univariate normals summed coordinate by coordinate, written from
    the densities (the integral of q log(q / p), by quadrature for a few); zero exactly at the
    prior; shapes (..., L) -> (...); float64; inputs untouched."""
    rng = np.random.default_rng(0)
    for shape in [(5, 3), (4,), (2, 3, 6), (1, 1)]:
        mean, log_var = rng.standard_normal(shape), rng.uniform(-3, 2, shape)
        kept = mean.copy(), log_var.copy()
        got = np.asarray(gaussian_kl(mean, log_var))
        _unchanged("gaussian_kl", mean=(mean, kept[0]), log_var=(log_var, kept[1]))
        std = np.exp(0.5 * log_var)
        expected = np.sum(np.log(1 / std) + (std ** 2 + mean ** 2) / 2 - 0.5, axis=-1)
        assert_close(got, expected, f"KL of mean, log_var of shape {shape}",
                     rtol=1e-10, atol=1e-12)
    zero = np.asarray(gaussian_kl(np.zeros((3, 4)), np.zeros((3, 4))))
    assert_close(zero, np.zeros(3), "KL of N(0, I) to itself (must be 0)")
    # one coordinate by quadrature: the definition, independent of any formula
    m, v = 0.7, -1.2
    q = scipy.stats.norm(m, math.exp(v / 2))
    grid = np.linspace(m - 12 * math.exp(v / 2), m + 12 * math.exp(v / 2), 200001)
    integrand = q.pdf(grid) * (q.logpdf(grid) - scipy.stats.norm().logpdf(grid))
    by_quadrature = np.trapezoid(integrand, grid)
    got = float(np.asarray(gaussian_kl(np.array([m]), np.array([v]))))
    assert abs(got - by_quadrature) < 1e-8, (
        f"KL(N(0.7, exp(-1.2)) || N(0, 1)) is {by_quadrature:.8f} by integrating q log(q / p); "
        f"got {got:.8f}. Is log_var the log of the variance, s^2 = exp(log_var)?")


def check_forward_marginal(forward_marginal):
    """Against the chain run step by step on 200,000 copies of x_0 (mean and variance within
    5 standard errors) and against the closed form exactly; t = 0 gives x_0 itself with
    variance 0; x_0 untouched, float64."""
    betas = np.linspace(0.01, 0.3, 20)
    x0 = np.array([[1.5, -0.7, 0.2]])
    kept = x0.copy()
    mean0, variance0 = forward_marginal(x0, 0, betas)
    assert_close(np.asarray(mean0), x0, "the mean at t = 0 (no noise yet: x_0 itself)")
    assert abs(float(variance0)) < 1e-15, f"the variance at t = 0 must be 0, got {variance0}"
    rng = np.random.default_rng(1)
    x = np.repeat(x0, 200000, axis=0)
    for t in range(1, len(betas) + 1):
        x = math.sqrt(1 - betas[t - 1]) * x + math.sqrt(betas[t - 1]) * rng.standard_normal(x.shape)
        mean, variance = forward_marginal(x0, t, betas)
        _unchanged("forward_marginal", x0=(x0, kept))
        mean, variance = np.asarray(mean), float(variance)
        assert mean.shape == x0.shape, f"t = {t}: the mean must have x0's shape {x0.shape}"
        if t in (1, 2, 7, 20):
            error = np.abs(x.mean(axis=0) - mean[0]) / math.sqrt(max(variance, 1e-12) / len(x))
            assert error.max() < 5, (
                f"t = {t}: the chain's mean is {np.round(x.mean(axis=0), 4).tolist()}, yours "
                f"{np.round(mean[0], 4).tolist()}")
            spread = abs(x.var(axis=0).mean() - variance) / (variance * math.sqrt(2 / len(x) / 3))
            assert spread < 5, (f"t = {t}: the chain's variance is {x.var(axis=0).mean():.5f}, "
                                f"yours {variance:.5f} (the variance, not the standard deviation)")
        abar = np.prod(1 - betas[:t])
        assert_close(mean, math.sqrt(abar) * x0, f"the mean at t = {t}", rtol=1e-12)
        assert abs(variance - (1 - abar)) < 1e-12, f"t = {t}: variance {variance} != 1 - abar_t"


def check_reparameterize_backward(reparameterize_backward):
    """Against central finite differences of a loss of z = mean + exp(log_var / 2) noise
    (L(z) = sum(sin(z) * w), whose gradient grad_z = cos(z) * w is handed in); shapes,
    float64, inputs untouched."""
    rng = np.random.default_rng(2)
    for shape in [(4, 3), (1, 5), (6, 1)]:
        mean, log_var = rng.standard_normal(shape), rng.uniform(-2, 1, shape)
        noise, w = rng.standard_normal(shape), rng.standard_normal(shape)

        def loss(m, v):
            return np.sum(np.sin(m + np.exp(v / 2) * noise) * w)
        z = mean + np.exp(log_var / 2) * noise
        grad_z = np.cos(z) * w
        kept = [a.copy() for a in (mean, log_var, noise, grad_z)]
        got_mean, got_log_var = reparameterize_backward(mean, log_var, noise, grad_z)
        _unchanged("reparameterize_backward", mean=(mean, kept[0]), log_var=(log_var, kept[1]),
                   noise=(noise, kept[2]), grad_z=(grad_z, kept[3]))
        h = 1e-6
        numeric = [np.zeros(shape), np.zeros(shape)]
        for index in np.ndindex(shape):
            step = np.zeros(shape)
            step[index] = h
            numeric[0][index] = (loss(mean + step, log_var) - loss(mean - step, log_var)) / (2 * h)
            numeric[1][index] = (loss(mean, log_var + step) - loss(mean, log_var - step)) / (2 * h)
        assert_close(np.asarray(got_mean), numeric[0], f"dL/dmean, shape {shape}",
                     rtol=1e-6, atol=1e-8)
        assert_close(np.asarray(got_log_var), numeric[1], f"dL/dlog_var, shape {shape}",
                     rtol=1e-6, atol=1e-8)


def check_mixture_score(mixture_score):
    """Against central finite differences of the noised mixture's log-density (scipy's
    logsumexp), at points near and far (the far ones test the stable softmax); (N, d)
    float64; inputs untouched."""
    rng = np.random.default_rng(3)
    for d, k, std, abar in [(2, 5, 0.1, 0.6), (2, 25, 0.05, 0.999), (3, 4, 0.5, 0.05),
                            (2, 3, 0.01, 1.0)]:
        centres = rng.standard_normal((k, d)) * 2
        x = np.concatenate([rng.standard_normal((20, d)), 40 + rng.standard_normal((3, d))])
        kept = x.copy(), centres.copy()
        got = np.asarray(mixture_score(x, centres, std, abar))
        _unchanged("mixture_score", x=(x, kept[0]), centres=(centres, kept[1]))
        variance = abar * std ** 2 + 1 - abar

        def log_density(points):
            squared = ((points[:, None, :] - math.sqrt(abar) * centres[None]) ** 2).sum(axis=2)
            return scipy.special.logsumexp(-squared / (2 * variance), axis=1)
        h = 1e-5 * math.sqrt(variance)
        numeric = np.zeros_like(x)
        for j in range(d):
            step = np.zeros(d)
            step[j] = h
            numeric[:, j] = (log_density(x + step) - log_density(x - step)) / (2 * h)
        assert_close(got, numeric, f"the score with {k} components in {d}-D, std {std}, "
                                   f"abar {abar}", rtol=1e-5, atol=1e-5 / variance)


# --- planted wrong answers ------------------------------------------------------------------
def gaussian_kl_log_std(mean, log_var):
    """Reads log_var as the log of the standard deviation: exp(2 log_var) for the variance."""
    return 0.5 * np.sum(np.exp(2 * log_var) + mean ** 2 - 1.0 - 2 * log_var, axis=-1)


def gaussian_kl_no_half(mean, log_var):
    return np.sum(np.exp(log_var) + mean ** 2 - 1.0 - log_var, axis=-1)


def gaussian_kl_wrong_axis(mean, log_var):
    return 0.5 * np.sum(np.exp(log_var) + mean ** 2 - 1.0 - log_var, axis=0)


def gaussian_kl_mean_over_coordinates(mean, log_var):
    return 0.5 * np.mean(np.exp(log_var) + mean ** 2 - 1.0 - log_var, axis=-1)


def gaussian_kl_float32(mean, log_var):
    return (0.5 * np.sum(np.exp(log_var) + mean ** 2 - 1.0 - log_var, axis=-1)).astype(np.float32)


def forward_marginal_sum(x0, t, betas):
    """abar as 1 - sum(beta): the product's first-order approximation."""
    abar = 1.0 - np.sum(betas[:t])
    return np.sqrt(abar) * x0, 1.0 - abar


def forward_marginal_no_sqrt(x0, t, betas):
    abar = np.prod(1.0 - betas[:t])
    return abar * x0, 1.0 - abar


def forward_marginal_std(x0, t, betas):
    """Returns the standard deviation where the variance is asked for."""
    abar = np.prod(1.0 - betas[:t])
    return np.sqrt(abar) * x0, np.sqrt(1.0 - abar)


def forward_marginal_off_by_one(x0, t, betas):
    """Includes beta_{t+1}: the product runs one step too far."""
    abar = np.prod(1.0 - betas[:t + 1])
    return np.sqrt(abar) * x0, 1.0 - abar


def forward_marginal_product_of_betas(x0, t, betas):
    abar = np.prod(betas[:t]) if t else 1.0
    return np.sqrt(abar) * x0, 1.0 - abar


def reparameterize_backward_no_half(mean, log_var, noise, grad_z):
    return grad_z.copy(), grad_z * np.exp(0.5 * log_var) * noise


def reparameterize_backward_variance(mean, log_var, noise, grad_z):
    """Differentiates exp(log_var) noise: the variance where the standard deviation goes."""
    return grad_z.copy(), grad_z * np.exp(log_var) * noise


def reparameterize_backward_no_noise(mean, log_var, noise, grad_z):
    return grad_z.copy(), grad_z * 0.5 * np.exp(0.5 * log_var)


def reparameterize_backward_summed(mean, log_var, noise, grad_z):
    """Sums over the batch, as for a shared parameter, and broadcasts it back."""
    g_v = grad_z * 0.5 * np.exp(0.5 * log_var) * noise
    return np.broadcast_to(grad_z.sum(axis=0), grad_z.shape).copy(), \
        np.broadcast_to(g_v.sum(axis=0), g_v.shape).copy()


def reparameterize_backward_in_place(mean, log_var, noise, grad_z):
    """Right values, but writes into grad_z."""
    g_v = grad_z * 0.5 * np.exp(0.5 * log_var) * noise
    grad_z *= 1.0
    grad_z += 0.0 * noise + 1e-3
    return grad_z - 1e-3, g_v


def mixture_score_unscaled_means(x, centres, std, abar):
    """Forgets that the forward process shrinks the centres by sqrt(abar)."""
    from tests.exercises.ch16_reference import mixture_score
    return mixture_score(x, centres / np.sqrt(abar), std, abar)


def mixture_score_noise_variance_only(x, centres, std, abar):
    """Variance 1 - abar: the data's own spread std^2 forgotten."""
    means = np.sqrt(abar) * centres
    variance = max(1.0 - abar, 1e-12)
    offsets = means[None] - x[:, None]
    logits = -np.sum(offsets ** 2, axis=2) / (2 * variance)
    weights = scipy.special.softmax(logits, axis=1)
    return np.einsum("nk,nkd->nd", weights, offsets) / variance


def mixture_score_nearest_only(x, centres, std, abar):
    """The score of the nearest component alone: right far from the others, wrong between."""
    means = np.sqrt(abar) * centres
    variance = abar * std ** 2 + 1 - abar
    nearest = np.argmin(((x[:, None] - means[None]) ** 2).sum(axis=2), axis=1)
    return (means[nearest] - x) / variance


def mixture_score_unstable(x, centres, std, abar):
    """The softmax without subtracting the largest logit: 0 / 0 far from the centres."""
    means = np.sqrt(abar) * centres
    variance = abar * std ** 2 + 1 - abar
    offsets = means[None] - x[:, None]
    weights = np.exp(-np.sum(offsets ** 2, axis=2) / (2 * variance))
    weights = weights / weights.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkd->nd", weights, offsets) / variance


# --- correct answers in other styles: they must pass -----------------------------------------
def gaussian_kl_loops(mean, log_var):
    out = np.zeros(mean.shape[:-1])
    for index in np.ndindex(mean.shape[:-1]):
        for m, v in zip(mean[index], log_var[index]):
            out[index] += -0.5 * v + 0.5 * (math.exp(v) + m * m) - 0.5
    return out


def gaussian_kl_scipy(mean, log_var):
    """The KL as cross-entropy minus entropy, scipy's entropy of the normal."""
    entropy = scipy.stats.norm(0, np.exp(0.5 * log_var)).entropy()
    cross_entropy = 0.5 * np.log(2 * np.pi) + 0.5 * (np.exp(log_var) + mean ** 2)
    return np.sum(cross_entropy - entropy, axis=-1)


def forward_marginal_loop(x0, t, betas):
    mean_factor, variance = 1.0, 0.0
    for s in range(t):
        mean_factor *= math.sqrt(1 - betas[s])
        variance = (1 - betas[s]) * variance + betas[s]
    return mean_factor * x0, variance


def forward_marginal_logs(x0, t, betas):
    abar = math.exp(np.sum(np.log1p(-np.asarray(betas[:t]))))
    return math.sqrt(abar) * x0, -math.expm1(np.sum(np.log1p(-np.asarray(betas[:t]))))


def reparameterize_backward_chain_rule(mean, log_var, noise, grad_z):
    std = np.exp(0.5 * log_var)
    d_std_d_log_var = 0.5 * std
    return grad_z * 1.0, grad_z * noise * d_std_d_log_var


def reparameterize_backward_autograd(mean, log_var, noise, grad_z):
    """minigan's autograd: backward of sum(z * grad_z), whose gradient in z is grad_z."""
    import minigan
    m = minigan.tensor(mean, dtype="float64", requires_grad=True)
    v = minigan.tensor(log_var, dtype="float64", requires_grad=True)
    z = m + (0.5 * v).exp() * minigan.tensor(noise, dtype="float64")
    (z * minigan.tensor(grad_z, dtype="float64")).sum().backward()
    return m.grad.numpy(), v.grad.numpy()


def mixture_score_logsumexp(x, centres, std, abar):
    """The gradient of log-sum-exp is the softmax: scipy's stable softmax for the weights."""
    variance = abar * std ** 2 + 1 - abar
    offsets = np.sqrt(abar) * centres[None] - x[:, None]
    weights = scipy.special.softmax(-np.sum(offsets ** 2, axis=2) / (2 * variance), axis=1)
    return np.sum(weights[:, :, None] * offsets, axis=1) / variance


def mixture_score_posterior_mean(x, centres, std, abar):
    """Tweedie: score = (sqrt(abar) E[x_0 | x] - x) / (1 - abar) is another formula (it needs
    the posterior of x_0, not only of the component), so written via the component means."""
    score = np.zeros_like(x)
    for n in range(len(x)):
        logits = np.array([-np.sum((x[n] - math.sqrt(abar) * c) ** 2) for c in centres])
        variance = abar * std ** 2 + 1 - abar
        weights = np.exp((logits - logits.max()) / (2 * variance))
        weights /= weights.sum()
        for w, c in zip(weights, centres):
            score[n] += w * (math.sqrt(abar) * c - x[n]) / variance
    return score


CHECKS = {"gaussian_kl": check_gaussian_kl, "forward_marginal": check_forward_marginal,
          "reparameterize_backward": check_reparameterize_backward,
          "mixture_score": check_mixture_score}
MUTANTS = {"gaussian_kl": [gaussian_kl_log_std, gaussian_kl_no_half, gaussian_kl_wrong_axis,
                           gaussian_kl_mean_over_coordinates, gaussian_kl_float32],
           "forward_marginal": [forward_marginal_sum, forward_marginal_no_sqrt,
                                forward_marginal_std, forward_marginal_off_by_one,
                                forward_marginal_product_of_betas],
           "reparameterize_backward": [reparameterize_backward_no_half,
                                       reparameterize_backward_variance,
                                       reparameterize_backward_no_noise,
                                       reparameterize_backward_summed,
                                       reparameterize_backward_in_place],
           "mixture_score": [mixture_score_unscaled_means, mixture_score_noise_variance_only,
                             mixture_score_nearest_only, mixture_score_unstable]}
OTHER_CORRECT_ANSWERS = {"gaussian_kl": [gaussian_kl_loops, gaussian_kl_scipy],
                         "forward_marginal": [forward_marginal_loop, forward_marginal_logs],
                         "reparameterize_backward": [reparameterize_backward_chain_rule,
                                                     reparameterize_backward_autograd],
                         "mixture_score": [mixture_score_logsumexp, mixture_score_posterior_mean]}

test_exercise, test_mutant_is_rejected = make_tests("16", CHECKS, MUTANTS)


@pytest.mark.parametrize("name, answer", [
    pytest.param(name, answer, id=f"{name}-{answer.__name__}")
    for name, answers in sorted(OTHER_CORRECT_ANSWERS.items()) for answer in answers])
def test_correct_answers_in_other_styles_pass(name, answer):
    """The checks test the property, not the reference's way of writing it."""
    CHECKS[name](answer)
