"""Convolution by im2col: copy every receptive field into a column, then one matrix product.

For an input x of shape (N, C, H, W), a weight W of shape (O, C, kh, kw), stride s
and zero padding p, the convolution (strictly, cross-correlation) is

    y[n, o, a, b] = sum_{c, i, j} W[o, c, i, j] * xp[n, c, s a + i, s b + j]      (1)

where xp is x padded with p zeros on each side, and a, b run over the
Ho = (H + 2p - kh) // s + 1 by Wo output positions.

**im2col** lays the input values of (1) out as a matrix whose row (c, i, j) and
column (n, a, b) holds xp[n, c, s a + i, s b + j]. Then (1) is a matrix product,
y = W.reshape(O, C kh kw) @ cols, which BLAS runs at full speed. im2col is built
by looping over the kh x kw kernel offsets (not over pixels): each offset (i, j)
is one strided slice of the padded input, so the loop has 16 steps for a 4x4
kernel whatever the image size, and the same code runs on NumPy and CuPy.

**col2im** is the adjoint of im2col: it adds every column entry back to the input
pixel it was copied from (pixels in several receptive fields receive several
contributions).

Three Functions make convolutions differentiable to any order, as in Chainer:

* ``Conv2d(x, W)``: equation (1).
* ``ConvTranspose2d(y, W)``: the adjoint of (1) in x, i.e. col2im(W^T @ y). It is
  the gradient of conv2d with respect to its input, and the "deconvolution" that
  DCGAN's generator uses to upsample.
* ``Conv2dGradWeight(x, g)``: dW[o, c, i, j] = sum_{n, a, b} g[n, o, a, b] xp[n, c, s a + i, s b + j],
  the gradient of (1) with respect to W.

Each one's backward is written with the other two, so gradients of gradients
(a gradient penalty on a convolutional critic) are exact.
"""
from minigan.autograd import Function


