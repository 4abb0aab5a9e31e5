"""The variational autoencoder (Kingma & Welling 2014) and the linear-Gaussian model it is
checked against (probabilistic PCA, Tipping & Bishop 1999).

**The model.** z ~ N(0, I) in R^L, x | z ~ N(g(z), diag(sigma^2)): a decoder g and a learned
noise scale sigma (one per dimension of x, ``log_scale`` = log sigma). Its likelihood
p(x) = integral p(x | z) p(z) dz has no closed form once g is a network.

**The bound.** An encoder gives q(z | x) = N(m(x), diag(exp(v(x)))) (v the log-variance).
For any q,

    log p(x) >= ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p(z)),
    log p(x) - ELBO(x) = KL(q(z | x) || p(z | x)) >= 0,

so the ELBO equals log p(x) exactly when q is the true posterior. The KL to the prior is
in closed form, KL = 0.5 sum_j (exp(v_j) + m_j^2 - 1 - v_j); the first term is estimated
with z = m + exp(v / 2) eps, eps ~ N(0, I) (the reparameterisation: z is a differentiable
function of the encoder's outputs, so the gradient flows into the encoder).

**The importance-weighted bound** (IWAE, Burda et al. 2016) averages k weights inside the log,

    log p(x) >= L_k = E log (1/k) sum_i p(x, z_i) / q(z_i | x),   z_i ~ q(z | x),

with L_1 = ELBO <= L_k <= L_{k+1} -> log p(x) as k grows.

**The linear-Gaussian check.** With g(z) = W z + mu and one sigma^2, the model is
probabilistic PCA: x ~ N(mu, W W^T + sigma^2 I) exactly, and the posterior is Gaussian,
p(z | x) = N(M^-1 W^T (x - mu), sigma^2 M^-1) with M = W^T W + sigma^2 I. Then the ELBO of any
Gaussian q has a closed form (``linear_gaussian_elbo``), never above ``ppca_log_likelihood``
and equal to it at q = the posterior (``ppca_posterior``).
"""
import math

import numpy

from minigan import backend, nn
from minigan.autograd import Tensor, no_grad
from minigan.creation import randn, zeros
from minigan.nn.module import Parameter
from minigan.ops import exp, sum as total

LOG_TWO_PI = math.log(2 * math.pi)


def gaussian_kl(mean, log_var):
    """KL(N(mean, diag(exp(log_var))) || N(0, I)) summed over the last axis (nats):
    0.5 sum_j (exp(log_var_j) + mean_j^2 - 1 - log_var_j). Tensors (..., L) -> (...)."""
    return 0.5 * total(exp(log_var) + mean ** 2 - 1 - log_var, axis=-1)


def reparameterize(mean, log_var, noise=None):
    """z = mean + exp(log_var / 2) noise, noise ~ N(0, I) (drawn here if not given)."""
    noise = randn(*mean.shape, dtype=mean.dtype) if noise is None else noise
    return mean + exp(0.5 * log_var) * noise


def gaussian_log_density(x, mean, log_scale, axes):
    """log N(x; mean, diag(exp(log_scale)^2)) summed over ``axes`` (Tensors): sum of
    -0.5 log 2 pi - log_scale - (x - mean)^2 / (2 exp(2 log_scale))."""
    return total(-0.5 * LOG_TWO_PI - log_scale
                 - (x - mean) ** 2 * exp(-2 * log_scale) * 0.5, axis=axes)


