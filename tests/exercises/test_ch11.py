"""Chapter 11's exercises: Sobel edges, the receptive field, pix2pix's loss, the L1 optimum."""
import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch11


def _assert_map(got, expected, what):
    """The edge map ``got`` equals ``expected``; else say where and how often it differs."""
    got = np.asarray(got)
    assert got.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {got.shape}"
    assert set(np.unique(got).tolist()) <= {-1.0, 1.0}, \
        f"{what}: the edge map holds only +1 and -1, got values {np.unique(got)[:4]}"
    wrong = got != expected
    if wrong.any():
        at = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise AssertionError(f"{what}: at pixel {at} expected {expected[at]:+.0f}, got "
                             f"{got[at]:+.0f} ({wrong.sum()} of {wrong.size} pixels wrong)")


def check_sobel_edges(sobel_edges):
    """A bright square's edges are the two-pixel ring around its boundary; the zero padding
    makes the frame of a constant grey image an edge; a single bright pixel has gradient
    magnitude exactly 2 at its four neighbours and sqrt 2 at the diagonal ones, and exactly
    2 is not above a threshold of 2; on a random image the map matches scipy's Sobel filter
    at many thresholds, and the image passed in is unchanged."""
    square = np.zeros((8, 8))
    square[2:6, 2:6] = 1.0
    ring = np.full((8, 8), -1.0)
    ring[1:7, 1:7] = 1.0
    ring[3:5, 3:5] = -1.0                     # the square's inside is flat: no edge
    ring[[1, 1, 6, 6], [1, 6, 1, 6]] = -1.0   # the outer corners see only 1 + 0 + 0: weak
    _assert_map(sobel_edges(square, 1.5), ring, "a bright 4x4 square in 8x8, threshold 1.5")

    frame = np.full((5, 5), 1.0)              # zeros outside: a step of 0.7 at the frame
    frame[1:-1, 1:-1] = -1.0
    _assert_map(sobel_edges(np.full((5, 5), 0.7), 1.5), frame,
                "a constant 0.7 image (zero padding), threshold 1.5")

    dot = np.zeros((5, 5))
    dot[2, 2] = 1.0
    plus = np.full((5, 5), -1.0)
    plus[[1, 2, 2, 3], [2, 1, 3, 2]] = 1.0    # magnitude 2 beside the dot, sqrt 2 diagonally
    _assert_map(sobel_edges(dot, 1.5), plus, "one bright pixel, threshold 1.5")
    _assert_map(sobel_edges(dot, 2.0), np.full((5, 5), -1.0),
                "one bright pixel, threshold 2 (magnitude 2 is not > 2)")

    from scipy import ndimage
    image = 0.6 * np.random.default_rng(3).random((9, 7))    # rescaling it to 0..1 would show
    kept = image.copy()
    magnitude = np.hypot(ndimage.sobel(image, axis=1, mode="constant"),
                         ndimage.sobel(image, axis=0, mode="constant"))
    levels = np.sort(magnitude.ravel())
    for k in range(2, 61, 4):   # halfway between two magnitudes: no ties with round-off
        threshold = (levels[k] + levels[k + 1]) / 2
        _assert_map(sobel_edges(image, threshold), np.where(magnitude > threshold, 1.0, -1.0),
                    f"a random 9x7 image, threshold {threshold:.3f}")
        assert np.array_equal(image, kept), "the image passed in must not change"


def _patch_by_backprop(layers):
    """Find the input pixels that reach one output pixel: send a one-hot back through the
    layers, each pixel i spreading to its input pixels i * stride .. i * stride + kernel - 1.
    The patch runs from the first pixel reached to the last (a stride above the kernel
    leaves holes inside it)."""
    reach = np.ones(1)
    for kernel, stride in reversed(layers):
        wider = np.zeros((len(reach) - 1) * stride + kernel)
        for offset in range(kernel):
            wider[offset:offset + (len(reach) - 1) * stride + 1:stride] += reach
        reach = wider
    first, last = np.flatnonzero(reach)[[0, -1]]
    return int(last - first + 1)


