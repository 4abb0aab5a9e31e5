"""The image operations of the pix2pix, CycleGAN and StyleGAN chapters.

Nearest-neighbour upsampling, padding (constant and reflect, and the reflect-padded
convolution), average pooling, the embedding table, AdaIN and CycleGAN's residual
block. Each is checked against its definition written directly in NumPy (or a
property of its math: upsampling then pooling by the same factor is the identity,
an embedding is a one-hot matrix product, AdaIN gives each map the style's mean and
standard deviation), and by first- and second-order gradient checks in float64.
"""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan import nn
from minigan.gan.penalties import r1_penalty
from minigan.models import ResidualBlock
from minigan.nn import functional as F
from tests.strategies import double_, leaf


def constant(array):
    """A float64 tensor on the suite's device that does not require grad."""
    return leaf(array, requires_grad=False)


def numpy_conv2d(x, w, stride=1):
    """Cross-correlation without padding, one output pixel at a time (slow but obvious)."""
    kh, kw = w.shape[2:]
    ho, wo = (x.shape[2] - kh) // stride + 1, (x.shape[3] - kw) // stride + 1
    y = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for a in range(ho):
        for b in range(wo):
            patch = x[:, :, stride * a:stride * a + kh, stride * b:stride * b + kw]
            y[:, :, a, b] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return y


def numpy_avg_pool2d(x, kernel, stride, padding):
    """The mean of each window of the zero-padded x, one output pixel at a time."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xpad.shape[2] - kh) // sh + 1, (xpad.shape[3] - kw) // sw + 1
    y = np.zeros(x.shape[:2] + (ho, wo))
    for a in range(ho):
        for b in range(wo):
            y[:, :, a, b] = xpad[:, :, sh * a:sh * a + kh, sw * b:sw * b + kw].mean(axis=(2, 3))
    return y


# --- nearest-neighbour upsampling ---------------------------------------------------------------
@settings(max_examples=25)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
       factors=st.tuples(st.integers(1, 3), st.integers(1, 3)), seed=st.integers(0, 1000))
def test_interpolate_repeats_each_pixel(shape, factors, seed):
    """y[n, c, i, j] = x[n, c, i // sh, j // sw]; asking for the size gives the same."""
    x = np.random.default_rng(seed).standard_normal(shape)
    (sh, sw), (h, w) = factors, shape[2:]
    expected = np.repeat(np.repeat(x, sh, axis=2), sw, axis=3)
    np.testing.assert_array_equal(F.interpolate(constant(x), scale_factor=factors).numpy(),
                                  expected)
    np.testing.assert_array_equal(F.interpolate(constant(x), size=(sh * h, sw * w)).numpy(),
                                  expected)
    np.testing.assert_array_equal(nn.Upsample(scale_factor=factors)(constant(x)).numpy(), expected)


@settings(max_examples=25)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
       factors=st.tuples(st.integers(1, 3), st.integers(1, 3)), seed=st.integers(0, 1000))
def test_upsampling_then_average_pooling_by_the_same_factor_is_the_identity(shape, factors, seed):
    """Each block holds sh sw copies of one pixel, so its mean is that pixel."""
    x = np.random.default_rng(seed).standard_normal(shape)
    y = F.avg_pool2d(F.interpolate(constant(x), scale_factor=factors), factors)
    np.testing.assert_allclose(y.numpy(), x, rtol=1e-12, atol=1e-12)


def test_interpolate_gradient_sums_each_block():
    """dL/dx[n, c, a, b] = sum of g over the sh x sw block that pixel (a, b) became."""
    rng = np.random.default_rng(0)
    x, g = leaf(rng.standard_normal((2, 3, 2, 3))), rng.standard_normal((2, 3, 4, 9))
    (grad_x,) = minigan.grad(F.interpolate(x, scale_factor=(2, 3)), x, constant(g))
    np.testing.assert_allclose(grad_x.numpy(), g.reshape(2, 3, 2, 2, 3, 3).sum(axis=(3, 5)),
                               rtol=1e-12)


def test_interpolate_first_and_second_order_gradcheck():
    x = leaf(np.random.default_rng(1).standard_normal((1, 2, 2, 3)))
    assert minigan.gradcheck(lambda x: F.interpolate(x, scale_factor=(2, 3)), [x])
    assert minigan.gradgradcheck(lambda x: F.interpolate(x, scale_factor=2) ** 2, [x])


