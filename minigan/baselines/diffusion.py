"""A denoising diffusion model (DDPM, Ho, Jain & Abbeel 2020) with epsilon-prediction.

**The forward process** adds Gaussian noise in T small steps, x_t = sqrt(1 - beta_t) x_{t-1}
+ sqrt(beta_t) noise, with a fixed schedule beta_1..beta_T. With alpha_t = 1 - beta_t and
abar_t = alpha_1 alpha_2 ... alpha_t (a *product*), any step is reached from x_0 in one draw:

    q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),   x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps.

**The reverse process** is learned: a network eps_theta(x_t, t) predicts the noise eps that
made x_t, trained on the simple loss E_{t, x_0, eps} ||eps - eps_theta(x_t, t)||^2, and

    p(x_{t-1} | x_t) = N(mu_theta(x_t, t), sigma_t^2 I),
    mu_theta(x_t, t) = (x_t - beta_t / sqrt(1 - abar_t) eps_theta(x_t, t)) / sqrt(alpha_t).

**Sampling** starts from x_T ~ N(0, I) and takes T such steps: T network evaluations per
sample, which is what makes diffusion slow to sample.

**The variational bound** on -log p(x_0) (in nats) is a sum of T + 1 terms,

    L_T     = KL(q(x_T | x_0) || N(0, I))                       (closed form, no network)
    L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))      t = 2..T, one x_t drawn each
    L_0     = -log N(x_0; mu_theta(x_1, 1), sigma_1^2 I)          a continuous decoder

with the posterior q(x_{t-1} | x_t, x_0) = N(mu~_t, beta~_t I), mu~_t = (sqrt(abar_{t-1})
beta_t x_0 + sqrt(alpha_t) (1 - abar_{t-1}) x_t) / (1 - abar_t), beta~_t = (1 - abar_{t-1}) /
(1 - abar_t) beta_t. By default sigma_t^2 = beta~_t for t >= 2, so each L_{t-1} is
||mu~_t - mu_theta||^2 / (2 beta~_t) summed over the dimensions, and sigma_1^2 = beta_1;
other variances give the Gaussian KL 0.5 (log(sigma_t^2 / beta~_t) + (beta~_t + ||mu~_t -
mu_theta||^2 / d) / sigma_t^2 - 1) per dimension. With fixed variances the bound is loose
even for the best mean (the gap shrinks as T grows); with the exact reverse variances of
the data it is tight.

The noise network's interface is ``net(x_t, t)``: x_t (*batch, *event), t an integer array
of the batch shape (the step, 0-based: index t holds beta_{t+1}), returning the predicted
noise with x_t's shape.
"""
import math

import numpy

from minigan import backend, nn
from minigan.autograd import Tensor, no_grad
from minigan.creation import rand, randn


def linear_schedule(steps, beta_start=1e-4, beta_end=0.02):
    """beta_1..beta_T rising linearly (Ho et al.: 1e-4 to 0.02 over T = 1000), a float64 host
    array (T,). For a shorter T, scale both ends by 1000 / T (as ``scaled_linear_schedule``
    does) so that abar_T stays near 0 and the chain still ends in pure noise."""
    if isinstance(steps, bool) or not isinstance(steps, (int, numpy.integer)) or steps < 1:
        raise ValueError(f"linear_schedule: steps must be an int >= 1, got {steps!r}")
    if not 0 < beta_start <= beta_end < 1:
        raise ValueError(f"linear_schedule: need 0 < beta_start <= beta_end < 1, got "
                         f"{beta_start!r}, {beta_end!r}")
    return numpy.linspace(beta_start, beta_end, steps, dtype=numpy.float64)


def scaled_linear_schedule(steps):
    """Ho et al.'s linear schedule stretched to ``steps`` steps: beta from 0.1 / steps to
    20 / steps (1e-4 to 0.02 at T = 1000), so that sum(beta) = 10.05 whatever T, and abar_T
    stays near exp(-10.05): 4.0e-5 at T = 1000, 2.0e-5 at T = 100 (beta from 1e-3 to 0.2;
    the larger steps take a little more off)."""
    return linear_schedule(steps, 0.1 / steps, min(20.0 / steps, 0.999))


def alpha_bars(betas):
    """abar_t = prod_{s <= t} (1 - beta_s), float64 (T,): a product, never a sum."""
    return numpy.cumprod(1.0 - numpy.asarray(betas, dtype=numpy.float64))


def marginal_mean_and_variance(x0, t, betas):
    """The closed form of q(x_t | x_0) (t 0-based, index t = step t + 1): its mean
    sqrt(abar_t) x_0 and its variance 1 - abar_t (the same for every coordinate)."""
    abar = alpha_bars(betas)[t]
    return math.sqrt(abar) * numpy.asarray(x0, dtype=numpy.float64), 1.0 - abar


