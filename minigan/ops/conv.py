"""The fast convolution: im2col and one matrix product, with the channels last in memory.

For an input x of shape (N, C, H, W), a weight W of shape (O, C, kh, kw), stride s
and zero padding p, the convolution (strictly, cross-correlation) is

    y[n, o, a, b] = sum_{c, i, j} W[o, c, i, j] * xp[n, c, s a + i, s b + j]      (1)

where xp is x padded with p zeros on each side, and a, b run over the
Ho = (H + 2p - kh) // s + 1 by Wo output positions.

**im2col** lays the input values of (1) out as a matrix with one row per output
position (n, a, b) and one column per kernel entry (i, j, c), holding
xp[n, c, s a + i, s b + j]. Then (1) is a matrix product,
y = cols @ W.transpose(0, 2, 3, 1).reshape(O, kh kw C)^T, which BLAS runs at full
speed. ``minigan.ops.conv_reference`` is the textbook version that chapter 01 explains
(the transpose of this matrix, built by a loop over the kernel offsets, on
(N, C, H, W) arrays); tests/test_conv.py checks that both compute the same numbers.

**col2im** is the adjoint of im2col: it adds every column entry back to the input
pixel it was copied from (pixels in several receptive fields receive several
contributions; entries copied from the zero padding go nowhere). It is a loop over
the kh x kw kernel offsets, each one a strided slice of the image, so the loop has 16
steps for a 4x4 kernel whatever the image size, and runs on NumPy and CuPy alike
without a scatter-add.

**Memory layout.** The arguments and results are (N, C, H, W) arrays, as in
PyTorch, but inside, the channels are the last, contiguous axis ("channels
last", N H W C): a receptive field is then kh rows of kw C contiguous values, so
im2col copies runs of kw C numbers instead of single pixels, and the matrix
product's result (N Ho Wo, O) *is* the output, which is returned as an
(N, O, Ho, Wo) view without a copy. Elementwise operations keep that layout, so
the next convolution finds its input already channels-last. What this buys: fewer
and longer copies (in the (N, C, H, W) layout the copying took as long as the
multiplying), and one im2col shared between a forward and its backward (below).
The measured figures are in benchmarks/README.md ("Why the fast paths").

Three Functions make convolutions differentiable to any order, as in Chainer:

* ``Conv2d(x, W[, b])``: equation (1), plus b[o] when a bias is given.
* ``ConvTranspose2d(y, W[, b])``: the adjoint of (1) in x, i.e. col2im(y @ W), plus
  b[c]. It is the gradient of conv2d with respect to its input, and the
  "deconvolution" that DCGAN's generator uses to upsample.
* ``Conv2dGradWeight(x, g)``: dW[o, c, i, j] = sum_{n, a, b} g[n, o, a, b] xp[n, c, s a + i, s b + j],
  the gradient of (1) with respect to W.

Each one's backward is written with the other two, so gradients of gradients
(a gradient penalty on a convolutional critic) are exact.

**The bias** is added inside the first two, onto the fresh result array, as
``Linear`` does: dL/db[o] = sum_{n, a, b} g[n, o, a, b]. As a separate
``y + b.reshape(1, O, 1, 1)`` it was two more operations, each a pass over the
output, forward and backward, in every layer of a DCGAN. The numbers are the same.
"""
from minigan.autograd import Function
from minigan.backend import array_module, in_parts
from minigan.ops.conv_reference import conv_output_size
from minigan.ops.reduce import sum as sum_over


def channels_last(xp, x, padding=(0, 0)):
    """xpad[n, p + h, p + w, c] = x[n, c, h, w], zero in the border: (N, H + 2ph, W + 2pw, C).

    One copy of x; it is a plain contiguous copy when x is already a channels-last
    view, as the outputs of this module's Functions are.
    """
    (ph, pw) = padding
    n, c, h, w = x.shape
    padded = xp.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
    padded[:, ph:ph + h, pw:pw + w] = x.transpose(0, 2, 3, 1)
    return padded