# --- padding ------------------------------------------------------------------------------------
@st.composite
def pad_problems(draw):
    """An (N, C, H, W) shape, a PyTorch pad tuple of 2 or 4 widths, a mode and a value."""
    shape = draw(st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 5),
                           st.integers(1, 5)))
    mode = draw(st.sampled_from(["constant", "reflect"]))
    last_axes = draw(st.integers(1, 2))
    pads = []
    for axis in range(4 - 1, 4 - 1 - last_axes, -1):   # W first, then H: PyTorch's order
        top = 3 if mode == "constant" else shape[axis] - 1   # reflect: pad < side
        pads += [draw(st.integers(0, top)), draw(st.integers(0, top))]
    value = draw(st.floats(-2, 2)) if mode == "constant" else 0.0
    return shape, tuple(pads), mode, value, draw(st.integers(0, 1000))


@given(pad_problems())
def test_pad_matches_numpy(problem):
    """(left, right, top, bottom) pads W then H, as in PyTorch; numpy.pad gets one pair per
    axis, first axis first. Reflect mirrors about the edge without repeating it."""
    shape, pads, mode, value, seed = problem
    x = np.random.default_rng(seed).standard_normal(shape)
    widths = [(0, 0)] * 4
    for k in range(len(pads) // 2):
        widths[3 - k] = (pads[2 * k], pads[2 * k + 1])
    if mode == "constant":
        expected = np.pad(x, widths, mode="constant", constant_values=value)
    else:
        expected = np.pad(x, widths, mode="reflect")
    np.testing.assert_array_equal(F.pad(constant(x), pads, mode=mode, value=value).numpy(),
                                  expected)


def test_reflect_pad_of_one_row():
    """The docstring's example: [1, 2, 3, 4] padded by 2 is [3, 2, 1, 2, 3, 4, 3, 2]."""
    row = constant([[[[1.0, 2.0, 3.0, 4.0]]]])
    np.testing.assert_array_equal(F.pad(row, (2, 2), mode="reflect").numpy()[0, 0, 0],
                                  [3, 2, 1, 2, 3, 4, 3, 2])


@pytest.mark.parametrize("mode, pads", [("constant", (1, 2, 0, 1)), ("reflect", (2, 1, 1, 2))])
def test_pad_first_and_second_order_gradcheck(mode, pads):
    x = leaf(np.random.default_rng(2).standard_normal((1, 2, 3, 4)))
    value = 0.5 if mode == "constant" else 0.0
    assert minigan.gradcheck(lambda x: F.pad(x, pads, mode=mode, value=value), [x])
    assert minigan.gradgradcheck(lambda x: F.pad(x, pads, mode=mode, value=value) ** 2, [x])


def test_reflect_padded_conv2d_matches_numpy():
    """Conv2d(padding_mode='reflect') convolves the reflect-padded input without padding,
    and differs from zero padding at the border (a test that could tell them apart)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 5, 6))
    conv = double_(nn.Conv2d(3, 4, 3, stride=2, padding=(1, 2), padding_mode="reflect"))
    w, b = conv.weight.numpy(), conv.bias.numpy()
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)), mode="reflect")
    expected = numpy_conv2d(xpad, w, stride=2) + b.reshape(1, -1, 1, 1)
    np.testing.assert_allclose(conv(constant(x)).numpy(), expected, rtol=1e-10, atol=1e-12)
    zeros = F.conv2d(constant(x), conv.weight, conv.bias, stride=2, padding=(1, 2)).numpy()
    assert not np.allclose(zeros, expected)
    assert "padding_mode='reflect'" in repr(conv)


def test_reflect_padded_conv2d_first_and_second_order_gradcheck():
    """The gradients in the input, the weight and the bias, and their gradients."""
    rng = np.random.default_rng(4)
    x, w, b = (leaf(rng.standard_normal(s)) for s in [(1, 2, 3, 4), (2, 2, 3, 3), (2,)])

    def f(x, w, b):
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), w, b)

    assert minigan.gradcheck(f, [x, w, b])
    assert minigan.gradgradcheck(lambda x, w, b: f(x, w, b) ** 2, [x, w, b])
    conv = double_(nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"))
    assert minigan.gradgradcheck(lambda x, *_: conv(x) ** 2, [x, conv.weight, conv.bias])


# --- average pooling ----------------------------------------------------------------------------
@st.composite
def pool_problems(draw):
    """A kernel, a stride and a padding (at most half the kernel) that fit a small input."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    side = tuple(draw(st.integers(max(1, k - 2 * p), 6)) for k, p in zip(kernel, padding))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + side
    return shape, kernel, stride, padding, draw(st.integers(0, 1000))


@settings(max_examples=30)
@given(pool_problems())
def test_avg_pool2d_matches_the_loop_and_a_depthwise_convolution(problem):
    """The mean of each window (padding zeros counted), which is also conv2d with the
    (C, C, kh, kw) kernel that is 1 / (kh kw) from each channel to itself and 0 across."""
    shape, kernel, stride, padding, seed = problem
    x = np.random.default_rng(seed).standard_normal(shape)
    y = F.avg_pool2d(constant(x), kernel, stride, padding).numpy()
    np.testing.assert_allclose(y, numpy_avg_pool2d(x, kernel, stride, padding), rtol=1e-12,
                               atol=1e-12)
    channels = shape[1]
    depthwise = np.zeros((channels, channels) + kernel)
    depthwise[np.arange(channels), np.arange(channels)] = 1.0 / (kernel[0] * kernel[1])
    np.testing.assert_allclose(y, F.conv2d(constant(x), constant(depthwise), stride=stride,
                                           padding=padding).numpy(), rtol=1e-12, atol=1e-12)
    layer = nn.AvgPool2d(kernel, stride, padding)
    np.testing.assert_array_equal(layer(constant(x)).numpy(), y)


def test_avg_pool2d_first_and_second_order_gradcheck():
    x = leaf(np.random.default_rng(5).standard_normal((2, 2, 4, 5)))
    assert minigan.gradcheck(lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), [x])
    assert minigan.gradgradcheck(lambda x: F.avg_pool2d(x, (2, 3), stride=1) ** 2, [x])


