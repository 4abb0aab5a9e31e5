"""Chapter 01 exercises: write the kernels yourself.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch01

Arrays in, arrays out (NumPy, float64): return new arrays and leave the ones passed
in unchanged (the tests check). Shapes follow minigan (and PyTorch): images are
(N, C, H, W), convolution weights (O, C, k, k). The tests compare your answers
with minigan's conv2d, batch_norm and Adam, and with the properties they must have.
"""


def im2col(x, kernel, stride, padding):
    """Exercise 1.1. The column matrix of a convolution.

    x has shape (N, C, H, W); the kernel is kernel x kernel, moved ``stride`` pixels
    at a time over x padded with ``padding`` zeros on every side. With
    Ho = (H + 2 padding - kernel) // stride + 1 (likewise Wo), return the matrix of
    shape (C * kernel * kernel, N * Ho * Wo) whose row (c, i, j) and column (n, a, b),
    both flattened in that order (last index fastest), hold

        xpad[n, c, stride * a + i, stride * b + j].

    Then conv2d(x, W) = W.reshape(O, -1) @ cols, reshaped to (O, N, Ho, Wo).
    (Hint: loop over the kernel offsets i, j, not over the output pixels.)
    """
    raise NotImplementedError("Exercise 1.1: im2col")


def conv_transpose2d(y, weight, stride, padding):
    """Exercise 1.2. The transposed convolution, as the adjoint of conv2d.

    y has shape (N, O, Ho, Wo), weight (O, C, k, k): the weight of a conv2d that maps
    (N, C, H, W) images to y's shape. Return x of shape (N, C, H, W), with
    H = (Ho - 1) stride - 2 padding + k (likewise W), such that for every image z

        <conv2d(z, weight, stride, padding), y> = <z, conv_transpose2d(y, weight, ...)>.

    So a y that is 0 but for a 1 at (n, o, a, b) gives the kernel weight[o] stamped onto
    image n of x, its corner at (stride a - padding, stride b - padding), cut off where
    it falls outside x.

    (Hint: cols = W.reshape(O, -1).T @ y rearranged to (O, N Ho Wo); then col2im: add
    each column entry back onto the padded-input pixel that im2col copied it from,
    and crop the padding.)
    """
    raise NotImplementedError("Exercise 1.2: conv_transpose2d")


def batch_norm_statistics(x, eps=1e-5):
    """Exercise 1.3. Training-mode batch normalisation without scale and shift.

    x has shape (N, C) or (N, C, H, W). For each channel c, over all the other axes,
    return (mean, var, x_hat): the mean (C,), the biased variance (C,) (divide by the
    number of values, not one less), and x_hat = (x - mean) / sqrt(var + eps), shaped
    like x.
    """
    raise NotImplementedError("Exercise 1.3: batch_norm_statistics")


def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Exercise 1.4. One step of Adam, with bias correction.

    param, grad, m, v are arrays of the same shape; m and v are the running means of
    the gradient and of its square (zeros before the first step); t is the number of
    this step (1 for the first). Return the new (param, m, v), without changing the
    arrays passed in:

        m <- b1 m + (1 - b1) g,       v <- b2 v + (1 - b2) g^2,
        p <- p - lr m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t).
    """
    raise NotImplementedError("Exercise 1.4: adam_step")
