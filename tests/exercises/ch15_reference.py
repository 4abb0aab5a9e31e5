"""minigan's answers to chapter 15's exercises. The library does the same on Tensors:
minigan.gan.theory.smoothed_optimal_discriminator, minigan.gan.improved.minibatch_stddev
(for features (..., N, F)), feature_matching_loss and HistoricalAverage."""
import numpy as np


def smoothed_optimal_discriminator(p_data, p_g, real_label, fake_label):
    p, q = np.asarray(p_data, dtype=np.float64), np.asarray(p_g, dtype=np.float64)
    total = p + q
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, (real_label * p + fake_label * q) / safe,
                    0.5 * (real_label + fake_label))


def minibatch_stddev(x, eps=1e-8):
    s = np.sqrt(x.var(axis=0) + eps).mean()
    extra = np.full((x.shape[0], 1) + x.shape[2:], s, dtype=x.dtype)
    return np.concatenate([x, extra], axis=1)


def feature_matching_loss(real_features, fake_features):
    difference = real_features.mean(axis=0) - fake_features.mean(axis=0)
    return float(difference @ difference)


def historical_averages(parameters):
    means, penalties, total = [], [], None
    for t, theta in enumerate(parameters, start=1):
        total = theta.astype(np.float64) if total is None else total + theta
        means.append(total / t)
        penalties.append(float(np.sum((theta - means[-1]) ** 2)))
    return means, penalties
