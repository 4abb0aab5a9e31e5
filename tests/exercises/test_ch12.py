"""Chapter 12's exercises: the image pool, the cycle-consistency loss, the identity loss."""
import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch12


def check_image_pool(ImagePool):
    """Fed 2,000 numbered images (image k filled with k) in batches of 20, a pool of 50
    passes the first 50 through; after that about half of what it returns are stored
    images, mixed within each batch; it never returns an image before it was fed; an
    image returned at once is not kept, and a stored one leaves when it is returned (so
    each image comes back at most once, the first 50 at most twice); swapped-in images
    come back later. The same seed gives the same answers; size 0 changes nothing."""
    batch = np.arange(6, dtype=float).reshape(3, 1, 2)
    np.testing.assert_array_equal(np.asarray(ImagePool(0, seed=0).query(batch)), batch)

    def feed(seed):
        pool, out = ImagePool(50, seed=seed), []
        for start in range(0, 2000, 20):
            images = np.arange(start, start + 20, dtype=float)[:, None, None] * np.ones((1, 2, 2))
            got = np.asarray(pool.query(images))
            assert got.shape == images.shape, f"shape {got.shape}, expected {images.shape}"
            assert (got == got[:, :1, :1]).all(), "the pool returns whole stored images"
            out.append(got[:, 0, 0])
        return np.concatenate(out)

    out = feed(seed=3)
    np.testing.assert_array_equal(feed(seed=3), out)
    index = np.arange(2000)
    np.testing.assert_array_equal(out[:50], index[:50])   # filling up: passed through
    assert (out == np.round(out)).all() and (out >= 0).all()
    assert (out <= index).all(), "an image came out before it was fed"
    counts = np.bincount(out.astype(int), minlength=2000)
    assert counts[:50].max() <= 2 and counts[50:].max() <= 1, (
        "an image came back more often than it was fed and stored: the returned stored "
        "image must leave the pool, and an image passed through must not be kept")
    old = out[50:] != index[50:]
    assert 0.4 < old.mean() < 0.6, f"{old.mean():.2f} of the returns were stored images, not 1/2"
    per_batch = old[-1900:].reshape(95, 20).mean(axis=1)
    assert ((per_batch > 0) & (per_batch < 1)).mean() > 0.9, "one coin per image, not per batch"
    assert (out[50:][old] >= 50).mean() > 0.5, "images swapped in never come back out"


def check_cycle_consistency_loss(cycle_consistency_loss):
    """lam times the sum of the two directions' mean absolute errors, each its own mean
    (batches of 1 and 2 images); lam = 0 gives 0; random inputs against NumPy."""
    a = np.zeros((1, 1, 2, 2))
    a_back = a.copy()
    a_back[0, 0, 0, 0] = 1.0                    # one pixel of four off by 1: 0.25
    b = np.zeros((2, 1, 2, 2))
    b_back = np.full_like(b, 0.5)               # every pixel off by 0.5: 0.5
    np.testing.assert_allclose(cycle_consistency_loss(a, a_back, b, b_back, 10), 7.5)
    np.testing.assert_allclose(cycle_consistency_loss(a, a_back, b, b_back, 0), 0.0)
    np.testing.assert_allclose(cycle_consistency_loss(a, a, b, b, 10), 0.0)
    rng = np.random.default_rng(4)
    a, a_back = rng.uniform(-1, 1, (2, 4, 1, 5, 5))
    b, b_back = rng.uniform(-1, 1, (2, 3, 1, 5, 5))
    expected = 10 * (np.mean(np.abs(a_back - a)) + np.mean(np.abs(b_back - b)))
    np.testing.assert_allclose(cycle_consistency_loss(a, a_back, b, b_back, 10), expected,
                               rtol=1e-10)


def check_identity_loss(identity_loss):
    """With G(x) = 2x and F(x) = x - 0.3: G moves b by |b|, F moves a by 0.3, so the
    loss is 0.5 lam (mean |b| + 0.3); translators that are the identity give 0."""
    def G(x):
        return 2 * np.asarray(x)

    def F(x):
        return np.asarray(x) - 0.3

    a, b = np.full((2, 1, 2, 2), -0.2), np.full((3, 1, 2, 2), 0.5)
    np.testing.assert_allclose(identity_loss(G, F, a, b, 10), 0.5 * 10 * (0.5 + 0.3))
    np.testing.assert_allclose(identity_loss(lambda x: x, lambda x: x, a, b, 10), 0.0)
    rng = np.random.default_rng(6)
    a, b = rng.uniform(-1, 1, (4, 1, 5, 5)), rng.uniform(-1, 1, (3, 1, 5, 5))
    expected = 0.5 * 7 * (np.mean(np.abs(b)) + 0.3)
    np.testing.assert_allclose(identity_loss(G, F, a, b, 7), expected, rtol=1e-10)


