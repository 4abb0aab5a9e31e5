"""minigan's answers to chapter 09's exercises. The library does the same on Tensors:
the interpolation inside minigan.gan.penalties.gradient_penalty, minigan.optim.clip_weights_,
and minigan.gan.losses.critic_loss_wasserstein (the negated estimate)."""
import numpy as np


def interpolate(real, fake, rng):
    eps = rng.random((real.shape[0],) + (1,) * (real.ndim - 1))
    return eps * real + (1 - eps) * fake


def clip_weights_(arrays, c):
    for array in arrays:
        np.clip(array, -c, c, out=array)


def wasserstein_estimate(critic, real, fake):
    return float(np.mean(critic(real)) - np.mean(critic(fake)))


def kantorovich_rubinstein_1d(x, y):
    x, y = np.sort(np.asarray(x, dtype=np.float64)), np.sort(np.asarray(y, dtype=np.float64))
    t = np.sort(np.concatenate([x, y]))
    # On [t_i, t_{i+1}) both distribution functions are constant; the best slope there is the
    # sign of F_y - F_x, which makes the integral of f' (F_y - F_x) that of |F_y - F_x|.
    cdf_x = np.searchsorted(x, t[:-1], side="right") / len(x)
    cdf_y = np.searchsorted(y, t[:-1], side="right") / len(y)
    values = np.concatenate([[0.0], np.cumsum(np.sign(cdf_y - cdf_x) * np.diff(t))])

    def critic(points):
        return np.interp(points, t, values)     # flat outside [t_0, t_end]: still 1-Lipschitz
    return float(np.mean(critic(x)) - np.mean(critic(y))), critic
