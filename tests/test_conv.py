"""conv2d and conv_transpose2d: against a loop reference, as adjoints, and by gradcheck.

These are the properties a learner's own im2col implementation must satisfy.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
import minigan.nn.functional as F


def conv2d_reference(x, w, stride, padding):
    """Equation (1) of minigan.ops.conv, one output element at a time (slow but obvious)."""
    n, c, h, width = x.shape
    o, _, kh, kw = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (width + 2 * padding - kw) // stride + 1
    y = np.zeros((n, o, ho, wo))
    for a in range(ho):
        for b in range(wo):
            patch = xpad[:, :, stride * a:stride * a + kh, stride * b:stride * b + kw]
            y[:, :, a, b] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return y


@st.composite
def conv_problems(draw, max_size=7):
    """A random conv2d problem: shapes, stride and padding with at least one output pixel."""
    kernel = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, min(2, kernel - 1)))
    height = draw(st.integers(max(1, kernel - 2 * padding), max_size))
    width = draw(st.integers(max(1, kernel - 2 * padding), max_size))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2 ** 16))
    return dict(shape=(n, c, height, width), weight=(o, c, kernel, kernel), stride=stride,
                padding=padding, seed=seed)


def _arrays(problem):
    rng = np.random.default_rng(problem["seed"])
    return rng.standard_normal(problem["shape"]), rng.standard_normal(problem["weight"])


def _output_padding(problem, out_shape):
    """The rows a strided conv skipped, which conv_transpose2d must restore."""
    _, _, h, w = problem["shape"]
    k, s, p = problem["weight"][2], problem["stride"], problem["padding"]
    return (h - ((out_shape[2] - 1) * s - 2 * p + k), w - ((out_shape[3] - 1) * s - 2 * p + k))


@given(conv_problems())
def test_conv2d_matches_loop_reference(problem):
    """conv2d by im2col equals the definition computed pixel by pixel."""
    x, w = _arrays(problem)
    y = F.conv2d(minigan.tensor(x), minigan.tensor(w), stride=problem["stride"],
                 padding=problem["padding"])
    expected = conv2d_reference(x, w, problem["stride"], problem["padding"])
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(problem=conv_problems())
def test_fast_kernels_compute_what_the_textbook_version_computes(problem):
    """The three Functions of minigan.ops.conv (channels last, strided-view im2col) give
    the numbers of minigan.ops.conv_reference (the loop-over-offsets im2col of chapter
    01) for y = conv2d(x, W), its adjoint in x and its weight gradient."""
    from minigan.ops import conv, conv_reference
    rng = np.random.default_rng(problem["seed"])
    x = rng.standard_normal(problem["shape"])
    w = rng.standard_normal(problem["weight"])
    s, p = (problem["stride"],) * 2, (problem["padding"],) * 2
    y_fast = conv.conv2d(minigan.tensor(x), minigan.tensor(w), s, p).numpy()
    y_textbook = conv_reference.conv2d(np, x, w, s, p)
    np.testing.assert_allclose(y_fast, y_textbook, rtol=1e-12, atol=1e-12, err_msg="conv2d")
    g = rng.standard_normal(y_fast.shape)
    size = problem["shape"][2:]
    x_fast = conv.conv_transpose2d(
        minigan.tensor(g), minigan.tensor(w), s, p,
        conv._output_padding(size, g.shape[2:], w.shape[2:], s, p)).numpy()
    np.testing.assert_allclose(x_fast, conv_reference.conv_transpose2d(np, g, w, size, s, p),
                               rtol=1e-12, atol=1e-12, err_msg="conv_transpose2d")
    w_fast = conv.Conv2dGradWeight.apply(minigan.tensor(x), minigan.tensor(g),
                                         kernel=w.shape[2:], stride=s, padding=p).numpy()
    np.testing.assert_allclose(w_fast, conv_reference.conv2d_grad_weight(np, x, g, w.shape[2:],
                                                                         s, p),
                               rtol=1e-12, atol=1e-12, err_msg="weight gradient")


@given(conv_problems())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(problem):
    """<conv2d(x, W), y> = <x, conv_transpose2d(y, W)> for every x, y: the defining property.

    This is why conv_transpose2d is the gradient of conv2d with respect to its input,
    and why a learner can check their own transposed convolution with two dot products.
    """
    x, w = _arrays(problem)
    stride, padding = problem["stride"], problem["padding"]
    y_shape = F.conv2d(minigan.tensor(x), minigan.tensor(w), stride=stride, padding=padding).shape
    y = np.random.default_rng(problem["seed"] + 1).standard_normal(y_shape)
    conv = F.conv2d(minigan.tensor(x), minigan.tensor(w), stride=stride, padding=padding).numpy()
    transposed = F.conv_transpose2d(minigan.tensor(y), minigan.tensor(w), stride=stride,
                                    padding=padding,
                                    output_padding=_output_padding(problem, y_shape)).numpy()
    assert transposed.shape == x.shape
    assert np.sum(conv * y) == pytest.approx(np.sum(x * transposed), rel=1e-9, abs=1e-9)


@settings(max_examples=8)
@given(conv_problems(max_size=5))
def test_conv2d_gradients(problem):
    """First and second derivatives of conv2d (with bias) agree with finite differences.

    Second order matters: a WGAN-GP critic differentiates its own input gradient.
    """
    x, w = _arrays(problem)
    x = minigan.tensor(x, requires_grad=True)
    w = minigan.tensor(w, requires_grad=True)
    b = minigan.tensor(np.linspace(-1, 1, problem["weight"][0]), requires_grad=True)

    def f(x, w, b):
        return F.conv2d(x, w, b, stride=problem["stride"], padding=problem["padding"])

    assert minigan.gradcheck(f, [x, w, b])
    assert minigan.gradgradcheck(f, [x, w, b])


@settings(max_examples=8)
@given(conv_problems(max_size=5))
def test_conv_transpose2d_gradients(problem):
    """First and second derivatives of conv_transpose2d agree with finite differences."""
    x, w = _arrays(problem)
    stride, padding = problem["stride"], problem["padding"]
    y_shape = F.conv2d(minigan.tensor(x), minigan.tensor(w), stride=stride, padding=padding).shape
    output_padding = _output_padding(problem, y_shape)
    y = minigan.tensor(np.random.default_rng(problem["seed"]).standard_normal(y_shape),
                       requires_grad=True)
    w = minigan.tensor(w, requires_grad=True)
    b = minigan.tensor(np.linspace(-1, 1, w.shape[1]), requires_grad=True)

    def f(y, w, b):
        return F.conv_transpose2d(y, w, b, stride=stride, padding=padding,
                                  output_padding=output_padding)

    assert minigan.gradcheck(f, [y, w, b])
    assert minigan.gradgradcheck(f, [y, w, b])


def test_dcgan_shapes():
    """The DCGAN-28 layers produce the shapes the architecture promises."""
    z = minigan.randn(2, 100, 1, 1)
    h = F.conv_transpose2d(z, minigan.randn(100, 8, 7, 7))
    assert h.shape == (2, 8, 7, 7)
    h = F.conv_transpose2d(h, minigan.randn(8, 4, 4, 4), stride=2, padding=1)
    assert h.shape == (2, 4, 14, 14)
    h = F.conv_transpose2d(h, minigan.randn(4, 1, 4, 4), stride=2, padding=1)
    assert h.shape == (2, 1, 28, 28)
    d = F.conv2d(h, minigan.randn(3, 1, 4, 4), stride=2, padding=1)
    assert d.shape == (2, 3, 14, 14)


def test_float32_stays_float32():
    """A float32 convolution and its gradients stay float32 (float64 would cost 2-3x)."""
    x = minigan.randn(2, 3, 8, 8, requires_grad=True)
    w = minigan.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, stride=2, padding=1)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == np.float32


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(minigan.randn(1, 1, 3, 3), minigan.randn(1, 1, 5, 5), padding=0),
     r"conv2d: kernel 5x5 is larger than the padded input 3x3"),
    (lambda: F.conv2d(minigan.randn(1, 2, 8, 8), minigan.randn(4, 3, 3, 3)),
     r"conv2d: input of shape \(1, 2, 8, 8\) has 2 channels, but weight of shape "
     r"\(4, 3, 3, 3\) \(out, in, kh, kw\) expects 3"),
    (lambda: F.conv2d(minigan.randn(2, 8, 8), minigan.randn(4, 2, 3, 3)),
     r"conv2d: expected input of shape \(N, C, H, W\), got shape \(2, 8, 8\)"),
    (lambda: F.conv_transpose2d(minigan.randn(1, 3, 4, 4), minigan.randn(2, 1, 4, 4)),
     r"conv_transpose2d: input of shape \(1, 3, 4, 4\) has 3 channels, but weight of shape "
     r"\(2, 1, 4, 4\) \(in, out, kh, kw\) expects 2"),
    (lambda: F.conv_transpose2d(minigan.randn(1, 2, 4, 4), minigan.randn(2, 1, 4, 4),
                                stride=2, output_padding=2),
     r"conv_transpose2d: output_padding \(2, 2\) must be smaller than the stride \(2, 2\)"),
])
def test_conv_errors_name_the_op_and_shapes(call, message):
    """Bad shapes are reported in the user's terms, not as an error deep inside NumPy."""
    with pytest.raises(ValueError, match=message):
        call()