def gaussian_kl_to_standard(mean, variance):
    """KL(N(mean, variance I) || N(0, I)) per coordinate, in nats:
    0.5 (variance + mean^2 - 1 - log variance) (host or device arrays)."""
    xp = backend.array_module(mean)
    return 0.5 * (variance + mean ** 2 - 1.0 - xp.log(variance))


class DDPM(nn.Module):
    """A noise network ``net(x_t, t)`` and the schedule ``betas`` (T,), as one model.

    ``batch_ndim`` is how many leading axes of x index examples (1 for images (N, C, H, W),
    2 for stacked toy models (S, N, 2)); the rest is the event whose density the bound
    measures. ``reverse_variances`` (T,) are sigma_t^2 of p(x_{t-1} | x_t) (default beta~_t,
    and beta_1 at the first step).

    >>> model = DDPM(SmallUNet(steps=100), scaled_linear_schedule(100))
    >>> loss = model.loss(images)            # the simple loss, a scalar Tensor
    >>> samples = model.sample((16, 1, 28, 28))
    """

    def __init__(self, net, betas, batch_ndim=1, reverse_variances=None):
        super().__init__()
        self.net = net
        betas = numpy.asarray(betas, dtype=numpy.float64)
        if betas.ndim != 1 or not ((betas > 0) & (betas < 1)).all():
            raise ValueError(f"DDPM: betas must be a 1-D array in (0, 1), got shape {betas.shape}")
        self.steps, self.batch_ndim = len(betas), batch_ndim
        abar = alpha_bars(betas)
        abar_before = numpy.concatenate([[1.0], abar[:-1]])
        # float64 on the host for the bound's closed forms; float32 on the device for training
        posterior_variance = (1 - abar_before) / (1 - abar) * betas
        if reverse_variances is None:
            reverse_variances = numpy.concatenate([betas[:1], posterior_variance[1:]])
        reverse_variances = numpy.asarray(reverse_variances, dtype=numpy.float64)
        if reverse_variances.shape != betas.shape or not (reverse_variances > 0).all():
            raise ValueError(f"DDPM: reverse_variances must be {betas.shape} and > 0, got "
                             f"shape {reverse_variances.shape}")
        self.host = {"beta": betas, "alpha": 1 - betas, "abar": abar, "abar_before": abar_before,
                     "posterior_variance": posterior_variance,
                     "reverse_variance": reverse_variances}
        xp = backend.get_array_module()
        self.device = {name: xp.asarray(value, dtype=xp.float32)
                       for name, value in self.host.items()}

    def _coefficient(self, name, t, x):
        """Schedule entry ``name`` at steps t, shaped to broadcast against x, as a constant."""
        values = self.device[name][t].astype(x.dtype, copy=False)
        return Tensor(values.reshape(values.shape + (1,) * (x.ndim - values.ndim)))

    def random_steps(self, batch_shape):
        """Steps t drawn uniformly from 0..T-1 (minigan's generator), an int array."""
        xp = backend.get_array_module()
        u = rand(*batch_shape).data
        return xp.minimum((u * self.steps).astype(xp.int64), self.steps - 1)

    def q_sample(self, x0, t, noise):
        """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise (q(x_t | x_0) in one draw)."""
        abar = self._coefficient("abar", t, x0)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    def loss(self, x0):
        """Ho et al.'s simple loss: the mean of (eps - eps_theta(x_t, t))^2 over t, eps, pixels."""
        t = self.random_steps(x0.shape[:self.batch_ndim])
        noise = randn(*x0.shape, dtype=x0.dtype)
        return ((self.net(self.q_sample(x0, t, noise), t) - noise) ** 2).mean()

    def predicted_mean(self, x_t, t):
        """mu_theta(x_t, t) = (x_t - beta_t / sqrt(1 - abar_t) eps_theta(x_t, t)) / sqrt(alpha_t)."""
        beta, abar, alpha = (self._coefficient(n, t, x_t) for n in ("beta", "abar", "alpha"))
        return (x_t - beta / (1 - abar).sqrt() * self.net(x_t, t)) / alpha.sqrt()

    def sample(self, shape, clip=None, dtype="float32"):
        """Draw samples of ``shape`` by the T steps of the reverse process (no graph); the
        last step adds no noise (its mean is the sample, as in Ho et al.). ``clip`` = (low,
        high) clips the result (images to [-1, 1]). Returns a device array of ``dtype``."""
        xp = backend.get_array_module()
        batch_shape = tuple(shape[:self.batch_ndim])
        with no_grad():
            x = randn(*shape, dtype=dtype)
            for step in reversed(range(self.steps)):
                t = xp.full(batch_shape, step, dtype=xp.int64)
                mean = self.predicted_mean(x, t)
                if step > 0:
                    sigma = math.sqrt(self.host["reverse_variance"][step])
                    x = mean + sigma * randn(*shape, dtype=dtype)
                else:
                    x = mean
        out = x.data
        return out if clip is None else xp.clip(out, *clip)

    def variational_bound(self, x0):
        """The terms of the bound on -log p(x_0) for each example, in nats: a dict of host
        float64 arrays of the batch shape, {"prior": L_T, "diffusion": sum_{t>=2} L_{t-1},
        "decoder": L_0, "total": their sum}. One x_t is drawn for each t (a Monte Carlo
        estimate of each term, unbiased); T network evaluations."""
        xp = backend.get_array_module()
        x0 = x0 if isinstance(x0, Tensor) else Tensor(backend.asarray(x0))
        batch_shape = x0.shape[:self.batch_ndim]
        event_axes = tuple(range(self.batch_ndim, x0.ndim))
        x = x0.data.astype(xp.float64)
        dimensions = math.prod(x0.shape[self.batch_ndim:])
        h = self.host
        prior = gaussian_kl_to_standard(math.sqrt(h["abar"][-1]) * x, 1 - h["abar"][-1])
        diffusion = xp.zeros(batch_shape, dtype=xp.float64)
        with no_grad():
            for step in range(self.steps):
                t = xp.full(batch_shape, step, dtype=xp.int64)
                noise = randn(*x0.shape).data
                x_t = math.sqrt(h["abar"][step]) * x + math.sqrt(1 - h["abar"][step]) * noise
                mean = self.predicted_mean(Tensor(x_t.astype(x0.dtype)), t).data.astype(xp.float64)
                if step == 0:
                    variance = h["reverse_variance"][0]
                    decoder = 0.5 * ((x - mean) ** 2 / variance
                                     + math.log(2 * math.pi * variance)).sum(axis=event_axes)
                    continue
                posterior_mean = (math.sqrt(h["abar_before"][step]) * h["beta"][step] * x
                                  + math.sqrt(h["alpha"][step]) * (1 - h["abar_before"][step])
                                  * x_t) / (1 - h["abar"][step])
                target, model = h["posterior_variance"][step], h["reverse_variance"][step]
                diffusion += 0.5 * (((posterior_mean - mean) ** 2).sum(axis=event_axes) / model
                                    + dimensions * (math.log(model / target) + target / model - 1))
        terms = {"prior": prior.sum(axis=event_axes), "diffusion": diffusion, "decoder": decoder}
        terms = {k: backend.to_numpy(v) for k, v in terms.items()}
        terms["total"] = terms["prior"] + terms["diffusion"] + terms["decoder"]
        return terms


