"""minigan's answers to chapter 12's exercises."""
import numpy as np


class ImagePool:
    def __init__(self, size, seed=0):
        self.size, self.images = size, []
        self.rng = np.random.default_rng(seed)

    def query(self, images):
        if self.size == 0:
            return np.asarray(images)
        chosen = []
        for image in np.asarray(images):
            if len(self.images) < self.size:
                self.images.append(image.copy())
                chosen.append(image)
            elif self.rng.random() < 0.5:
                i = int(self.rng.integers(self.size))
                chosen.append(self.images[i])
                self.images[i] = image.copy()
            else:
                chosen.append(image)
        return np.stack(chosen)


def cycle_consistency_loss(a, a_back, b, b_back, lam):
    a, a_back, b, b_back = (np.asarray(x, dtype=float) for x in (a, a_back, b, b_back))
    return float(lam * (np.abs(a_back - a).mean() + np.abs(b_back - b).mean()))


def identity_loss(G, F, a, b, lam):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(0.5 * lam * (np.abs(G(b) - b).mean() + np.abs(F(a) - a).mean()))