class VAE(nn.Module):
    """An encoder (x -> 2L numbers: the mean and log-variance of q(z | x)), a decoder
    (z -> the mean of p(x | z)) and a learned log sigma of shape ``scale_shape`` (which
    broadcasts against x: (1, 28, 28) for images, (S, 1, 2) for S stacked toy models).

    ``batch_ndim`` leading axes of x index examples; the rest is the event. Latents are
    (*batch, L).

    >>> vae = VAE(encoder, decoder, latent_dim=16, scale_shape=(1, 28, 28))
    >>> loss = -vae.elbo(images).mean()       # train on the negative ELBO
    """

    def __init__(self, encoder, decoder, latent_dim, scale_shape, batch_ndim=1,
                 initial_log_scale=0.0):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim, self.batch_ndim = latent_dim, batch_ndim
        self.log_scale = Parameter(zeros(*scale_shape) + initial_log_scale)

    def _event_axes(self, x):
        return tuple(range(self.batch_ndim, x.ndim))

    def encode(self, x):
        """(mean, log_var) of q(z | x), each (*batch, L)."""
        h = self.encoder(x)
        if h.shape[-1] != 2 * self.latent_dim:
            raise ValueError(f"VAE: the encoder must give 2 * latent_dim = {2 * self.latent_dim} "
                             f"numbers per example, gave shape {h.shape}")
        return h[..., :self.latent_dim], h[..., self.latent_dim:]

    def decode(self, z):
        """The mean of p(x | z)."""
        return self.decoder(z)

    def elbo(self, x):
        """The ELBO of each example (*batch,) in nats, with one reparameterised z each."""
        mean, log_var = self.encode(x)
        z = reparameterize(mean, log_var)
        reconstruction = gaussian_log_density(x, self.decode(z), self.log_scale,
                                              self._event_axes(x))
        return reconstruction - gaussian_kl(mean, log_var)

    def iwae_bound(self, x, k=64):
        """The importance-weighted bound L_k of each example, a host float64 array (*batch,)
        in nats (no graph). k = 1 is a one-sample ELBO."""
        xp = backend.get_array_module()
        x = x if isinstance(x, Tensor) else Tensor(backend.asarray(x))
        with no_grad():
            mean, log_var = self.encode(x)
            terms = []
            for _ in range(k):
                noise = randn(*mean.shape, dtype=mean.dtype)
                z = mean + exp(0.5 * log_var) * noise
                log_joint = (gaussian_log_density(x, self.decode(z), self.log_scale,
                                                  self._event_axes(x))
                             + total(-0.5 * LOG_TWO_PI - 0.5 * z ** 2, axis=-1))
                log_q = total(-0.5 * LOG_TWO_PI - 0.5 * log_var - 0.5 * noise ** 2, axis=-1)
                terms.append((log_joint - log_q).data.astype(xp.float64))
            weights = xp.stack(terms)
            top = weights.max(axis=0)
            bound = top + xp.log(xp.exp(weights - top).mean(axis=0))
        return backend.to_numpy(bound)

    def sample(self, shape):
        """Decoder means g(z) for z ~ N(0, I), ``shape`` the batch shape: a device array.
        (The images a VAE is shown by; adding the Gaussian noise sigma would give the model's
        actual samples, which look like the means plus static.)"""
        with no_grad():
            return self.decode(randn(*tuple(shape), self.latent_dim,
                                     dtype=self.log_scale.dtype)).data


def conv_vae28(latent_dim=16, width=32):
    """The image VAE: encoder Conv(1, w, 4, 2, 1) -> Conv(w, 2w, 4, 2, 1) -> Linear(2w 7 7, 2L),
    LeakyReLU(0.2) between; decoder Linear(L, 2w 7 7) -> ConvT(2w, w, 4, 2, 1) ->
    ConvT(w, 1, 4, 2, 1) + Tanh, ReLU between (the mirror of the DCGAN pair of chapter 06)."""
    encoder = nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, 2 * latent_dim))
    decoder = nn.Sequential(
        nn.Linear(latent_dim, 2 * width * 7 * 7), nn.ReLU(), nn.Unflatten(1, (2 * width, 7, 7)),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(),
        nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())
    # a small starting sigma would make the first reconstructions' errors enormous
    return VAE(encoder, decoder, latent_dim, scale_shape=(1, 28, 28), initial_log_scale=-1.0)


def toy_vae(copies, latent_dim=2, hidden=128, layers=2, generators=None):
    """S stacked VAEs for 2-D points (x (S, N, 2)), MLP encoder and decoder."""
    from minigan.gan.stacked import stacked_mlp
    sizes = (hidden,) * layers
    encoder = stacked_mlp(copies, (2,) + sizes + (2 * latent_dim,), generators=generators)
    decoder = stacked_mlp(copies, (latent_dim,) + sizes + (2,), generators=generators)
    return VAE(encoder, decoder, latent_dim, scale_shape=(copies, 1, 2), batch_ndim=2,
               initial_log_scale=-1.0)


