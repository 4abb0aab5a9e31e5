"""minigan's answers to chapter 13's exercises."""
import numpy as np


def truncate(w, w_avg, psi):
    w, w_avg = np.asarray(w, dtype=float), np.asarray(w_avg, dtype=float)
    return w_avg[None, :] + psi * (w - w_avg[None, :])


def mixed_styles(w1, w2, crossover, num_layers):
    return np.stack([w1 if layer < crossover else w2 for layer in range(num_layers)])


def r1_quadratic(x, A, b, gamma):
    x, A, b = np.asarray(x, dtype=float), np.asarray(A, dtype=float), np.asarray(b, dtype=float)
    gradient = b[None, :] + x @ ((A + A.T) / 2).T     # grad of x^T A x / 2 is (A + A^T) x / 2
    return float(gamma / 2 * np.mean(np.sum(gradient ** 2, axis=1)))