# --- planted wrong answers -----------------------------------------------------------------
class PoolThatNeverSwaps:
    """Returns a stored image half the time but keeps the first 50 for ever."""

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
                chosen.append(self.images[int(self.rng.integers(self.size))])
            else:
                chosen.append(image)
        return np.stack(chosen)


class PoolAlwaysFromHistory(PoolThatNeverSwaps):
    """Once full, always swaps: D never sees the latest fakes as they are."""

    def query(self, images):
        if self.size == 0:
            return np.asarray(images)
        chosen = []
        for image in np.asarray(images):
            if len(self.images) < self.size:
                self.images.append(image.copy())
                chosen.append(image)
            else:
                i = int(self.rng.integers(self.size))
                chosen.append(self.images[i])
                self.images[i] = image.copy()
        return np.stack(chosen)


class PoolReturnsTheNewOne(PoolThatNeverSwaps):
    """Swaps the new image in but hands D the new one: the history never reaches D."""

    def query(self, images):
        if self.size == 0:
            return np.asarray(images)
        for image in np.asarray(images):
            if len(self.images) < self.size:
                self.images.append(image.copy())
            elif self.rng.random() < 0.5:
                self.images[int(self.rng.integers(self.size))] = image.copy()
        return np.asarray(images)


class PoolOneCoinPerBatch(PoolThatNeverSwaps):
    """Flips one coin for the whole batch, so a batch is all new or all old."""

    def query(self, images):
        if self.size == 0:
            return np.asarray(images)
        images = np.asarray(images)
        if len(self.images) < self.size:
            self.images.extend(image.copy() for image in images[:self.size - len(self.images)])
            return images
        if self.rng.random() < 0.5:
            return images
        chosen = []
        for image in images:
            i = int(self.rng.integers(self.size))
            chosen.append(self.images[i])
            self.images[i] = image.copy()
        return np.stack(chosen)


def cycle_squared(a, a_back, b, b_back, lam):
    """The mean squared error in place of L1."""
    return float(lam * (np.mean((np.asarray(a_back) - a) ** 2)
                        + np.mean((np.asarray(b_back) - b) ** 2)))


def cycle_one_direction(a, a_back, b, b_back, lam):
    """Only the A -> B -> A cycle: nothing asks G to be invertible on garments."""
    return float(lam * np.mean(np.abs(np.asarray(a_back) - a)))


def cycle_one_mean_over_both(a, a_back, b, b_back, lam):
    """One mean over the pixels of both batches: the larger batch counts more."""
    errors = np.concatenate([np.abs(np.asarray(a_back) - a).ravel(),
                             np.abs(np.asarray(b_back) - b).ravel()])
    return float(lam * errors.mean())


def cycle_summed(a, a_back, b, b_back, lam):
    """Sums over the pixels instead of averaging: grows with the image size."""
    return float(lam * (np.abs(np.asarray(a_back) - a).sum()
                        + np.abs(np.asarray(b_back) - b).sum()))


def identity_wrong_domain(G, F, a, b, lam):
    """Feeds each translator its own input domain, G(a) against a: no identity at all."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(0.5 * lam * (np.abs(G(a) - a).mean() + np.abs(F(b) - b).mean()))


def identity_full_lambda(G, F, a, b, lam):
    """Weighted by lam, not 0.5 lam."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(lam * (np.abs(G(b) - b).mean() + np.abs(F(a) - a).mean()))


def identity_squared(G, F, a, b, lam):
    """The mean squared error in place of L1."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(0.5 * lam * (((G(b) - b) ** 2).mean() + ((F(a) - a) ** 2).mean()))


CHECKS = {"ImagePool": check_image_pool,
          "cycle_consistency_loss": check_cycle_consistency_loss,
          "identity_loss": check_identity_loss}
MUTANTS = {"ImagePool": [PoolThatNeverSwaps, PoolAlwaysFromHistory, PoolReturnsTheNewOne,
                         PoolOneCoinPerBatch],
           "cycle_consistency_loss": [cycle_squared, cycle_one_direction,
                                      cycle_one_mean_over_both, cycle_summed],
           "identity_loss": [identity_wrong_domain, identity_full_lambda, identity_squared]}

test_exercise, test_mutant_is_rejected = make_tests("12", CHECKS, MUTANTS)
