"""minigan's answers to chapter 14's exercises. The library does the same in
minigan.gan.dynamics (jacobian, update_matrix, spectral_radius, regularised_eigenvalues) and
minigan.optim.ExtraSGD; the chapter's rank correlations come from scipy.stats.spearmanr."""
import numpy as np


def dirac_jacobian(theta, psi, f_prime, f_second):
    t = psi * theta
    fp, fpp = f_prime(t), f_second(t)
    # v = (-psi f'(psi theta), theta f'(psi theta)); the product rule gives each entry two terms
    return np.array([[-psi * psi * fpp, -fp - psi * theta * fpp],
                     [fp + theta * psi * fpp, theta * theta * fpp]], dtype=np.float64)


def simultaneous_spectral_radius(jacobian, lr):
    update = np.eye(len(jacobian)) + lr * np.asarray(jacobian, dtype=np.float64)
    return float(np.max(np.abs(np.linalg.eigvals(update))))


def extragradient_step(w, field, lr):
    w = np.asarray(w, dtype=np.float64)
    half = w + lr * field(w)
    return w + lr * field(half)


def regularised_eigenvalues(f_prime, gamma):
    root = np.sqrt(complex(gamma ** 2 / 4 - f_prime ** 2))
    return np.array([-gamma / 2 + root, -gamma / 2 - root], dtype=np.complex128)


def spearman(x, y):
    def ranks(values):
        values = np.asarray(values, dtype=np.float64)
        order = np.argsort(values, kind="stable")
        ranked = np.empty(len(values))
        ranked[order] = np.arange(1, len(values) + 1)
        # tied values share the mean of the ranks they occupy
        for value in np.unique(values):
            tied = values == value
            ranked[tied] = ranked[tied].mean()
        return ranked
    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float(np.sum(rx * ry) / np.sqrt(np.sum(rx * rx) * np.sum(ry * ry)))
