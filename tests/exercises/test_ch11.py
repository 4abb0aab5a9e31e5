"""Chapter 11's exercises: Sobel edges, the receptive field, pix2pix's loss, the L1 optimum."""
import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch11


def check_sobel_edges(sobel_edges):
    """A bright square's edges are the two-pixel ring around its boundary; the zero padding
    makes the frame of a constant grey image an edge; horizontal and vertical lines count;
    the magnitude matches scipy's Sobel filter at every threshold."""
    square = np.zeros((8, 8))
    square[2:6, 2:6] = 1.0
    edges = np.asarray(sobel_edges(square, 1.5), dtype=float)
    assert edges.shape == (8, 8), f"shape {edges.shape}, expected (8, 8)"
    assert set(np.unique(edges)) <= {-1.0, 1.0}, "the edge map holds only +1 and -1"
    ring = np.zeros((8, 8), dtype=bool)
    ring[1:7, 1:7] = True
    ring[3:5, 3:5] = False            # the square's inside is flat: no edge
    ring[[1, 1, 6, 6], [1, 6, 1, 6]] = False   # the outer corners see only 1 + 0 + 0: weak
    np.testing.assert_array_equal(edges == 1, ring)
    grey = np.full((5, 5), 0.7)        # zeros outside: a step of 0.7 at the frame
    frame = np.asarray(sobel_edges(grey, 1.5))
    assert (frame[[0, -1], :] == 1).all() and (frame[:, [0, -1]] == 1).all()
    assert (frame[1:-1, 1:-1] == -1).all()
    from scipy import ndimage
    image = np.random.default_rng(3).random((9, 7))
    magnitude = np.hypot(ndimage.sobel(image, axis=1, mode="constant"),
                         ndimage.sobel(image, axis=0, mode="constant"))
    levels = np.sort(magnitude.ravel())
    for k in (12, 31, 50):   # halfway between two magnitudes: no ties with round-off
        threshold = (levels[k] + levels[k + 1]) / 2
        np.testing.assert_array_equal(np.asarray(sobel_edges(image, threshold)),
                                      np.where(magnitude > threshold, 1.0, -1.0))


def check_receptive_field(receptive_field):
    """Hand-counted stacks: the chapter's D (18) and its 1x1-headed variant (10), pix2pix's
    PatchGAN (70), three 3x3 stride-1 layers (7), one layer (its kernel), none (1)."""
    assert receptive_field([(4, 2), (4, 2), (3, 1)]) == 18
    assert receptive_field([(4, 2), (4, 2), (1, 1)]) == 10
    assert receptive_field([(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]) == 70
    assert receptive_field([(3, 1)] * 3) == 7
    assert receptive_field([(2, 2)] * 3) == 8           # patches that tile the input
    assert receptive_field([(5, 3)]) == 5
    assert receptive_field([]) == 1


def check_pix2pix_generator_loss(pix2pix_generator_loss):
    """Against minigan's own non-saturating loss plus lam L1, on random inputs; lam = 0 is
    the GAN term alone; hand-computed values; finite for logits of -1000."""
    import minigan
    from minigan.gan import losses
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((4, 1, 7, 7)) * 3
    fake, real = rng.uniform(-1, 1, (2, 4, 1, 28, 28))
    expected = (losses.generator_loss_nonsaturating(minigan.tensor(logits)).item()
                + 100 * np.mean(np.abs(fake - real)))
    np.testing.assert_allclose(pix2pix_generator_loss(logits, fake, real, 100), expected,
                               rtol=1e-10)
    # Logit 0: D undecided, -log(1/2) = log 2; one pixel off by 0.5 out of four.
    zeros = np.zeros((1, 1, 2, 2))
    off = zeros.copy()
    off[0, 0, 0, 0] = 0.5
    np.testing.assert_allclose(pix2pix_generator_loss(zeros, off, zeros, 0), np.log(2))
    np.testing.assert_allclose(pix2pix_generator_loss(zeros, off, zeros, 8),
                               np.log(2) + 8 * 0.5 / 4)
    big = pix2pix_generator_loss(np.array([-1000.0, 1000.0]), zeros, zeros, 1)
    np.testing.assert_allclose(big, 500.0)   # (1000 + 0) / 2, not inf


def check_l1_best_constant(l1_best_constant):
    """The pixel-wise median: no shift of it lowers the L1 loss, it beats the mean on
    skewed samples, and for three black and two white outputs it is black (not grey)."""
    rng = np.random.default_rng(2)
    samples = rng.exponential(size=(7, 3, 4)) ** 2           # skewed: the mean is not it
    best = np.asarray(l1_best_constant(samples), dtype=float)
    assert best.shape == (3, 4), f"shape {best.shape}, expected (3, 4)"

    def loss(c):
        return np.abs(samples - c).mean(axis=0)

    for delta in (1e-3, -1e-3, 0.1, -0.1):
        assert (loss(best) <= loss(best + delta) + 1e-12).all()
    assert (loss(best) < loss(samples.mean(axis=0))).all()
    np.testing.assert_allclose(best, np.median(samples, axis=0))
    pixels = np.array([[-1.0], [1.0], [-1.0], [1.0], [-1.0]])   # 5 outputs of one pixel
    np.testing.assert_array_equal(np.asarray(l1_best_constant(pixels)), [-1.0])


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


def best_constant_mean(samples):
    """The mean: the optimum of the squared error, not of L1."""
    return np.mean(samples, axis=0)


def best_constant_middle_unsorted(samples):
    """The middle sample as given, without sorting."""
    samples = np.asarray(samples)
    return samples[len(samples) // 2]


CHECKS = {"sobel_edges": check_sobel_edges, "receptive_field": check_receptive_field,
          "pix2pix_generator_loss": check_pix2pix_generator_loss,
          "l1_best_constant": check_l1_best_constant}
MUTANTS = {"sobel_edges": [sobel_edges_only_across, sobel_edges_inverted,
                           sobel_edges_wrapping_around],
           "receptive_field": [receptive_field_without_the_jump, receptive_field_output_first,
                               receptive_field_product_of_kernels],
           "pix2pix_generator_loss": [loss_with_l2, loss_saturating, loss_lambda_on_the_gan_term,
                                      loss_that_overflows],
           "l1_best_constant": [best_constant_mean, best_constant_middle_unsorted]}

test_exercise, test_mutant_is_rejected = make_tests("11", CHECKS, MUTANTS)