def rows(x):
    """The (N H W, C) matrix of an (N, C, H, W) array: a view when x is channels-last."""
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def im2col_channels_last(xp, x, kernel, stride, padding, out_size):
    """cols[n, a, b, i, j, c] = xpad[n, c, s a + i, s b + j] for x of shape (N, C, H, W).

    Returns a contiguous array of shape (N, Ho, Wo, kh, kw, C), so that
    ``cols.reshape(N * Ho * Wo, kh * kw * C)`` is the matrix of equation (1).

    The equation is the strides of a view of the padded channels-last image:
    stepping a moves s rows, i moves one row, b moves s pixels, j one pixel, c one
    number. One copy of that view makes the matrix. Its innermost run (j, c) is
    kw C contiguous numbers, where a loop over the kernel offsets copies runs of C.
    The copy is split over the samples, on the host's threads (``in_parts``).
    """
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_size
    n, c = x.shape[:2]
    padded = channels_last(xp, x, padding)
    step_n, step_h, step_w, step_c = padded.strides
    windows = xp.lib.stride_tricks.as_strided(
        padded, shape=(n, ho, wo, kh, kw, c),
        strides=(step_n, sh * step_h, sw * step_w, step_h, step_w, step_c))
    cols = xp.empty(windows.shape, dtype=x.dtype)

    def copy_samples(start, stop):   # read-only use of the overlapping view: one copy
        cols[start:stop] = windows[start:stop]

    in_parts(xp, n, cols.size, copy_samples)
    return cols


