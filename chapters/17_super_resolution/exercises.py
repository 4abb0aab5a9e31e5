"""Chapter 17 exercises: pixel shuffle as a permutation, PSNR, and the bicubic kernel.

Replace each ``raise NotImplementedError`` with your code (NumPy arrays in and out), then
check it with

    pytest --solutions=mine -m ch17
"""


def pixel_shuffle(x, r):
    """Exercise 17.1. Sub-pixel convolution's rearrangement, in PyTorch's channel order:
    ``x`` (N, C r^2, H, W) becomes y (N, C, r H, r W) with

        y[n, c, h r + i, w r + j] = x[n, c r^2 + i r + j, h, w],   0 <= i, j < r.

    Each output pixel is one input value moved, nothing is computed: y holds exactly the
    values of x, in the dtype of x. Leave ``x`` as it is. (Hint: one reshape, one transpose,
    one reshape; check your order on channels holding 0, 1, 2, 3 with r = 2: each 2 x 2
    block must read [[0, 1], [2, 3]].)"""
    raise NotImplementedError("Exercise 17.1: pixel_shuffle")


def psnr(images, truth, data_range):
    """Exercise 17.2. The peak signal-to-noise ratio of a batch, in decibels, as a float:
    for each image n, MSE_n = the mean of (images[n] - truth[n])^2 over its pixels and
    channels, and

        PSNR_n = 10 log10(data_range^2 / MSE_n);

    return the mean of PSNR_n over the N images (the convention of super-resolution papers;
    not the PSNR of the batch's pooled MSE). ``images`` and ``truth`` are (N, C, H, W);
    ``data_range`` is the width of the range the pixels could take (2 for [-1, 1]), whatever
    values these particular images happen to reach. No image equals its truth here."""
    raise NotImplementedError("Exercise 17.2: psnr")


def keys_kernel(s, a):
    """Exercise 17.3. Keys' cubic convolution kernel, the weight bicubic interpolation gives
    a sample at distance s, for an array ``s`` of distances (any shape, any sign):

        k(s) = (a + 2)|s|^3 - (a + 3)|s|^2 + 1           for |s| <= 1,
        k(s) = a|s|^3 - 5a|s|^2 + 8a|s| - 4a             for 1 < |s| < 2,
        k(s) = 0                                         otherwise,

    as a float64 array of the shape of ``s``. (a = -0.5 is MATLAB's and Pillow's choice, the
    one that interpolates quadratics exactly; OpenCV and PyTorch use a = -0.75.)"""
    raise NotImplementedError("Exercise 17.3: keys_kernel")
