"""Edge maps of grey images by a Sobel filter: chapter 11's input, chapter 12's domain A.

    magnitude = sobel_magnitude(images)      # |grad I| (N, 1, H, W) on the [0, 1] grey scale
    edges = edge_map(images)                 # +1 where magnitude > EDGE_THRESHOLD, -1 elsewhere

The Sobel filter estimates the derivative across and down the image with two 3x3 kernels,

    Sx = [[-1, 0, 1],     Sy = Sx^T,     |grad I| = sqrt((Sx * I)^2 + (Sy * I)^2),
          [-2, 0, 2],
          [-1, 0, 1]]

computed with the engine's own ``F.conv2d`` (a cross-correlation) on the current device,
with zero padding: the background's value on the [0, 1] scale, so the frame is no edge.
Chapter 11 explains the threshold.
"""
import numpy as np

import minigan
import minigan.nn.functional as F
from minigan import backend

EDGE_THRESHOLD = 1.5   # on the [0, 1] grey scale: a step of 3/8 between neighbours


def sobel_magnitude(images, batch=5000):
    """|grad I| of images (N, 1, H, W) in [-1, 1], measured on the [0, 1] grey scale:
    a float32 array (N, 1, H, W) on the current device, between 0 and 4 sqrt(2)."""
    xp = backend.get_array_module()
    sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
    kernels = minigan.tensor(np.stack([sx, sx.T])[:, None])   # (2 out, 1 in, 3, 3)
    parts = []
    with minigan.no_grad():
        for start in range(0, len(images), batch):   # im2col of 50,000 at once: 1.4 GB
            grey = (backend.asarray(images[start:start + batch]) + 1) / 2
            g = F.conv2d(minigan.tensor(grey), kernels, padding=1).data
            parts.append(xp.sqrt((g ** 2).sum(axis=1, keepdims=True)))
    return xp.concatenate(parts)


def edge_map(images, threshold=EDGE_THRESHOLD):
    """The input of the translation: +1 where |grad I| > threshold, -1 elsewhere."""
    magnitude = sobel_magnitude(images)
    xp = backend.array_module(magnitude)
    return xp.where(magnitude > threshold, xp.float32(1), xp.float32(-1))