def _inside(offset, stride, padding, steps, size):
    """Which output positions a of one kernel offset land inside the image.

    Offset ``offset`` of position a lands on pixel s a + offset - p of the unpadded
    axis; the a in [0, steps) with 0 <= s a + offset - p < size are a run
    first, ..., first + count - 1. Returns (first, count, that first pixel).
    """
    first = max(0, -((offset - padding) // stride))          # ceil((p - offset) / s)
    last = min(steps - 1, (size - 1 + padding - offset) // stride)
    count = max(0, last - first + 1)
    return first, count, stride * first + offset - padding


def col2im(xp, cols, size, stride, padding):
    """The adjoint of im2col: x[n, c, h, w] = sum of the column entries copied from (h, w).

    ``cols`` has the channels-last shape (N, Ho, Wo, kh, kw, C); the result has shape
    (N, C, H, W) with (H, W) = ``size``, as a view of a channels-last (N, H, W, C) array.
    Each kernel offset (i, j) adds one (N, Ho, Wo, C) slice onto every s-th pixel,
    in runs of C contiguous numbers: kh kw steps whatever the image size, on NumPy and
    CuPy alike (a scatter-add is no faster, and CuPy spells it differently). The entries
    that im2col copied from the zero padding have no pixel to go back to: each slice is
    cut to the positions that land inside the image (``_inside``), so nothing is added
    into a border that would be thrown away. Each sample's pixels come from that
    sample's columns only, so the samples are split over the host's threads
    (``in_parts``).
    """
    n, ho, wo, kh, kw, c = cols.shape
    (h, w), (sh, sw), (ph, pw) = size, stride, padding
    image = xp.zeros((n, h, w, c), dtype=cols.dtype)
    rows_in = [_inside(i, sh, ph, ho, h) for i in range(kh)]
    columns_in = [_inside(j, sw, pw, wo, w) for j in range(kw)]

    def add_samples(start, stop):
        out, columns = image[start:stop], cols[start:stop]
        for i, (a, rows, top) in enumerate(rows_in):
            for j, (b, width, left) in enumerate(columns_in):
                if rows and width:
                    pixels = out[:, top:top + sh * (rows - 1) + 1:sh,
                                 left:left + sw * (width - 1) + 1:sw]
                    pixels += columns[:, a:a + rows, b:b + width, i, j]   # in place: a view

    in_parts(xp, n, cols.size, add_samples)
    return image.transpose(0, 3, 1, 2)


def _weight_columns(weight):
    """W (O, C, kh, kw) as the (O, kh kw C) matrix whose columns match im2col_channels_last's."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


def _output_padding(size, out_size, kernel, stride, padding):
    """The rows (columns) a strided convolution skipped at the end of an axis.

    conv_transpose2d must add them back so its output has the input's exact size.
    """
    return tuple(n - ((m - 1) * s - 2 * p + k)
                 for n, m, k, s, p in zip(size, out_size, kernel, stride, padding))


def _bias_gradient(grad):
    """dL/db[o] = sum_{n, a, b} g[n, o, a, b]: a Tensor operation, so differentiable again."""
    return sum_over(grad, axis=(0, 2, 3))


class Conv2d(Function):
    """y = conv2d(x, W[, b]): equation (1) of this module, for x (N, C, H, W), W (O, C, kh, kw)
    and the bias b (O,), if given.

    The im2col matrix of x is kept until the backward: the weight gradient is a
    product with the same matrix, so Conv2dGradWeight takes it instead of copying x
    again (one im2col less per backward). ``release`` frees it with the graph's
    other buffers.
    A caller that already has the matrix passes it as ``cols``.
    """

    def __init__(self, stride, padding, cols=None):
        self.stride = stride
        self.padding = padding
        self.cols = cols

    def forward(self, xp, x, weight, bias=None):
        o, c, kh, kw = weight.shape
        self.kernel, self.size = (kh, kw), x.shape[2:]
        self.out_size = tuple(conv_output_size(n, k, s, p) for n, k, s, p
                              in zip(self.size, self.kernel, self.stride, self.padding))
        if self.cols is None:
            self.cols = im2col_channels_last(xp, x, self.kernel, self.stride, self.padding,
                                             self.out_size)
        y = self.cols.reshape(-1, kh * kw * c) @ _weight_columns(weight).T   # (N Ho Wo, O)
        if bias is not None:
            y += bias          # in place: y is a fresh array, and b broadcasts over its rows
        return y.reshape((x.shape[0],) + self.out_size + (o,)).transpose(0, 3, 1, 2)

    def backward(self, grad, needs_input_grad):
        x, weight = self.inputs[:2]
        grad_x = grad_w = grad_b = None
        if needs_input_grad[0]:
            grad_x = conv_transpose2d(grad, weight, self.stride, self.padding,
                                      _output_padding(self.size, self.out_size, self.kernel,
                                                      self.stride, self.padding))
        if needs_input_grad[1]:
            grad_w = Conv2dGradWeight.apply(x, grad, kernel=self.kernel, stride=self.stride,
                                            padding=self.padding, cols=self.cols)
        if len(self.inputs) == 3 and needs_input_grad[2]:
            grad_b = _bias_gradient(grad)
        return (grad_x, grad_w, grad_b)[:len(self.inputs)]

    def release(self):
        super().release()
        self.cols = None


def conv2d(x, weight, stride=(1, 1), padding=(0, 0), bias=None):
    """Equation (1) without checks; the public, checked version is nn.functional.conv2d."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=padding)


class ConvTranspose2d(Function):
    """x = conv_transpose2d(y, W[, b]), the adjoint of conv2d in its input (plus b[c]).

    For y (N, O, Ho, Wo) and W (O, C, kh, kw): cols[n, a, b, i, j, c] =
    sum_o y[n, o, a, b] W[o, c, i, j], a matrix product, then x = col2im(cols), of shape
    (N, C, H, W) with H = (Ho - 1) s - 2p + kh + output_padding; then b (C,), if given,
    is added to every pixel of channel c.
    """

    def __init__(self, stride, padding, output_padding):
        self.stride = stride
        self.padding = padding
        self.output_padding = output_padding

    @classmethod
    def name(cls):
        return "conv_transpose2d"

    def forward(self, xp, y, weight, bias=None):
        o, c, kh, kw = weight.shape
        n = y.shape[0]
        self.kernel, self.in_size = (kh, kw), y.shape[2:]
        self.size = tuple((m - 1) * s - 2 * p + k + q for m, k, s, p, q in zip(
            self.in_size, self.kernel, self.stride, self.padding, self.output_padding))
        cols = rows(y) @ _weight_columns(weight)                      # (N Ho Wo, kh kw C)
        cols = cols.reshape((n,) + self.in_size + (kh, kw, c))
        x = col2im(xp, cols, self.size, self.stride, self.padding)
        if bias is not None:
            x += bias.reshape(1, c, 1, 1)     # in place: x is a view of a fresh array
        return x

    def backward(self, grad, needs_input_grad):
        y, weight = self.inputs[:2]
        grad_y = grad_w = grad_b = cols = None
        if needs_input_grad[0] and needs_input_grad[1]:
            # Both gradients are products with im2col(grad): copy it once, not twice.
            # An array computed from grad's values only: both nodes still record
            # grad itself as their input, so their own gradients are unchanged.
            cols = im2col_channels_last(array_module(grad.data), grad.data, self.kernel,
                                        self.stride, self.padding, self.in_size)
        if needs_input_grad[0]:
            grad_y = Conv2d.apply(grad, weight, stride=self.stride, padding=self.padding,
                                  cols=cols)
        if needs_input_grad[1]:
            grad_w = Conv2dGradWeight.apply(grad, y, kernel=self.kernel, stride=self.stride,
                                            padding=self.padding, cols=cols)
        if len(self.inputs) == 3 and needs_input_grad[2]:
            grad_b = _bias_gradient(grad)
        return (grad_y, grad_w, grad_b)[:len(self.inputs)]


def conv_transpose2d(y, weight, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                     bias=None):
    """The adjoint of conv2d without checks; see nn.functional.conv_transpose2d."""
    inputs = (y, weight) if bias is None else (y, weight, bias)
    return ConvTranspose2d.apply(*inputs, stride=stride, padding=padding,
                                 output_padding=output_padding)


class Conv2dGradWeight(Function):
    """dW = conv2d's weight gradient: dW[o, c, i, j] = sum_{n,a,b} g[n, o, a, b] xpad[n, c, s a + i, s b + j].

    As a matrix product: dW = rows(g)^T @ im2col(x), with rows(g) the (N Ho Wo, O)
    matrix of g. It is bilinear in (x, g), so its own gradients are convolutions:
    d/dg = conv2d(x, gW) and d/dx = conv_transpose2d(g, gW). ``cols``, when given,
    is im2col(x) already built (by the Conv2d whose weight gradient this is).
    """

    def __init__(self, kernel, stride, padding, cols=None):
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.cols = cols

    def forward(self, xp, x, grad):
        o, c = grad.shape[1], x.shape[1]
        self.size, self.out_size = x.shape[2:], grad.shape[2:]
        cols = self.cols
        if cols is None:
            cols = im2col_channels_last(xp, x, self.kernel, self.stride, self.padding,
                                        self.out_size)
        self.cols = None   # not needed by the backward
        weight_grad = rows(grad).T @ cols.reshape(-1, c * self.kernel[0] * self.kernel[1])
        # (O, kh, kw, C) back to PyTorch's (O, C, kh, kw), contiguous like the weight
        weight_grad = weight_grad.reshape((o,) + self.kernel + (c,)).transpose(0, 3, 1, 2)
        return xp.ascontiguousarray(weight_grad)

    def backward(self, grad_weight, needs_input_grad):
        x, grad = self.inputs
        grad_x = grad_g = None
        if needs_input_grad[0]:
            grad_x = conv_transpose2d(grad, grad_weight, self.stride, self.padding,
                                      _output_padding(self.size, self.out_size, self.kernel,
                                                      self.stride, self.padding))
        if needs_input_grad[1]:
            grad_g = conv2d(x, grad_weight, self.stride, self.padding)
        return grad_x, grad_g