def time_features(t, steps, count=8):
    """Fixed sinusoidal features of the step t (Vaswani et al.'s positions): sin and cos of
    t / steps at ``count`` frequencies 2^0..2^(count-1) times pi, shape t.shape + (2 count,),
    a float32 constant (the network learns what to do with them)."""
    xp = backend.array_module(t)
    frequencies = math.pi * 2.0 ** xp.arange(count, dtype=xp.float32)
    angles = (t.astype(xp.float32)[..., None] + 0.5) / steps * frequencies
    return Tensor(xp.concatenate([xp.sin(angles), xp.cos(angles)], axis=-1))


def mixture_score(x, centres, std, abar):
    """The exact score grad_x log q_t(x) of an equal-weight Gaussian mixture (centres (K, d),
    each N(c_k, std^2 I)) after the forward process to abar: the noised mixture is
    sum_k N(sqrt(abar) c_k, v I) / K with v = abar std^2 + 1 - abar, and

        grad log q_t(x) = sum_k r_k(x) (sqrt(abar) c_k - x) / v,

    r_k(x) the posterior weight of component k (a softmax of -||x - sqrt(abar) c_k||^2 / 2v).
    x (N, d) and abar (N,) host float64; returns (N, d). The optimal noise prediction is
    eps*(x) = -sqrt(1 - abar) grad log q_t(x)."""
    x = numpy.asarray(x, dtype=numpy.float64)
    abar = numpy.asarray(abar, dtype=numpy.float64)[:, None]
    means = numpy.sqrt(abar)[:, :, None] * numpy.asarray(centres, dtype=numpy.float64)[None]
    variance = abar * std ** 2 + 1 - abar                            # (N, 1)
    offsets = means - x[:, None, :]                                   # (N, K, d)
    logits = -(offsets ** 2).sum(axis=2) / (2 * variance)             # (N, K)
    weights = numpy.exp(logits - logits.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return (weights[:, :, None] * offsets).sum(axis=1) / variance