# --- the linear-Gaussian model (probabilistic PCA), in closed form, float64 ---------------------
def _ppca_arrays(function, x, W, mu, sigma2):
    x, W, mu = (numpy.asarray(a, dtype=numpy.float64) for a in (x, W, mu))
    if W.ndim != 2 or x.ndim != 2 or x.shape[1] != W.shape[0] or mu.shape != (W.shape[0],):
        raise ValueError(f"{function}: expected x (N, D), W (D, L) and mu (D,), got shapes "
                         f"{x.shape}, {W.shape} and {mu.shape}")
    if not (numpy.isfinite(sigma2) and sigma2 > 0):
        raise ValueError(f"{function}: sigma2 must be a finite number > 0, got {sigma2!r}")
    return x, W, mu, float(sigma2)


def ppca_log_likelihood(x, W, mu, sigma2):
    """log N(x; mu, C), C = W W^T + sigma2 I, of each row of x (N, D): float64 (N,)."""
    x, W, mu, sigma2 = _ppca_arrays("ppca_log_likelihood", x, W, mu, sigma2)
    covariance = W @ W.T + sigma2 * numpy.eye(len(mu))
    _, log_det = numpy.linalg.slogdet(covariance)
    centred = x - mu
    mahalanobis = numpy.einsum("nd,nd->n", centred, numpy.linalg.solve(covariance, centred.T).T)
    return -0.5 * (len(mu) * LOG_TWO_PI + log_det + mahalanobis)


def ppca_posterior(x, W, mu, sigma2):
    """The exact posterior p(z | x) = N(M^-1 W^T (x - mu), sigma2 M^-1), M = W^T W + sigma2 I:
    (means (N, L), covariance (L, L), the same for every x)."""
    x, W, mu, sigma2 = _ppca_arrays("ppca_posterior", x, W, mu, sigma2)
    M = W.T @ W + sigma2 * numpy.eye(W.shape[1])
    return numpy.linalg.solve(M, W.T @ (x - mu).T).T, sigma2 * numpy.linalg.inv(M)


def linear_gaussian_elbo(x, W, mu, sigma2, q_mean, q_covariance):
    """The ELBO of each row of x (N, D) under the linear-Gaussian model, for Gaussian
    q(z | x) = N(q_mean (N, L), q_covariance (L, L) or (N, L, L)), in closed form (nats):

        E_q log p(x | z) = -D/2 log(2 pi sigma2) - (||x - W m - mu||^2 + tr(W S W^T)) / (2 sigma2)
        KL(q || N(0, I)) = 0.5 (tr S + m^T m - L - log det S)
    """
    x, W, mu, sigma2 = _ppca_arrays("linear_gaussian_elbo", x, W, mu, sigma2)
    m = numpy.asarray(q_mean, dtype=numpy.float64)
    S = numpy.asarray(q_covariance, dtype=numpy.float64)
    if S.ndim == 2:
        S = numpy.broadcast_to(S, (len(x),) + S.shape)
    D, L = W.shape
    residual = x - m @ W.T - mu
    trace_wsw = numpy.einsum("dl,nlk,dk->n", W, S, W)
    expected_log_likelihood = (-0.5 * D * math.log(2 * math.pi * sigma2)
                               - ((residual ** 2).sum(axis=1) + trace_wsw) / (2 * sigma2))
    _, log_det = numpy.linalg.slogdet(S)
    kl = 0.5 * (numpy.trace(S, axis1=1, axis2=2) + (m ** 2).sum(axis=1) - L - log_det)
    return expected_log_likelihood - kl


def dequantize(images, noise):
    """Grey images on minigan's [-1, 1] scale (k / 255 mapped to [-1, 1], k = 0..255) turned
    into continuous values: (k + u) / 128 - 1 with u = ``noise`` ~ U[0, 1) of the same shape.
    A density p on these values gives a bound on the discrete data's bits per dimension,
    -log2 P(k) <= -log2 p(x) / D + log2(128) (``bits_per_dimension``)."""
    xp = backend.array_module(images)
    levels = xp.rint((images + 1) * 127.5)
    return ((levels + noise) / 128.0 - 1).astype(images.dtype)


def bits_per_dimension(negative_log_likelihood, dimensions):
    """nats of a density of dequantised values on [-1, 1) -> bits per dimension of the
    256-level data: nll / (D ln 2) + log2(128) (the change of scale from [0, 256) to [-1, 1))."""
    return numpy.asarray(negative_log_likelihood) / (dimensions * math.log(2)) + 7.0