def check_receptive_field(receptive_field):
    """Hand-counted stacks: the chapter's D (18) and its 1x1-headed variant (10), pix2pix's
    PatchGAN (70), three 3x3 stride-1 layers (7), one layer (its kernel), none (1); random
    stacks of kernels 1..5 and strides 1..3 against the span of the input pixels that reach
    one output pixel; the list passed in is unchanged."""
    for layers, expected in [([(4, 2), (4, 2), (3, 1)], 18), ([(4, 2), (4, 2), (1, 1)], 10),
                             ([(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)], 70),
                             ([(3, 1)] * 3, 7), ([(2, 2)] * 3, 8),     # patches that tile
                             ([(5, 3)], 5), ([], 1)]:
        got = receptive_field(list(layers))
        assert got == expected, f"layers {layers}: expected a patch of {expected}, got {got}"
    rng = np.random.default_rng(7)
    for _ in range(60):
        layers = [(int(k), int(s)) for k, s in zip(rng.integers(1, 6, 5), rng.integers(1, 4, 5))]
        layers = layers[:rng.integers(1, 6)]
        given = list(layers)
        got = receptive_field(given)
        expected = _patch_by_backprop(layers)
        assert given == layers, f"receptive_field changed the list passed in: {given}"
        assert got == expected, f"layers {layers}: expected a patch of {expected}, got {got}"


def _softplus(a):
    """log(1 + e^a), written out: fine for the moderate logits it is used on here."""
    return np.log(1 + np.exp(a))


def check_pix2pix_generator_loss(pix2pix_generator_loss):
    """Hand-computed values; random patch grids and images of two shapes at lam 0, 1 and
    100 against the formula written out; finite for logits of -1000 and 0 for +1000; the
    arrays passed in are unchanged."""
    # Logit 0: D undecided, -log(1/2) = log 2; one pixel off by 0.5 out of four.
    zeros = np.zeros((1, 1, 2, 2))
    off = zeros.copy()
    off[0, 0, 0, 0] = 0.5
    for lam, expected in [(0, np.log(2)), (8, np.log(2) + 8 * 0.5 / 4)]:
        got = float(pix2pix_generator_loss(np.zeros((1, 1, 2, 2)), off.copy(), zeros.copy(), lam))
        assert got == pytest.approx(expected, rel=1e-12), \
            (f"logits 0, one of four pixels off by 0.5, lam = {lam}: expected {expected:.6f}, "
             f"got {got:.6f}")
    rng = np.random.default_rng(5)
    for grid, images in [((4, 1, 7, 7), (4, 1, 28, 28)), ((3,), (3, 2, 5, 6))]:
        logits = rng.standard_normal(grid) * 3
        fake, real = rng.uniform(-1, 1, (2,) + images)
        given = [logits.copy(), fake.copy(), real.copy()]
        for lam in (0.0, 1.0, 100.0):
            expected = np.mean(_softplus(-logits)) + lam * np.mean(np.abs(fake - real))
            got = float(pix2pix_generator_loss(*given, lam))
            assert got == pytest.approx(expected, rel=1e-10), \
                (f"patch logits {grid}, images {images}, lam = {lam:g}: expected "
                 f"mean(-log sigmoid) + lam mean|fake - real| = {expected:.6f}, got {got:.6f}")
        assert all(np.array_equal(g, x) for g, x in zip(given, (logits, fake, real))), \
            "the arrays passed in must not change"
    big = float(pix2pix_generator_loss(np.array([-1000.0, 1000.0]), zeros, zeros, 1))
    assert big == pytest.approx(500.0), \
        f"logits -1000 and 1000: expected (1000 + 0) / 2 = 500, got {big} (use numpy.logaddexp)"


