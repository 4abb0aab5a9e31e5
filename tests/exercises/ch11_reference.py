"""minigan's answers to chapter 11's exercises."""
import numpy as np


def sobel_edges(image, threshold):
    image = np.asarray(image, dtype=float)
    padded = np.pad(image, 1)
    sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    h, w = image.shape
    gx, gy = np.zeros((h, w)), np.zeros((h, w))
    for a in range(3):
        for b in range(3):
            window = padded[a:a + h, b:b + w]
            gx += sx[a, b] * window
            gy += sx.T[a, b] * window
    return np.where(np.hypot(gx, gy) > threshold, 1.0, -1.0)


def receptive_field(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


def pix2pix_generator_loss(fake_logits, fake, real, lam):
    gan = np.mean(np.logaddexp(0.0, -np.asarray(fake_logits, dtype=float)))
    return float(gan + lam * np.mean(np.abs(np.asarray(fake) - np.asarray(real))))


def l1_best_constant(samples):
    return np.median(np.asarray(samples, dtype=float), axis=0)
