"""minigan.baselines: the VAE and the diffusion model against their closed forms."""
import math

import numpy as np
import pytest
import scipy.stats

import minigan
from minigan import backend, nn
from minigan.baselines import diffusion, unet, vae

pytestmark = pytest.mark.ch16


def _model(seed, dimensions=5, latent=2, orthogonal=False):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((dimensions, latent))
    if orthogonal:   # orthogonal columns: W^T W diagonal, so the posterior's covariance is too
        W = np.linalg.qr(W)[0] * np.array([2.0, 0.7])
    mu, sigma2 = rng.standard_normal(dimensions), 0.3
    x = rng.standard_normal((400, latent)) @ W.T + mu + math.sqrt(sigma2) * \
        rng.standard_normal((400, dimensions))
    return rng, W, mu, sigma2, x


def test_gaussian_kl_is_the_closed_form_and_zero_at_the_prior():
    rng = np.random.default_rng(0)
    mean, log_var = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    got = vae.gaussian_kl(minigan.tensor(mean, dtype="float64"),
                          minigan.tensor(log_var, dtype="float64")).numpy()
    expected = [sum(math.log(1 / math.sqrt(math.exp(v))) + (math.exp(v) + m * m) / 2 - 0.5
                    for m, v in zip(row_m, row_v)) for row_m, row_v in zip(mean, log_var)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    zero = vae.gaussian_kl(minigan.zeros(2, 4, dtype="float64"), minigan.zeros(2, 4, dtype="float64"))
    assert np.all(zero.numpy() == 0)


def test_ppca_log_likelihood_is_the_gaussian_density():
    _, W, mu, sigma2, x = _model(1)
    expected = scipy.stats.multivariate_normal(mu, W @ W.T + sigma2 * np.eye(len(mu))).logpdf(x)
    np.testing.assert_allclose(vae.ppca_log_likelihood(x, W, mu, sigma2), expected, rtol=1e-10)


def test_elbo_never_exceeds_the_log_likelihood_and_meets_it_at_the_posterior():
    rng, W, mu, sigma2, x = _model(2)
    exact = vae.ppca_log_likelihood(x, W, mu, sigma2)
    for _ in range(50):
        A = rng.standard_normal((2, 2))
        q_mean = rng.standard_normal((len(x), 2)) * rng.uniform(0, 3)
        elbo = vae.linear_gaussian_elbo(x, W, mu, sigma2, q_mean, A @ A.T + 1e-3 * np.eye(2))
        assert np.all(elbo <= exact + 1e-9)
    mean, cov = vae.ppca_posterior(x, W, mu, sigma2)
    at_posterior = vae.linear_gaussian_elbo(x, W, mu, sigma2, mean, cov)
    assert np.max(np.abs(at_posterior - exact)) < 1e-6
    # a little off the posterior, a little below
    off = vae.linear_gaussian_elbo(x, W, mu, sigma2, mean + 0.01, cov)
    assert np.all(off < exact) and np.all(exact - off < 1e-2)


class _Linear(nn.Module):
    """x -> x @ A^T + b with fixed A, b (float64 constants)."""

    def __init__(self, A, b):
        super().__init__()
        self.A, self.b = minigan.tensor(A.T, dtype="float64"), minigan.tensor(b, dtype="float64")

    def forward(self, x):
        return x @ self.A + self.b


def _vae_with_encoder(W, mu, sigma2, A, b, log_var):
    """The VAE class with decoder W z + mu and encoder x -> [A x + b, log_var]."""
    L = W.shape[1]
    encoder = _Linear(np.concatenate([A, np.zeros((L, len(mu)))]),
                      np.concatenate([b, log_var]))
    model = vae.VAE(encoder, _Linear(W, mu), L, scale_shape=(len(mu),))
    model.log_scale.data = backend.asarray(np.full(len(mu), 0.5 * math.log(sigma2)))
    return model


def test_vae_bounds_equal_the_likelihood_with_the_exact_posterior_as_encoder():
    """With q = p(z | x), every importance weight p(x, z) / q(z | x) is p(x): the IWAE bound
    is log p(x) exactly, whatever noise is drawn, and the ELBO (one z, the KL in closed form)
    is log p(x) on average. With a worse encoder the bounds fall below, and IWAE with more
    samples climbs back towards log p(x)."""
    _, W, mu, sigma2, x = _model(3, orthogonal=True)
    M = W.T @ W + sigma2 * np.eye(2)
    assert abs(M[0, 1]) < 1e-12
    A = np.linalg.solve(M, W.T)
    exact = vae.ppca_log_likelihood(x, W, mu, sigma2)
    model = _vae_with_encoder(W, mu, sigma2, A, -A @ mu, np.log(sigma2 / np.diag(M)))
    xt = minigan.tensor(x, dtype="float64")
    minigan.manual_seed(0)
    difference = model.elbo(xt).numpy() - exact
    assert abs(difference.mean()) < 4 * difference.std() / math.sqrt(len(exact))
    np.testing.assert_allclose(model.iwae_bound(xt, k=5), exact, atol=1e-9)
    worse = _vae_with_encoder(W, mu, sigma2, 0.5 * A, -0.5 * A @ mu, np.zeros(2))
    bounds = [worse.iwae_bound(xt, k=k).mean() for k in (1, 8, 128)]
    assert bounds[0] < bounds[1] < bounds[2] < exact.mean()
    assert exact.mean() - bounds[2] < 0.3 * (exact.mean() - bounds[0])


def test_reparameterisation_gradient_matches_the_closed_form():
    """d/dm E[z^2] = 2 m and d/dv E[z^2] = exp(v) for z = m + exp(v / 2) eps: the
    reparameterised gradient of the Monte Carlo average has these expectations."""
    mean = minigan.tensor(np.array([0.7]), dtype="float64", requires_grad=True)
    log_var = minigan.tensor(np.array([-0.4]), dtype="float64", requires_grad=True)
    minigan.manual_seed(1)
    noise = minigan.randn(200000, 1, dtype="float64")
    (vae.reparameterize(mean, log_var, noise) ** 2).mean().backward()
    assert abs(mean.grad.item() - 1.4) < 0.02
    assert abs(log_var.grad.item() - math.exp(-0.4)) < 0.02


def test_schedule_products_and_the_marginal():
    betas = diffusion.scaled_linear_schedule(100)
    assert betas[0] == pytest.approx(1e-3) and betas[-1] == pytest.approx(0.2)
    abar = diffusion.alpha_bars(betas)
    np.testing.assert_allclose(abar, np.cumprod(1 - betas))
    assert abar[-1] < 1e-4
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="linear_schedule"):
            diffusion.linear_schedule(bad)
    model = diffusion.DDPM(lambda x, t: x, betas)
    x0 = minigan.randn(6, 1, 4, 4)
    noise = minigan.randn(6, 1, 4, 4)
    t = backend.asarray(np.array([0, 1, 10, 50, 98, 99]))
    got = model.q_sample(x0, t, noise).numpy()
    expected = (np.sqrt(abar[[0, 1, 10, 50, 98, 99]])[:, None, None, None] * x0.numpy()
                + np.sqrt(1 - abar[[0, 1, 10, 50, 98, 99]])[:, None, None, None] * noise.numpy())
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


