"""minigan's answers to chapter 16's exercises. The library does the same on Tensors:
minigan.baselines.vae.gaussian_kl and reparameterize (whose gradient autograd takes),
minigan.baselines.diffusion.marginal_mean_and_variance and mixture_score."""
import numpy as np


def gaussian_kl(mean, log_var):
    return 0.5 * np.sum(np.exp(log_var) + mean ** 2 - 1.0 - log_var, axis=-1)


def forward_marginal(x0, t, betas):
    abar = np.prod(1.0 - np.asarray(betas, dtype=np.float64)[:t])
    return np.sqrt(abar) * x0, 1.0 - abar


def reparameterize_backward(mean, log_var, noise, grad_z):
    # z = mean + exp(log_var / 2) noise: dz/dmean = 1, dz/dlog_var = exp(log_var / 2) noise / 2
    return grad_z.copy(), grad_z * 0.5 * np.exp(0.5 * log_var) * noise


def mixture_score(x, centres, std, abar):
    means = np.sqrt(abar) * centres                       # (K, d): the noised components
    variance = abar * std ** 2 + 1.0 - abar
    offsets = means[None, :, :] - x[:, None, :]           # (N, K, d)
    logits = -np.sum(offsets ** 2, axis=2) / (2 * variance)
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkd->nd", weights, offsets) / variance