def conv_output_size(size, kernel, stride, padding):
    """Ho = (H + 2p - k) // s + 1: how many kernel positions fit along one axis."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(xp, x, kernel, stride, padding, out_size):
    """cols[c, i, j, n, a, b] = xpad[n, c, s a + i, s b + j] for x of shape (N, C, H, W).

    Returns an array of shape (C, kh, kw, N, Ho, Wo), so that
    ``cols.reshape(C * kh * kw, N * Ho * Wo)`` is the matrix of equation (1).
    """
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = kernel, stride, padding, out_size
    n, c = x.shape[:2]
    if ph or pw:
        x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = xp.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            window = x[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw]   # (N, C, Ho, Wo)
            cols[:, i, j] = window.transpose(1, 0, 2, 3)
    return cols


def col2im(xp, cols, size, stride, padding):
    """The adjoint of im2col: x[n, c, h, w] = sum of the column entries copied from (h, w).

    ``cols`` has shape (C, kh, kw, N, Ho, Wo); the result has shape (N, C, H, W)
    with (H, W) = ``size``.
    """
    c, kh, kw, n, ho, wo = cols.shape
    (h, w), (sh, sw), (ph, pw) = size, stride, padding
    padded = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += cols[:, i, j].transpose(1, 0, 2, 3)
    return padded[:, :, ph:ph + h, pw:pw + w]


def _output_padding(size, out_size, kernel, stride, padding):
    """The rows (columns) a strided convolution skipped at the end of an axis.

    conv_transpose2d must add them back so its output has the input's exact size.
    """
    return tuple(n - ((m - 1) * s - 2 * p + k)
                 for n, m, k, s, p in zip(size, out_size, kernel, stride, padding))


class Conv2d(Function):
    """y = conv2d(x, W): equation (1) of this module, for x (N, C, H, W), W (O, C, kh, kw)."""

    def forward(self, xp, x, weight):
        o, c, kh, kw = weight.shape
        self.kernel, self.size = (kh, kw), x.shape[2:]
        self.out_size = tuple(conv_output_size(n, k, s, p) for n, k, s, p
                              in zip(self.size, self.kernel, self.stride, self.padding))
        cols = im2col(xp, x, self.kernel, self.stride, self.padding, self.out_size)
        y = weight.reshape(o, -1) @ cols.reshape(c * kh * kw, -1)      # (O, N Ho Wo)
        return y.reshape((o, x.shape[0]) + self.out_size).transpose(1, 0, 2, 3)

    def backward(self, grad):
        x, weight = self.inputs
        grad_x = grad_w = None
        if self.needs_input_grad[0]:
            grad_x = conv_transpose2d(grad, weight, self.stride, self.padding,
                                      _output_padding(self.size, self.out_size, self.kernel,
                                                      self.stride, self.padding))
        if self.needs_input_grad[1]:
            grad_w = Conv2dGradWeight.apply(x, grad, kernel=self.kernel, stride=self.stride,
                                            padding=self.padding)
        return grad_x, grad_w


class ConvTranspose2d(Function):
    """x = conv_transpose2d(y, W), the adjoint of conv2d in its input.

    For y (N, O, Ho, Wo) and W (O, C, kh, kw): cols = W^T @ y, then x = col2im(cols),
    of shape (N, C, H, W) with H = (Ho - 1) s - 2p + kh + output_padding.
    """

    def forward(self, xp, y, weight):
        o, c, kh, kw = weight.shape
        n = y.shape[0]
        self.kernel, self.in_size = (kh, kw), y.shape[2:]
        self.size = tuple((m - 1) * s - 2 * p + k + q for m, k, s, p, q in zip(
            self.in_size, self.kernel, self.stride, self.padding, self.output_padding))
        y_rows = y.transpose(1, 0, 2, 3).reshape(o, -1)                  # (O, N Ho Wo)
        cols = (weight.reshape(o, -1).T @ y_rows).reshape((c, kh, kw, n) + self.in_size)
        return col2im(xp, cols, self.size, self.stride, self.padding)

    def backward(self, grad):
        y, weight = self.inputs
        grad_y = grad_w = None
        if self.needs_input_grad[0]:
            grad_y = conv2d(grad, weight, self.stride, self.padding)
        if self.needs_input_grad[1]:
            grad_w = Conv2dGradWeight.apply(grad, y, kernel=self.kernel, stride=self.stride,
                                            padding=self.padding)
        return grad_y, grad_w


class Conv2dGradWeight(Function):
    """dW = conv2d's weight gradient: dW[o, c, i, j] = sum_{n,a,b} g[n, o, a, b] xpad[n, c, s a + i, s b + j].

    As a matrix product: dW = g.reshape(O, N Ho Wo) @ im2col(x)^T. It is bilinear in
    (x, g), so its own gradients are convolutions: d/dg = conv2d(x, gW) and
    d/dx = conv_transpose2d(g, gW).
    """

    def forward(self, xp, x, grad):
        n, o = grad.shape[:2]
        c = x.shape[1]
        self.size, self.out_size = x.shape[2:], grad.shape[2:]
        cols = im2col(xp, x, self.kernel, self.stride, self.padding, self.out_size)
        grad_rows = grad.transpose(1, 0, 2, 3).reshape(o, -1)            # (O, N Ho Wo)
        weight_grad = grad_rows @ cols.reshape(c * self.kernel[0] * self.kernel[1], -1).T
        return weight_grad.reshape((o, c) + self.kernel)

    def backward(self, grad_weight):
        x, grad = self.inputs
        grad_x = grad_g = None
        if self.needs_input_grad[0]:
            grad_x = conv_transpose2d(grad, grad_weight, self.stride, self.padding,
                                      _output_padding(self.size, self.out_size, self.kernel,
                                                      self.stride, self.padding))
        if self.needs_input_grad[1]:
            grad_g = conv2d(x, grad_weight, self.stride, self.padding)
        return grad_x, grad_g


def conv2d(x, weight, stride=(1, 1), padding=(0, 0)):
    """Equation (1) without bias checks; the public, checked version is nn.functional.conv2d."""
    return Conv2d.apply(x, weight, stride=stride, padding=padding)


def conv_transpose2d(y, weight, stride=(1, 1), padding=(0, 0), output_padding=(0, 0)):
    """The adjoint of conv2d without checks; see nn.functional.conv_transpose2d."""
    return ConvTranspose2d.apply(y, weight, stride=stride, padding=padding,
                                 output_padding=output_padding)