class _OptimalGaussianDenoiser(nn.Module):
    """The exact eps* for data N(0, s^2) in 1-D: x_t ~ N(0, v_t), v_t = abar s^2 + 1 - abar,
    and E[eps | x_t] = sqrt(1 - abar) x_t / v_t."""

    def __init__(self, betas, s):
        super().__init__()
        abar = diffusion.alpha_bars(betas)
        self.factor = backend.asarray(np.sqrt(1 - abar) / (abar * s * s + 1 - abar))

    def forward(self, x, t):
        return x * minigan.Tensor(self.factor[t].reshape(-1, 1).astype(x.dtype))


def _exact_reverse_variances(betas, s):
    """Var(x_{t-1} | x_t) for data N(0, s^2): v_{t-1} - alpha_t v_{t-1}^2 / v_t, with
    v_t = abar_t s^2 + 1 - abar_t (v_0 = s^2)."""
    abar = np.concatenate([[1.0], diffusion.alpha_bars(betas)])
    v = abar * s * s + 1 - abar
    return v[:-1] - (1 - betas) * v[:-1] ** 2 / v[1:]


def _gaussian_data_bound(betas, s, reverse_variances=None, n=4000, seed=2):
    model = diffusion.DDPM(_OptimalGaussianDenoiser(betas, s), betas,
                           reverse_variances=reverse_variances)
    minigan.manual_seed(seed)
    x = minigan.randn(n, 1, dtype="float64") * s
    bound = model.variational_bound(x)
    nll = -scipy.stats.norm(0, s).logpdf(x.numpy()[:, 0])
    return bound, nll


def test_the_variational_bound_is_tight_with_the_exact_reverse_process():
    """For Gaussian data the best mean and the exact reverse variances make p(x_{0:T}) the
    forward process's own joint, and the bound is the data's negative log-likelihood: per
    example the difference is only the prior's tiny mismatch plus Monte Carlo noise of mean 0."""
    s, betas = 0.5, diffusion.scaled_linear_schedule(100)
    bound, nll = _gaussian_data_bound(betas, s, _exact_reverse_variances(betas, s))
    difference = bound["total"] - nll
    assert abs(difference.mean()) < 4 * difference.std() / math.sqrt(len(difference)) + 1e-4
    np.testing.assert_allclose(bound["total"], bound["prior"] + bound["diffusion"] +
                               bound["decoder"])