def check_l1_best_constant(l1_best_constant):
    """The pixel-wise median: no shift of it lowers the L1 loss, it beats the mean on
    skewed samples, for three black and two white outputs it is black (not grey); for
    samples (9, 2, 3, 4) it is the median over the first axis; the samples passed in are
    unchanged."""
    rng = np.random.default_rng(2)
    samples = rng.exponential(size=(7, 3, 4)) ** 2           # skewed: the mean is not it
    kept = samples.copy()
    best = np.asarray(l1_best_constant(samples), dtype=float)
    assert np.array_equal(samples, kept), "the samples passed in must not change"
    assert best.shape == (3, 4), f"7 samples of (3, 4): expected shape (3, 4), got {best.shape}"

    def loss(c):
        return np.abs(samples - c).mean(axis=0)

    for delta in (1e-3, -1e-3, 0.1, -0.1):
        assert (loss(best) <= loss(best + delta) + 1e-12).all(), \
            f"shifting the answer by {delta} lowers the L1 loss: it is not the minimiser"
    assert (loss(best) < loss(samples.mean(axis=0))).all(), "the mean beats the answer under L1"
    np.testing.assert_allclose(best, np.median(samples, axis=0), rtol=1e-12,
                               err_msg="expected the median of the samples, pixel by pixel")
    pixels = np.array([[-1.0], [1.0], [-1.0], [1.0], [-1.0]])   # 5 outputs of one pixel
    got = np.asarray(l1_best_constant(pixels))
    assert got.shape == (1,) and got[0] == -1.0, \
        f"three black (-1) and two white (+1) outputs: expected [-1] (black), got {got}"
    images = rng.uniform(-1, 1, (9, 2, 3, 4))
    np.testing.assert_allclose(np.asarray(l1_best_constant(images.copy()), dtype=float),
                               np.median(images, axis=0), rtol=1e-12,
                               err_msg="9 samples of (2, 3, 4): expected their pixel-wise median")


# --- planted wrong answers -----------------------------------------------------------------
def sobel_edges_only_across(image, threshold):
    """Uses gx alone: sees vertical edges, misses horizontal ones."""
    image = np.asarray(image, dtype=float)
    padded = np.pad(image, 1)
    sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    h, w = image.shape
    gx = sum(sx[a, b] * padded[a:a + h, b:b + w] for a in range(3) for b in range(3))
    return np.where(np.abs(gx) > threshold, 1.0, -1.0)


def sobel_edges_inverted(image, threshold):
    """Edges at -1 and the rest at +1: black lines on white, the opposite of the chapter."""
    from tests.exercises.ch11_reference import sobel_edges
    return -sobel_edges(image, threshold)


def sobel_edges_wrapping_around(image, threshold):
    """Shifts with np.roll, so the padding is the opposite side of the image, not zeros."""
    image = np.asarray(image, dtype=float)
    sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    gx, gy = np.zeros_like(image), np.zeros_like(image)
    for a in range(3):
        for b in range(3):
            window = np.roll(image, (1 - a, 1 - b), axis=(0, 1))
            gx += sx[a, b] * window
            gy += sx.T[a, b] * window
    return np.where(np.hypot(gx, gy) > threshold, 1.0, -1.0)


def sobel_edges_at_or_above(image, threshold):
    """Marks magnitude >= threshold: a magnitude equal to the threshold becomes an edge."""
    image = np.asarray(image, dtype=float)
    padded = np.pad(image, 1)
    sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    h, w = image.shape
    gx = sum(sx[a, b] * padded[a:a + h, b:b + w] for a in range(3) for b in range(3))
    gy = sum(sx.T[a, b] * padded[a:a + h, b:b + w] for a in range(3) for b in range(3))
    return np.where(np.hypot(gx, gy) >= threshold, 1.0, -1.0)


def sobel_edges_l1_magnitude(image, threshold):
    """|gx| + |gy| for the magnitude: too strong along diagonals."""
    image = np.asarray(image, dtype=float)
    padded = np.pad(image, 1)
    sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    h, w = image.shape
    gx = sum(sx[a, b] * padded[a:a + h, b:b + w] for a in range(3) for b in range(3))
    gy = sum(sx.T[a, b] * padded[a:a + h, b:b + w] for a in range(3) for b in range(3))
    return np.where(np.abs(gx) + np.abs(gy) > threshold, 1.0, -1.0)


def sobel_edges_rescaled(image, threshold):
    """Stretches the image to a maximum of 1 first: the threshold then means something else."""
    from tests.exercises.ch11_reference import sobel_edges
    image = np.asarray(image, dtype=float)
    return sobel_edges(image / image.max(), threshold)


def receptive_field_without_the_jump(layers):
    """Adds kernel - 1 per layer, as if every stride were 1."""
    return 1 + sum(kernel - 1 for kernel, _ in layers)


def receptive_field_output_first(layers):
    """Runs the recursion from the last layer to the first."""
    from tests.exercises.ch11_reference import receptive_field
    return receptive_field(list(reversed(layers)))


def receptive_field_product_of_kernels(layers):
    """Multiplies the kernels."""
    return int(np.prod([kernel for kernel, _ in layers]))


def receptive_field_jump_too_early(layers):
    """Multiplies in a layer's stride before adding its kernel: off by one layer."""
    field, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        field += (kernel - 1) * jump
    return field


