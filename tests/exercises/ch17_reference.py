"""minigan's answers to chapter 17's exercises."""
import numpy as np


def pixel_shuffle(x, r):
    x = np.asarray(x)
    n, channels, h, w = x.shape
    c = channels // (r * r)
    blocks = x.reshape(n, c, r, r, h, w).transpose(0, 1, 4, 2, 5, 3)   # (n, c, h, i, w, j)
    return blocks.reshape(n, c, h * r, w * r)


def psnr(images, truth, data_range):
    images, truth = np.asarray(images, dtype=float), np.asarray(truth, dtype=float)
    mse = ((images - truth) ** 2).reshape(len(images), -1).mean(axis=1)
    return float(np.mean(10 * np.log10(data_range ** 2 / mse)))


def keys_kernel(s, a):
    s = np.abs(np.asarray(s, dtype=float))
    near = (a + 2) * s ** 3 - (a + 3) * s ** 2 + 1
    far = a * s ** 3 - 5 * a * s ** 2 + 8 * a * s - 4 * a
    return np.where(s <= 1, near, np.where(s < 2, far, 0.0))