def test_the_variational_bound_with_fixed_variances_is_loose_and_tightens_with_more_steps():
    """With DDPM's fixed variances the bound stays above the data's NLL (it is a bound), by
    a gap that shrinks as T grows (2.0 against 0.73 nats at T = 100, 1.2 at T = 1000)."""
    s = 0.5
    gaps = []
    for steps in (100, 1000):
        bound, nll = _gaussian_data_bound(diffusion.scaled_linear_schedule(steps), s, n=1000)
        gaps.append(bound["total"].mean() - nll.mean())
    assert 0.3 < gaps[1] < gaps[0]


def test_sampling_with_the_exact_reverse_process_gives_the_data_distribution():
    s, betas = 0.5, diffusion.scaled_linear_schedule(100)
    model = diffusion.DDPM(_OptimalGaussianDenoiser(betas, s), betas,
                           reverse_variances=_exact_reverse_variances(betas, s))
    minigan.manual_seed(3)
    samples = backend.to_numpy(model.sample((20000, 1), dtype="float64"))
    assert abs(samples.std() - s) < 4 * s / math.sqrt(2 * 20000)
    assert abs(samples.mean()) < 4 * s / math.sqrt(20000)


def test_mixture_score_is_the_gradient_of_the_log_density():
    rng = np.random.default_rng(4)
    centres, std = rng.standard_normal((5, 2)), 0.2
    x, abar = rng.standard_normal((30, 2)), rng.uniform(0.05, 0.95, 30)

    def log_density(points):
        variance = abar[:, None] * std ** 2 + 1 - abar[:, None]
        squared = ((points[:, None, :] - np.sqrt(abar)[:, None, None] * centres[None]) ** 2).sum(2)
        return scipy.special.logsumexp(-squared / (2 * variance), axis=1) - np.log(variance[:, 0])

    h, numeric = 1e-6, np.zeros_like(x)
    for j in range(2):
        step = np.zeros(2)
        step[j] = h
        numeric[:, j] = (log_density(x + step) - log_density(x - step)) / (2 * h)
    np.testing.assert_allclose(diffusion.mixture_score(x, centres, std, abar), numeric,
                               rtol=1e-5, atol=1e-6)


def test_group_norm_and_silu_have_first_and_second_order_gradients():
    rng = np.random.default_rng(5)
    x = minigan.tensor(rng.standard_normal((2, 3, 2, 2)), dtype="float64", requires_grad=True)
    norm = unet.GroupNorm1(3)
    norm.weight.data = backend.asarray(rng.standard_normal(3))
    norm.bias.data = backend.asarray(rng.standard_normal(3))
    assert minigan.gradcheck(lambda v: norm(v) ** 2, [x])
    assert minigan.gradgradcheck(lambda v: norm(v) ** 2, [x])
    assert minigan.gradcheck(unet.silu, [x])
    assert minigan.gradgradcheck(unet.silu, [x])
    y = norm(x).numpy()
    standardised = (y - norm.bias.numpy()[None, :, None, None]) / norm.weight.numpy()[None, :, None, None]
    np.testing.assert_allclose(standardised.reshape(2, -1).mean(axis=1), 0, atol=1e-12)


def test_small_unet_shapes_and_its_errors():
    minigan.manual_seed(6)
    net = unet.SmallUNet(width=4, steps=10, embedding_dim=8)
    x = minigan.randn(3, 1, 28, 28)
    t = backend.asarray(np.array([0, 4, 9]))
    out = net(x, t)
    assert out.shape == (3, 1, 28, 28)
    other = net(x, backend.asarray(np.array([1, 5, 2]))).numpy()
    assert not np.allclose(out.numpy(), other), "the step t must change the prediction"
    with pytest.raises(ValueError, match="SmallUNet"):
        net(x, backend.asarray(np.array([0, 1])))


def test_dequantisation_and_bits_per_dimension():
    levels = np.arange(256, dtype=np.float32)
    images = (levels / 255 * 2 - 1).reshape(1, 1, 16, 16)
    for u in (0.0, 0.999):
        values = vae.dequantize(images, np.full(images.shape, u, dtype=np.float32))
        np.testing.assert_allclose(values, ((levels + u) / 128 - 1).reshape(images.shape),
                                   atol=1e-6)
    # the uniform density 1/2 on [-1, 1)^D: 8 bits per dimension, all 256 levels equally likely
    assert vae.bits_per_dimension(784 * math.log(2), 784) == pytest.approx(8.0)
