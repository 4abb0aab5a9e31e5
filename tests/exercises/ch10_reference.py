"""minigan's answers to chapter 10's exercises. The library does the same:
minigan.gan.theory.lsgan_optimal_discriminator, minigan.gan.losses.discriminator_loss_hinge
and generator_loss_hinge, and minigan.nn.utils.power_iteration inside SpectralNorm."""
import numpy as np


def lsgan_optimal_discriminator(p_data, p_g, a, b):
    # d/dD [p (D - b)^2 + q (D - a)^2] / 2 = p (D - b) + q (D - a) = 0.
    p, q = np.asarray(p_data, dtype=float), np.asarray(p_g, dtype=float)
    total = p + q
    return np.where(total > 0, (b * p + a * q) / np.where(total > 0, total, 1.0), (a + b) / 2)


def hinge_losses(real_scores, fake_scores):
    real, fake = np.asarray(real_scores, dtype=float), np.asarray(fake_scores, dtype=float)
    loss_d = np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake))
    return float(loss_d), float(-np.mean(fake))


def spectral_norm_estimate(weight, u, steps):
    matrix = np.asarray(weight, dtype=float).reshape(len(weight), -1)
    u = np.array(u, dtype=float)
    for _ in range(steps):
        v = matrix.T @ u
        v /= np.linalg.norm(v)
        u = matrix @ v
        u /= np.linalg.norm(u)
    return float(u @ matrix @ v), u, v