LAYOUTS = {
    "contiguous": lambda a: a,
    # the layout minigan's convolutions return: an (N, C, H, W) view of N H W C memory
    "channels last": lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
    # every other row and column of a larger array: no contiguous axis at all
    "strided": lambda a: np.repeat(np.repeat(a, 2, axis=2), 2, axis=3)[:, :, ::2, ::2],
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_kernels_give_the_same_numbers_for_every_memory_layout(layout):
    """conv2d -> batch_norm -> leaky_relu -> conv_transpose2d: values and gradients do not
    depend on how the input array is laid out in memory, only on its values (the kernels
    copy to their own layout inside)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 8, 8))
    w1, w2 = rng.standard_normal((5, 4, 4, 4)), rng.standard_normal((5, 2, 4, 4))

    def run(array):
        xt = minigan.tensor(array, requires_grad=True)
        a, b = minigan.tensor(w1, requires_grad=True), minigan.tensor(w2, requires_grad=True)
        h = F.conv2d(xt, a, stride=2, padding=1)
        h = F.batch_norm(h, None, None, training=True)
        y = F.conv_transpose2d(F.leaky_relu(h, 0.2), b, stride=2, padding=1)
        (y * minigan.tensor(np.arange(y.data.size).reshape(y.shape) % 7)).sum().backward()
        return [y.numpy(), xt.grad.numpy(), a.grad.numpy(), b.grad.numpy()]

    arranged = LAYOUTS[layout](x)
    np.testing.assert_array_equal(arranged, x)
    for got, expected in zip(run(arranged), run(x)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("output_padding", [0, 1])
def test_conv_transpose2d_returns_channels_last_memory_without_a_border(output_padding):
    """conv_transpose2d (a generator's upsampling, conv2d's input gradient) hands back an
    (N, C, H, W) view of one contiguous (N, H, W, C) array of exactly its size: col2im
    adds nothing into the padding, so there is no padded image to cut a view out of, and
    the batch norm after it reads its (N H W, C) columns without copying them."""
    rng = np.random.default_rng(2)
    y = minigan.tensor(rng.standard_normal((2, 3, 4, 4)).astype(np.float32))
    w = minigan.tensor(rng.standard_normal((3, 5, 4, 4)).astype(np.float32))
    x = F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=output_padding).data
    assert x.shape == (2, 5, 8 + output_padding, 8 + output_padding)
    memory = x.transpose(0, 2, 3, 1)
    assert memory.flags.c_contiguous, f"strides {x.strides}"
    assert memory.base is None or memory.base.size == x.size, "a view of a larger array"


def _conv_results(x, w, b, g, stride, padding):
    """conv2d with bias, its three gradients, and conv_transpose2d of g: the arrays."""
    x = minigan.tensor(x, requires_grad=True)
    w, b = minigan.tensor(w, requires_grad=True), minigan.tensor(b, requires_grad=True)
    y = F.conv2d(x, w, b, stride=stride, padding=padding)
    y.backward(minigan.tensor(g))
    up = F.conv_transpose2d(minigan.tensor(g), w, minigan.tensor(b[:x.shape[1]]),
                            stride=stride, padding=padding)
    return [t.numpy() for t in (y, x.grad, w.grad, b.grad, up)]


def test_copies_split_over_threads_give_the_same_bits(same_bits_on_threads):
    """im2col and col2im split the samples over the host's threads (backend.in_parts);
    each sample is computed as before, so three threads give what one gives, bit for bit.

    A batch of 7 makes the parts uneven (2, 2, 3); the threshold is lowered so that even
    these small arrays are split.
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 3, 9, 9)).astype(np.float32)
    w = rng.standard_normal((5, 3, 4, 4)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)   # its first 3: conv_transpose2d's bias
    g = rng.standard_normal((7, 5, 4, 4)).astype(np.float32)
    same_bits_on_threads(lambda: _conv_results(x, w, b, g, 2, 1),
                         ["output", "input gradient", "weight gradient", "bias gradient",
                          "conv_transpose2d"], "conv2d")


def _batch_norm_results(x, g):
    """Training-mode batch norm's output, its gradients, and the running statistics."""
    layer = minigan.nn.BatchNorm2d(x.shape[1])
    x = minigan.tensor(x, requires_grad=True)
    y = layer(x)
    y.backward(minigan.tensor(g))
    return [a.numpy() if isinstance(a, minigan.Tensor) else np.asarray(a) for a in
            (y, x.grad, layer.weight.grad, layer.bias.grad, layer.running_mean,
             layer.running_var)]


def test_batch_norm_split_over_threads_gives_the_same_bits(same_bits_on_threads):
    """Batch norm splits its row-by-row passes over the host's threads, not its sums:
    three threads give what one gives, bit for bit."""
    rng = np.random.default_rng(1)
    x = (3 * rng.standard_normal((7, 6, 5, 5)) + 1).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    same_bits_on_threads(lambda: _batch_norm_results(x, g),
                         ["output", "input gradient", "weight gradient", "bias gradient",
                          "running mean", "running variance"], "batch norm")