# --- embedding ----------------------------------------------------------------------------------
@given(num=st.integers(1, 6), dim=st.integers(1, 4),
       index_shape=st.tuples(st.integers(1, 3), st.integers(1, 4)), seed=st.integers(0, 1000))
def test_embedding_equals_one_hot_times_weight(num, dim, index_shape, seed):
    """y = onehot(indices) @ weight, and the weight's gradient is onehot^T @ g: rows used
    several times add up every contribution."""
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, num, size=index_shape)
    weight, g = leaf(rng.standard_normal((num, dim))), rng.standard_normal(index_shape + (dim,))
    one_hot = np.eye(num)[indices]                       # index_shape + (num,)
    y = F.embedding(indices, weight)
    np.testing.assert_allclose(y.numpy(), one_hot @ weight.numpy(), rtol=1e-12)
    (grad_weight,) = minigan.grad(y, weight, constant(g))
    expected = one_hot.reshape(-1, num).T @ g.reshape(-1, dim)
    np.testing.assert_allclose(grad_weight.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_embedding_layer_looks_up_its_weight():
    """nn.Embedding(V, D): weight (V, D) ~ N(0, 1) as in PyTorch; indices may be a Tensor."""
    table = nn.Embedding(1000, 8)
    assert table.weight.shape == (1000, 8) and table.weight.dtype == np.float32
    assert abs(table.weight.numpy().std() - 1) < 0.05 and abs(table.weight.numpy().mean()) < 0.05
    labels = minigan.tensor(np.array([[3, 3], [999, 0]]))
    np.testing.assert_array_equal(table(labels).numpy(), table.weight.numpy()[[[3, 3], [999, 0]]])


def test_embedding_first_and_second_order_gradcheck():
    weight = leaf(np.random.default_rng(6).standard_normal((4, 3)))
    indices = np.array([[0, 2, 2], [3, 2, 0]])           # rows 0 and 2 repeat, row 1 unused
    assert minigan.gradcheck(lambda w: F.embedding(indices, w), [weight])
    assert minigan.gradgradcheck(lambda w: F.embedding(indices, w) ** 2, [weight])


# --- AdaIN --------------------------------------------------------------------------------------
@settings(max_examples=25)
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(2, 4), st.integers(1, 4)),
       seed=st.integers(0, 1000), spread=st.floats(0.1, 10), shift=st.floats(-5, 5))
