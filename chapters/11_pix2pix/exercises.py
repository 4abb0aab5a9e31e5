"""Chapter 11 exercises: the edge maps, the patch a PatchGAN logit sees, pix2pix's objective,
and why L1 alone blurs.

Replace each ``raise NotImplementedError`` with your code (NumPy arrays in and out), then
check it with

    pytest --solutions=mine -m ch11
"""


def sobel_edges(image, threshold):
    """Exercise 11.1. The chapter's edge map of one grey image (H, W) with values in [0, 1]:

        gx = Sx * image,  gy = Sy * image,  Sx = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],  Sy = Sx^T

    (``*`` a 3x3 cross-correlation of the image padded with one ring of zeros, so that
    the output is (H, W) too), then +1 where sqrt(gx^2 + gy^2) > threshold and -1
    elsewhere: an (H, W) float array of +1 and -1."""
    raise NotImplementedError("Exercise 11.1: sobel_edges")


def receptive_field(layers):
    """Exercise 11.2. The side of the input patch that one output pixel of a stack of
    convolutions sees. ``layers`` lists (kernel, stride) from the input onwards; padding
    shifts the patch but does not change its size. A single layer sees ``kernel``
    pixels; each later layer widens the patch by (kernel - 1) times the distance, in
    input pixels, between neighbouring pixels of its own input. (The chapter's
    discriminator [(4, 2), (4, 2), (3, 1)] sees 18; pix2pix's 70x70 PatchGAN is
    [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]. No layers: 1.) Leave the list as it is."""
    raise NotImplementedError("Exercise 11.2: receptive_field")


def pix2pix_generator_loss(fake_logits, fake, real, lam):
    """Exercise 11.3. pix2pix's generator objective, as a float:

        mean over D's patch logits of -log sigmoid(fake_logits)      (non-saturating GAN)
        + lam * mean over pixels of |fake - real|                      (L1 to the truth)

    ``fake_logits`` has any shape (the patch grid, e.g. (N, 1, 7, 7)); ``fake`` and
    ``real`` are images of one shape. -log sigmoid(a) = log(1 + e^(-a)): compute it
    so that logits of -1000 give 1000, not inf (``numpy.logaddexp``)."""
    raise NotImplementedError("Exercise 11.3: pix2pix_generator_loss")


def l1_best_constant(samples):
    """Exercise 11.4. ``samples`` (N, ...) are N equally likely outputs for one input (N
    odd). Return the array c (...), one value per pixel, that minimises the L1 loss
    mean_n |samples[n] - c|, pixel by pixel, without changing ``samples``. (A network
    trained on L1 alone learns this for each input; for the mean *squared* error it would
    be the mean, and both are grey where the true outputs are black or white.)"""
    raise NotImplementedError("Exercise 11.4: l1_best_constant")