def receptive_field_reverses_the_list(layers):
    """Right (from the output back), but reverses the caller's list in place to get there."""
    layers.reverse()
    field = 1
    for kernel, stride in layers:
        field = stride * field + kernel - stride
    return field


def loss_with_l2(fake_logits, fake, real, lam):
    """The mean squared error in place of L1."""
    gan = np.mean(np.logaddexp(0.0, -np.asarray(fake_logits, dtype=float)))
    return float(gan + lam * np.mean((np.asarray(fake) - np.asarray(real)) ** 2))


def loss_saturating(fake_logits, fake, real, lam):
    """The saturating term, mean log(1 - sigmoid(a)) = -mean softplus(a)."""
    gan = -np.mean(np.logaddexp(0.0, np.asarray(fake_logits, dtype=float)))
    return float(gan + lam * np.mean(np.abs(np.asarray(fake) - np.asarray(real))))


def loss_lambda_on_the_gan_term(fake_logits, fake, real, lam):
    """Weights the GAN term by lam instead of L1."""
    gan = np.mean(np.logaddexp(0.0, -np.asarray(fake_logits, dtype=float)))
    return float(lam * gan + np.mean(np.abs(np.asarray(fake) - np.asarray(real))))


def loss_that_overflows(fake_logits, fake, real, lam):
    """log(1 + exp(-a)) as written: exp(1000) overflows to inf."""
    gan = np.mean(np.log(1 + np.exp(-np.asarray(fake_logits, dtype=float))))
    return float(gan + lam * np.mean(np.abs(np.asarray(fake) - np.asarray(real))))


def loss_wrong_sign(fake_logits, fake, real, lam):
    """log(1 + e^a), D's loss on a fake: G is pushed to look fake."""
    gan = np.mean(np.logaddexp(0.0, np.asarray(fake_logits, dtype=float)))
    return float(gan + lam * np.mean(np.abs(np.asarray(fake) - np.asarray(real))))


def loss_l1_summed_over_the_batch(fake_logits, fake, real, lam):
    """L1 as each image's mean, summed over the batch: grows with the batch size."""
    gan = np.mean(np.logaddexp(0.0, -np.asarray(fake_logits, dtype=float)))
    errors = np.abs(np.asarray(fake) - np.asarray(real)).reshape(len(fake), -1)
    return float(gan + lam * errors.mean(axis=1).sum())


def best_constant_mean(samples):
    """The mean: the optimum of the squared error, not of L1."""
    return np.mean(samples, axis=0)


def best_constant_middle_unsorted(samples):
    """The middle sample as given, without sorting."""
    samples = np.asarray(samples)
    return samples[len(samples) // 2]


def best_constant_sorts_in_place(samples):
    """The middle of the sorted samples, but sorts the caller's array to get there."""
    samples = np.asarray(samples)
    samples.sort(axis=0)
    return samples[len(samples) // 2].copy()


def best_constant_below_the_middle(samples):
    """Sorted, then index N // 2 - 1: one below the median."""
    samples = np.sort(np.asarray(samples), axis=0)
    return samples[len(samples) // 2 - 1]


CHECKS = {"sobel_edges": check_sobel_edges, "receptive_field": check_receptive_field,
          "pix2pix_generator_loss": check_pix2pix_generator_loss,
          "l1_best_constant": check_l1_best_constant}
MUTANTS = {"sobel_edges": [sobel_edges_only_across, sobel_edges_inverted,
                           sobel_edges_wrapping_around, sobel_edges_at_or_above,
                           sobel_edges_l1_magnitude, sobel_edges_rescaled],
           "receptive_field": [receptive_field_without_the_jump, receptive_field_output_first,
                               receptive_field_product_of_kernels, receptive_field_jump_too_early,
                               receptive_field_reverses_the_list],
           "pix2pix_generator_loss": [loss_with_l2, loss_saturating, loss_lambda_on_the_gan_term,
                                      loss_that_overflows, loss_wrong_sign,
                                      loss_l1_summed_over_the_batch],
           "l1_best_constant": [best_constant_mean, best_constant_middle_unsorted,
                                best_constant_sorts_in_place, best_constant_below_the_middle]}

test_exercise, test_mutant_is_rejected = make_tests("11", CHECKS, MUTANTS)