def test_adain_gives_each_map_the_styles_mean_and_std(shape, seed, spread, shift):
    """Per sample and channel, the output's mean is style_bias and its standard deviation
    |style_scale| sqrt(var / (var + eps)), var the map's own variance (eps shrinks it a little)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * spread + shift
    scale, bias = rng.standard_normal(shape[:2]) * 3, rng.standard_normal(shape[:2]) * 3
    y = F.adaptive_instance_norm(constant(x), constant(scale), constant(bias)).numpy()
    var = x.var(axis=(2, 3))
    np.testing.assert_allclose(y.mean(axis=(2, 3)), bias, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(y.std(axis=(2, 3)), np.abs(scale) * np.sqrt(var / (var + 1e-5)),
                               rtol=1e-9, atol=1e-9)


def test_adain_first_and_second_order_gradcheck():
    rng = np.random.default_rng(7)
    x, s, b = (leaf(rng.standard_normal(shape)) for shape in [(2, 2, 2, 3), (2, 2), (2, 2)])
    assert minigan.gradcheck(F.adaptive_instance_norm, [x, s, b])
    assert minigan.gradgradcheck(lambda x, s, b: F.adaptive_instance_norm(x, s, b) ** 2,
                                 [x, s, b])


def test_adain_layer_starts_as_instance_norm():
    """The style's Linear has bias 1 for the scale half and 0 for the bias half, so with its
    weight at zero, AdaIN(w) is instance norm whatever w."""
    layer = nn.AdaIN(5, 3)
    np.testing.assert_array_equal(layer.style.bias.numpy(), [1, 1, 1, 0, 0, 0])
    layer.style.weight.data[...] = 0
    x, w = minigan.randn(2, 3, 4, 4), minigan.randn(2, 5)
    np.testing.assert_allclose(layer(x, w).numpy(), F.instance_norm(x).numpy(), rtol=1e-6)


def test_r1_penalty_through_adain_first_and_second_order_gradcheck():
    """R1 of a critic with an AdaIN layer, in the layer's parameters: a second derivative of
    the critic (what training on R1 uses), and its gradient, a third."""
    rng = np.random.default_rng(8)
    adain = double_(nn.AdaIN(3, 2))
    w, head = constant(rng.standard_normal((2, 3))), constant(rng.standard_normal((8, 1)))
    real = constant(rng.standard_normal((2, 2, 2, 2)))

    def critic(x):
        return adain(x, w).tanh().flatten(1) @ head

    params = list(adain.parameters())
    assert minigan.gradcheck(lambda *_: r1_penalty(critic, real, gamma=2.0), params)
    assert minigan.gradgradcheck(lambda *_: r1_penalty(critic, real, gamma=2.0), params)


# --- the residual block ---------------------------------------------------------------------------
@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
@pytest.mark.parametrize("padding_mode", ["reflect", "zeros"])
def test_residual_block_keeps_the_shape_and_is_the_identity_with_its_branch_off(norm,
                                                                                 padding_mode):
    """y has x's shape; with zero convolution weights the branch gives 0 (after a norm, the
    constant bias maps are standardised to 0, up to rounding; without one the biases are
    zeroed too)."""
    block = double_(ResidualBlock(3, norm=norm, padding_mode=padding_mode))
    x = constant(np.random.default_rng(11).standard_normal((2, 3, 5, 4)))
    y = block(x)
    assert y.shape == x.shape and not np.allclose(y.numpy(), x.numpy())
    for layer in block.block:
        if isinstance(layer, nn.Conv2d):
            layer.weight.data[...] = 0
            if norm == "none":
                layer.bias.data[...] = 0
    np.testing.assert_allclose(block(x).numpy(), x.numpy(), rtol=0, atol=1e-9)


def test_residual_block_is_cyclegans():
    """x + IN(conv(reflect_pad(relu(IN(conv(reflect_pad(x))))))), with CycleGAN's biases."""
    block = double_(ResidualBlock(2))
    x = constant(np.random.default_rng(9).standard_normal((2, 2, 4, 5)))
    convs = [layer for layer in block.block if isinstance(layer, nn.Conv2d)]
    assert [type(m).__name__ for m in block.block] == ["Conv2d", "InstanceNorm2d", "ReLU",
                                                       "Conv2d", "InstanceNorm2d"]
    h = x
    for i, conv in enumerate(convs):
        h = F.instance_norm(F.conv2d(F.pad(h, (1, 1, 1, 1), mode="reflect"), conv.weight,
                                     conv.bias))
        h = F.relu(h) if i == 0 else h
    np.testing.assert_allclose(block(x).numpy(), (x + h).numpy(), rtol=1e-12, atol=1e-12)
    assert all(conv.bias is not None for conv in convs)
    assert all(layer.bias is None for layer in ResidualBlock(2, norm="batch").block
               if isinstance(layer, nn.Conv2d))


def test_residual_block_first_and_second_order_gradcheck():
    block = double_(ResidualBlock(2))
    x = leaf(np.random.default_rng(10).standard_normal((1, 2, 3, 3)))
    first = block.block[0]
    assert minigan.gradcheck(lambda x, *_: block(x), [x] + list(block.parameters()))
    assert minigan.gradgradcheck(lambda x, *_: block(x) ** 2, [x, first.weight, first.bias])


# --- errors and state -----------------------------------------------------------------------------
def _names(op, *shapes):
    """A regex: the op's name, then each shape as Python prints a tuple, in order."""
    return re.escape(op) + "".join(".*" + re.escape(str(tuple(s))) for s in shapes)


