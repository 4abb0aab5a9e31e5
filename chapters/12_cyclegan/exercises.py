"""Chapter 12 exercises: the image pool, the cycle-consistency loss, the identity loss.

Replace each ``raise NotImplementedError`` with your code (NumPy arrays in and out), then
check it with

    pytest --solutions=mine -m ch12
"""
import numpy as np


class ImagePool:
    """Exercise 12.1. The pool of past fakes that CycleGAN's discriminators train on.

    ``ImagePool(size, seed)`` starts empty, with ``np.random.default_rng(seed)`` for its
    coin flips. ``query(images)`` takes a batch (N, ...) and returns a batch of the same
    shape, image by image:

    * while fewer than ``size`` images are stored: store the new image and return it;
    * once full, with probability 1/2 (``rng.random() < 0.5``): pick a stored image at
      random (``rng.integers(size)``), return it, and store the new image in its place;
    * otherwise return the new image and store nothing.

    Store copies (the caller may reuse its array) and leave the batch passed in as it is.
    ``size`` 0 returns the batch unchanged. (The chapter's pool does the same on the
    device's arrays.)"""

    def __init__(self, size, seed=0):
        self.size = size
        self.rng = np.random.default_rng(seed)
        raise NotImplementedError("Exercise 12.1: ImagePool")

    def query(self, images):
        raise NotImplementedError("Exercise 12.1: ImagePool.query")


def cycle_consistency_loss(a, a_back, b, b_back, lam):
    """Exercise 12.2. CycleGAN's cycle term, as a float:

        lam * ( mean over pixels of |a_back - a|  +  mean over pixels of |b_back - b| )

    where a_back = F(G(a)) and b_back = G(F(b)). The two batches may hold different
    numbers of images: each direction is its own mean."""
    raise NotImplementedError("Exercise 12.2: cycle_consistency_loss")


def identity_loss(G, F, a, b, lam):
    """Exercise 12.3. CycleGAN's identity term with its weight 0.5 lam, as a float:

        0.5 lam * ( mean |G(b) - b|  +  mean |F(a) - a| )

    ``G`` (A -> B) and ``F`` (B -> A) are functions of arrays. Each translator is handed
    an image that is already in its *output* domain and asked to leave it alone."""
    raise NotImplementedError("Exercise 12.3: identity_loss")
