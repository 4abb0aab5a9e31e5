"""Chapter 12's exercises: the image pool, the cycle-consistency loss, the identity loss."""
import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch12


_PATTERN = np.arange(6).reshape(1, 2, 3) / 8


def _numbered(numbers):
    """Images (len(numbers), 1, 2, 3); image k holds k + [0, 1/8, ..., 5/8], so it can be told
    apart from every other image, and from itself with its pixels moved."""
    return np.asarray(numbers, dtype=float)[:, None, None, None] + _PATTERN


def _query(pool, first, count):
    """Feed images first .. first + count - 1 and return the numbers of the images that came
    back. Afterwards the batch is overwritten, as a caller reusing its array would do."""
    batch = _numbered(np.arange(first, first + count))
    given = batch.copy()
    got = np.array(pool.query(given), dtype=float)
    assert np.array_equal(given, batch), "query changed the batch passed in"
    assert got.shape == batch.shape, f"a batch of shape {batch.shape} came back as {got.shape}"
    numbers = np.floor(got[:, 0, 0, 0]).astype(int)
    assert (numbers >= 0).all(), ("the pool handed back an image that was never fed: it must "
                                  "store copies, the caller may reuse its array")
    assert np.array_equal(got, _numbered(numbers)), "the pool must hand back whole images as fed"
    given[...] = -1.0
    return numbers


def _replay(numbers, size):
    """Follow the pool through what it handed back for images 0, 1, 2, ... (``numbers``) and
    check each answer is one the pool may give. Returns, for each image fed once the pool was
    full, whether a stored image came back instead; and for each swap the age rank of the
    image handed back among those stored (0 the oldest)."""
    stored, swapped, ranks = [], [], []
    for image, back in enumerate(numbers):
        if len(stored) < size:
            assert back == image, (f"image {image}: the pool held {len(stored)} of {size}, so it "
                                   f"must store image {image} and return it, got image {back}")
            stored.append(image)
        elif back == image:
            swapped.append(False)
        else:
            assert back in stored, (
                f"image {image}: got image {back} back, which the pool does not hold: a stored "
                "image handed back leaves the pool, and an image passed through is not kept")
            ranks.append(stored.index(back))
            stored.remove(back)
            stored.append(image)
            swapped.append(True)
    return np.array(swapped), np.array(ranks, dtype=int)