ERRORS = {
    "interpolate of a 3-d input": (
        lambda: F.interpolate(minigan.randn(2, 3, 4), scale_factor=2),
        ValueError, _names("interpolate", (2, 3, 4))),
    "interpolate to a size that is no multiple": (
        lambda: F.interpolate(minigan.randn(2, 3, 4, 4), size=(6, 6)),
        ValueError, _names("interpolate", (6, 6), (2, 3, 4, 4))),
    "reflect pad as wide as the side": (
        lambda: F.pad(minigan.randn(1, 1, 4, 4), (4, 0), mode="reflect"),
        ValueError, _names("pad: reflect padding", (4, 0)) + ".*smaller than that side, 4"
        + _names("", (1, 1, 4, 4))),
    "pad with an odd tuple": (
        lambda: F.pad(minigan.randn(1, 1, 4, 4), (1, 1, 1)),
        ValueError, _names("pad", (1, 1, 1), (1, 1, 4, 4))),
    "avg_pool2d kernel larger than the input": (
        lambda: F.avg_pool2d(minigan.randn(1, 2, 4, 4), 5),
        ValueError, _names("avg_pool2d", (1, 2, 4, 4))),
    "embedding index out of range": (
        lambda: F.embedding(np.array([0, 5]), minigan.randn(5, 3)),
        IndexError, r"embedding: indices must lie in 0\.\.4.*got 0\.\.5"
        + _names("", (2,), (5, 3))),
    "adaptive_instance_norm style of the wrong shape": (
        lambda: F.adaptive_instance_norm(minigan.randn(2, 3, 4, 4), minigan.ones(2, 4),
                                         minigan.zeros(2, 3)),
        ValueError, _names("adaptive_instance_norm: style_scale", (2, 4), (2, 3, 4, 4))),
    "AdaIN with the wrong channels": (
        lambda: nn.AdaIN(5, 3)(minigan.randn(2, 4, 4, 4), minigan.randn(2, 5)),
        ValueError, _names("AdaIN", (2, 4, 4, 4), (2, 5))),
    "Conv2d with an unknown padding mode": (
        lambda: nn.Conv2d(1, 1, 3, padding_mode="circular"), ValueError,
        r"Conv2d: padding_mode must be 'zeros' or 'reflect', got 'circular'"),
    "ResidualBlock with the wrong channels": (
        lambda: ResidualBlock(3)(minigan.randn(1, 4, 5, 5)),
        ValueError, _names("Conv2d: input of shape", (1, 4, 5, 5)) + ".*in_channels=3"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_name_the_op_and_the_shapes(case):
    call, error, pattern = ERRORS[case]
    with pytest.raises(error, match=pattern):
        call()


def _adain_input():
    return minigan.randn(2, 3, 4, 4), minigan.randn(2, 5)


MODULES = {
    "Embedding": (lambda: nn.Embedding(6, 3), lambda: (minigan.tensor(np.array([[0, 5, 5]])),)),
    "AdaIN": (lambda: nn.AdaIN(5, 3), _adain_input),
    "Conv2d(reflect)": (lambda: nn.Conv2d(3, 2, 3, padding=1, padding_mode="reflect"),
                        lambda: (minigan.randn(2, 3, 4, 4),)),
    "ResidualBlock": (lambda: ResidualBlock(3), lambda: (minigan.randn(2, 3, 4, 4),)),
    "ResidualBlock(batch)": (lambda: ResidualBlock(3, norm="batch"),
                             lambda: (minigan.randn(2, 3, 4, 4),)),
    "Upsample": (lambda: nn.Upsample(scale_factor=2), lambda: (minigan.randn(2, 3, 4, 4),)),
    "AvgPool2d": (lambda: nn.AvgPool2d(2), lambda: (minigan.randn(2, 3, 4, 4),)),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_state_dict_round_trips(name):
    """A fresh module (other random weights) loaded with a trained one's state_dict has the
    same keys and values and computes the same outputs; batch norm's running statistics,
    updated by one training step, travel too."""
    make, inputs = MODULES[name]
    trained = make()
    args = inputs()
    trained(*args)                      # one training-mode step updates any running statistics
    state = trained.state_dict()
    minigan.manual_seed(1)
    fresh = make()
    if state:
        assert any(not np.array_equal(v, fresh.state_dict()[k]) for k, v in state.items())
    fresh.load_state_dict(state)
    assert list(fresh.state_dict()) == list(state)
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value, state[key])
    trained.eval()
    fresh.eval()
    np.testing.assert_array_equal(fresh(*args).numpy(), trained(*args).numpy())
