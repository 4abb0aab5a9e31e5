"""The convolution as chapter 01 teaches it: (N, C, H, W) arrays, im2col by a loop, one product.

For x (N, C, H, W), W (O, C, kh, kw), stride s and zero padding p,

    y[n, o, a, b] = sum_{c, i, j} W[o, c, i, j] xpad[n, c, s a + i, s b + j]      (1)

**im2col** copies every receptive field into a column: row (c, i, j), column (n, a, b)
of ``cols`` holds xpad[n, c, s a + i, s b + j]. For one kernel offset (i, j) those
values, over all (n, a, b), are one strided slice of the padded input,
xpad[:, :, i : i + s Ho : s, j : j + s Wo : s], so the loop runs kh kw times whatever
the image size. Then (1) is one matrix product:

    y = W.reshape(O, C kh kw) @ cols.reshape(C kh kw, N Ho Wo)

**col2im** is im2col's adjoint: each column entry is added back onto the pixel it was
copied from, the same loop with ``+=`` in place of the copy. The input gradient of (1),
and the "transposed convolution" that upsamples in DCGAN's generator, is then
col2im(W.reshape(O, C kh kw)^T @ g), and the weight gradient g @ cols^T.

These functions work on arrays (numpy or cupy, through ``xp``) and are the reference the
fast Functions of ``minigan.ops.conv`` are tested against (tests/test_conv.py): the
fast ones compute the same sums in another memory layout (the channels last), which
turns im2col's short copies into long ones.
"""


def conv_output_size(size, kernel, stride, padding):
    """Ho = (H + 2p - k) // s + 1: how many kernel positions fit along one axis."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(xp, x, kernel, stride, padding):
    """cols[c, i, j, n, a, b] = xpad[n, c, s a + i, s b + j], shape (C, kh, kw, N, Ho, Wo)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    xpad = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = xp.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            # (N, C, Ho, Wo) -> (C, N, Ho, Wo): the values kernel offset (i, j) sees
            cols[:, i, j] = xpad[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw].transpose(1, 0, 2, 3)
    return cols


def col2im(xp, cols, size, stride, padding):
    """The adjoint of im2col: x[n, c, h, w] = the sum of the entries copied from (h, w)."""
    c, kh, kw, n, ho, wo = cols.shape
    (h, w), (sh, sw), (ph, pw) = size, stride, padding
    xpad = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xpad[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += cols[:, i, j].transpose(1, 0, 2, 3)
    return xpad[:, :, ph:ph + h, pw:pw + w]


def conv2d(xp, x, weight, stride=(1, 1), padding=(0, 0)):
    """Equation (1): y = W.reshape(O, C kh kw) @ cols, of shape (N, O, Ho, Wo)."""
    o, c, kh, kw = weight.shape
    cols = im2col(xp, x, (kh, kw), stride, padding)
    n, ho, wo = cols.shape[3:]
    y = weight.reshape(o, c * kh * kw) @ cols.reshape(c * kh * kw, n * ho * wo)
    return y.reshape(o, n, ho, wo).transpose(1, 0, 2, 3)


def conv_transpose2d(xp, g, weight, size, stride=(1, 1), padding=(0, 0)):
    """The adjoint of (1) in x: col2im(W.reshape(O, C kh kw)^T @ g), of shape (N, C) + size.

    ``size`` is (H, W) of the x that (1) was applied to: a strided convolution maps
    several sizes to the same (Ho, Wo), so the adjoint must be told which one.
    """
    o, c, kh, kw = weight.shape
    n, _, ho, wo = g.shape
    g_rows = g.transpose(1, 0, 2, 3).reshape(o, n * ho * wo)
    cols = weight.reshape(o, c * kh * kw).T @ g_rows
    return col2im(xp, cols.reshape(c, kh, kw, n, ho, wo), size, stride, padding)


def conv2d_grad_weight(xp, x, g, kernel, stride=(1, 1), padding=(0, 0)):
    """dL/dW of (1) for dL/dy = g: g.reshape(O, N Ho Wo) @ cols^T, of shape (O, C, kh, kw)."""
    n, o, ho, wo = g.shape
    c = x.shape[1]
    cols = im2col(xp, x, kernel, stride, padding)
    g_rows = g.transpose(1, 0, 2, 3).reshape(o, n * ho * wo)
    return (g_rows @ cols.reshape(-1, n * ho * wo).T).reshape((o, c) + tuple(kernel))