def check_image_pool(ImagePool):
    """Every answer is one the pool may give: while filling the new image; once full the new
    image, or a stored one that then leaves as the new one goes in. Fed 2,000 numbered images
    in batches of 20, a pool of 50 returns stored images for about half, mixed within each
    batch and differently in each; each stored image is as likely to go (the oldest fifth no
    more than the newest), so all the first 50 come back. Pools of 3 fed 7 images, over 40
    seeds, swap each of the last 4 sometimes; a pool of 1 works. The same seed gives the same
    answers, another seed others, and two pools do not share their images or their rng;
    the batch passed in is unchanged and may be reused; size 0 changes nothing."""
    batch = _numbered(np.arange(3))
    assert np.array_equal(np.asarray(ImagePool(0, seed=0).query(batch.copy())), batch), \
        "a pool of size 0 must return the batch unchanged"

    swaps = np.zeros(4)
    for seed in range(40):
        swapped, _ = _replay(_query(ImagePool(3, seed=seed), 0, 7), 3)
        swaps += swapped
    assert ((5 <= swaps) & (swaps <= 35)).all(), (
        f"over 40 seeds, pools of 3 swapped images 3, 4, 5, 6 {swaps.astype(int).tolist()} times: "
        "each should be swapped about 20 times (the coin starts once the pool is full)")
    single = ImagePool(1, seed=0)
    swapped, _ = _replay(np.concatenate([_query(single, k, 1) for k in range(200)]), 1)
    assert 0.35 < swapped.mean() < 0.65, \
        f"a pool of 1 fed single images swapped {swapped.mean():.2f} of them, not about 1/2"

    def feed(seed):
        pool = ImagePool(50, seed=seed)
        return np.concatenate([_query(pool, first, 20) for first in range(0, 2000, 20)])

    numbers = feed(seed=3)
    swapped, ranks = _replay(numbers, 50)
    assert np.array_equal(feed(seed=3), numbers), "the same seed must give the same answers"
    assert not np.array_equal(feed(seed=4), numbers), \
        "seeds 3 and 4 gave the same answers: draw from the pool's own rng, made from its seed"
    assert 0.44 < swapped.mean() < 0.56, \
        f"{swapped.mean():.2f} of the returns once full were stored images, not about 1/2"
    coins = swapped[-1900:].reshape(95, 20)           # batches 5 .. 99
    mixed = ((coins.mean(axis=1) > 0) & (coins.mean(axis=1) < 1)).mean()
    assert mixed > 0.9, \
        f"only {mixed:.0%} of the batches mix new and stored images: flip one coin per image"
    assert len({row.tobytes() for row in coins}) > 80, \
        "the coins repeat from batch to batch: keep one rng for the pool's life"
    fifths = np.bincount(ranks * 5 // 50, minlength=5) / len(ranks)
    assert ((0.1 < fifths) & (fifths < 0.3)).all(), (
        f"the images handed back, oldest fifth to newest, took {np.round(fifths, 2).tolist()} of "
        "the swaps: each stored image should be picked with chance 1/size")
    missing = sorted(set(range(50)) - set(numbers[50:].tolist()))
    assert not missing, f"images {missing[:5]} of the first 50 never left the pool"

    first, second = ImagePool(50, seed=3), ImagePool(50, seed=3)
    for start in range(0, 1000, 20):
        one, other = _query(first, start, 20), _query(second, start, 20)
        assert np.array_equal(one, numbers[start:start + 20]) and np.array_equal(other, one), \
            "two pools fed in turn must answer as each would alone: keep images and rng per pool"


def check_cycle_consistency_loss(cycle_consistency_loss):
    """lam times the sum of the two directions' mean absolute errors, each its own mean
    (batches of 1 and 2 images); lam = 0 gives 0; random inputs against NumPy, with batches
    of different and of equal sizes; the arrays passed in are unchanged."""
    a = np.zeros((1, 1, 2, 2))
    a_back = a.copy()
    a_back[0, 0, 0, 0] = 1.0                    # one pixel of four off by 1: 0.25
    b = np.zeros((2, 1, 2, 2))
    b_back = np.full_like(b, 0.5)               # every pixel off by 0.5: 0.5
    off = (a, a_back, b, b_back)
    for what, case, lam, expected in [
            ("one of a's four pixels off by 1, all of b's off by 0.5", off, 10, 7.5),
            ("the same", off, 0, 0.0),
            ("a_back = a and b_back = b", (a, a, b, b), 10, 0.0)]:
        got = float(cycle_consistency_loss(*(x.copy() for x in case), lam))
        assert got == pytest.approx(expected, abs=1e-12), \
            f"{what}, lam = {lam}: expected {expected}, got {got:.6g}"
    rng = np.random.default_rng(4)
    for shape_a, shape_b, lam in [((4, 1, 5, 5), (3, 1, 5, 5), 10.0),
                                  ((2, 1, 4, 6), (2, 1, 4, 6), 3.0)]:
        a, a_back = rng.uniform(-1, 1, (2,) + shape_a)
        b, b_back = rng.uniform(-1, 1, (2,) + shape_b) + 0.5
        given = [x.copy() for x in (a, a_back, b, b_back)]
        got = float(cycle_consistency_loss(*given, lam))
        assert all(np.array_equal(g, x) for g, x in zip(given, (a, a_back, b, b_back))), \
            "the arrays passed in must not change"
        expected = lam * (np.mean(np.abs(a_back - a)) + np.mean(np.abs(b_back - b)))
        assert got == pytest.approx(expected, rel=1e-10), \
            (f"batches {shape_a} and {shape_b}, lam = {lam:g}: expected lam (mean|a_back - a| + "
             f"mean|b_back - b|) = {expected:.6f}, got {got:.6f}")


def check_identity_loss(identity_loss):
    """With G(x) = 2x and F(x) = x - 0.3: G moves b by |b|, F moves a by 0.3, so the
    loss is 0.5 lam (mean |b| + 0.3); translators that are the identity give 0; with
    translators that change each pixel differently, on batches of equal and of unequal
    sizes, the formula; the arrays passed in are unchanged."""
    def G(x):
        return 2 * np.asarray(x)

    def F(x):
        return np.asarray(x) - 0.3

    a, b = np.full((2, 1, 2, 2), -0.2), np.full((3, 1, 2, 2), 0.5)
    got = float(identity_loss(G, F, a.copy(), b.copy(), 10))
    assert got == pytest.approx(0.5 * 10 * (0.5 + 0.3)), \
        f"G(x) = 2x, F(x) = x - 0.3, a = -0.2, b = 0.5, lam = 10: expected 4.0, got {got:.6g}"
    got = float(identity_loss(lambda x: x, lambda x: x, a, b, 10))
    assert got == pytest.approx(0.0, abs=1e-12), \
        f"translators that change nothing: expected 0, got {got:.6g}"

    def G2(x):
        return np.tanh(2 * np.asarray(x)) - 0.1

    def F2(x):
        return 0.5 * np.asarray(x)[..., ::-1]       # mirrors and dims the image

    rng = np.random.default_rng(6)
    for G_, F_, size_a, size_b in [(G, F, 4, 3), (G2, F2, 4, 3), (G2, F2, 3, 3)]:
        what = ("G(x) = 2x, F(x) = x - 0.3" if G_ is G else
                "G(x) = tanh(2x) - 0.1, F mirrors and halves")
        a, b = rng.uniform(-1, 1, (size_a, 1, 5, 5)), rng.uniform(-1, 1, (size_b, 1, 5, 5)) + 0.3
        given = [a.copy(), b.copy()]
        got = float(identity_loss(G_, F_, *given, 7))
        assert np.array_equal(given[0], a) and np.array_equal(given[1], b), \
            "the arrays passed in must not change"
        expected = 0.5 * 7 * (np.mean(np.abs(G_(b) - b)) + np.mean(np.abs(F_(a) - a)))
        assert got == pytest.approx(expected, rel=1e-10), \
            (f"{what}, lam = 7, batches of {size_a} and {size_b}: expected "
             f"0.5 lam (mean|G(b) - b| + mean|F(a) - a|) = {expected:.6f}, got {got:.6f}")


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


class PoolStoresOneMore(PoolThatNeverSwaps):
    """Fills while len <= size: stores size + 1, so the next image is never swapped."""

    def query(self, images):
        if self.size == 0:
            return np.asarray(images)
        chosen = []
        for image in np.asarray(images):
            if len(self.images) <= self.size:
                self.images.append(image.copy())
                chosen.append(image)
            elif self.rng.random() < 0.5:
                i = int(self.rng.integers(self.size))
                chosen.append(self.images[i])
                self.images[i] = image.copy()
            else:
                chosen.append(image)
        return np.stack(chosen)


class PoolHandsBackTheOldest(PoolThatNeverSwaps):
    """A queue: hands back the oldest stored image, not one picked at random."""

    def query(self, images):
        if self.size == 0:
            return np.asarray(images)
        chosen = []
        for image in np.asarray(images):
            if len(self.images) < self.size:
                self.images.append(image.copy())
                chosen.append(image)
            elif self.rng.random() < 0.5:
                chosen.append(self.images.pop(0))
                self.images.append(image.copy())
            else:
                chosen.append(image)
        return np.stack(chosen)


class PoolWithoutCopies(PoolThatNeverSwaps):
    """Stores views into the caller's batch: when the caller reuses it, the pool changes."""

    def query(self, images):
        if self.size == 0:
            return np.asarray(images)
        chosen = []
        for image in np.asarray(images):
            if len(self.images) < self.size:
                self.images.append(image)
                chosen.append(image.copy())
            elif self.rng.random() < 0.5:
                i = int(self.rng.integers(self.size))
                chosen.append(self.images[i].copy())
                self.images[i] = image
            else:
                chosen.append(image.copy())
        return np.stack(chosen)


def _reference_query(pool, images):
    """The right query, run on a planted pool's own state."""
    from tests.exercises.ch12_reference import ImagePool
    return ImagePool.query(pool, images)


class PoolSharedByAll:
    """``images = []`` as a class attribute: every pool shares one list of images."""
    images = []

    def __init__(self, size, seed=0):
        self.size = size
        self.rng = np.random.default_rng(seed)

    def query(self, images):
        return _reference_query(self, images)


class PoolReseededEachQuery(PoolThatNeverSwaps):
    """Makes its rng from the seed in every query: every batch flips the same coins."""

    def __init__(self, size, seed=0):
        super().__init__(size, seed)
        self.seed = seed

    def query(self, images):
        self.rng = np.random.default_rng(self.seed)
        return _reference_query(self, images)


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


def cycle_averaged(a, a_back, b, b_back, lam):
    """Averages the two directions, (mean_a + mean_b) / 2: half the weight lam asks for."""
    return float(lam * (np.mean(np.abs(np.asarray(a_back) - a))
                        + np.mean(np.abs(np.asarray(b_back) - b))) / 2)


def cycle_into_a_back(a, a_back, b, b_back, lam):
    """Right value, but subtracts in place: the caller's reconstructions are overwritten."""
    a_back, b_back = np.asarray(a_back), np.asarray(b_back)
    a_back -= a
    b_back -= b
    return float(lam * (np.abs(a_back).mean() + np.abs(b_back).mean()))


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


def identity_the_cycle(G, F, a, b, lam):
    """F(G(a)) against a and G(F(b)) against b: the cycle term again, not the identity."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(0.5 * lam * (np.abs(F(G(a)) - a).mean() + np.abs(G(F(b)) - b).mean()))


def identity_one_mean_over_both(G, F, a, b, lam):
    """One mean over the pixels of both batches: the larger batch counts more."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    errors = np.concatenate([np.abs(G(b) - b).ravel(), np.abs(F(a) - a).ravel()])
    return float(0.5 * lam * errors.mean())


CHECKS = {"ImagePool": check_image_pool,
          "cycle_consistency_loss": check_cycle_consistency_loss,
          "identity_loss": check_identity_loss}
MUTANTS = {"ImagePool": [PoolThatNeverSwaps, PoolAlwaysFromHistory, PoolReturnsTheNewOne,
                         PoolOneCoinPerBatch, PoolStoresOneMore, PoolHandsBackTheOldest,
                         PoolWithoutCopies, PoolSharedByAll, PoolReseededEachQuery],
           "cycle_consistency_loss": [cycle_squared, cycle_one_direction,
                                      cycle_one_mean_over_both, cycle_summed, cycle_averaged,
                                      cycle_into_a_back],
           "identity_loss": [identity_wrong_domain, identity_full_lambda, identity_squared,
                             identity_the_cycle, identity_one_mean_over_both]}

test_exercise, test_mutant_is_rejected = make_tests("12", CHECKS, MUTANTS)
