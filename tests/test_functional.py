"""The kernels of nn.functional other than convolution: linear, batch norm, dropout, losses."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
import minigan.nn.functional as F


def _t(array, requires_grad=False):
    return minigan.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


# --- linear ------------------------------------------------------------------------------
def test_linear_matches_numpy():
    """linear(x, W, b) = x W^T + b with PyTorch's (out, in) weight layout."""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    np.testing.assert_allclose(F.linear(_t(x), _t(w), _t(b)).numpy(), x @ w.T + b, rtol=1e-12)


def test_linear_gradients_first_and_second_order():
    """linear is bilinear in (x, W): its gradients, and theirs, match finite differences."""
    rng = np.random.default_rng(1)
    x, w, b = (_t(rng.standard_normal(s), True) for s in [(3, 4), (2, 4), (2,)])
    f = lambda x, w, b: F.leaky_relu(F.linear(x, w, b), 0.2)  # noqa: E731
    assert minigan.gradcheck(f, [x, w, b])
    assert minigan.gradgradcheck(lambda x, w, b: F.linear(x, w, b) ** 2, [x, w, b])


@pytest.mark.parametrize("x_shape", [(4,), (2, 3, 4)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_takes_any_leading_axes_and_an_optional_bias(x_shape, with_bias):
    """x (..., in) -> (..., out) as PyTorch's linear, with and without b; first- and
    second-order gradients match finite differences for every shape."""
    rng = np.random.default_rng(2)
    x, w, b = _t(rng.standard_normal(x_shape), True), _t(rng.standard_normal((3, 4)), True), \
        _t(rng.standard_normal(3), True)
    inputs = [x, w, b] if with_bias else [x, w]
    expected = x.numpy() @ w.numpy().T + (b.numpy() if with_bias else 0)
    np.testing.assert_allclose(F.linear(*inputs).numpy(), expected, rtol=1e-12)
    assert F.linear(*inputs).shape == x_shape[:-1] + (3,)
    assert minigan.gradcheck(lambda *t: F.linear(*t).tanh(), inputs)
    assert minigan.gradgradcheck(lambda *t: F.linear(*t).tanh(), inputs)


def test_linear_error_names_the_bias_shape():
    with pytest.raises(ValueError, match=r"linear: bias of shape \(3,\) does not match weight "
                                         r"of shape \(4, 6\): expected \(4,\)"):
        F.linear(minigan.randn(5, 6), minigan.randn(4, 6), minigan.randn(3))


def test_linear_error_names_features():
    """A feature mismatch names the op, both shapes and the expected size."""
    with pytest.raises(ValueError, match=r"linear: input of shape \(5, 3\) has 3 features, "
                                         r"but weight of shape \(4, 6\) \(out, in\) expects 6"):
        F.linear(minigan.randn(5, 3), minigan.randn(4, 6))


# --- batch norm --------------------------------------------------------------------------
@settings(max_examples=20)
@given(shape=st.sampled_from([(8, 3), (4, 2, 3, 3), (2, 5, 4, 1)]), seed=st.integers(0, 1000),
       scale=st.floats(0.1, 10), shift=st.floats(-5, 5))
def test_batch_norm_training_output_is_standardised(shape, seed, scale, shift):
    """In training mode each channel of the output has mean 0 and variance 1 (weight 1, bias 0)."""
    x = np.random.default_rng(seed).standard_normal(shape) * scale + shift
    c = shape[1]
    y = F.batch_norm(_t(x), _t(np.zeros(c)), _t(np.ones(c)), training=True, eps=0.0).numpy()
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=axes), 1, rtol=1e-9)


def test_batch_norm_running_statistics():
    """Training updates the running mean and (unbiased) variance by momentum, as PyTorch does;
    evaluation then normalises with them instead of the batch statistics."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 2, 3, 3)) * 3 + 1
    running_mean, running_var = _t(np.zeros(2)), _t(np.ones(2))
    F.batch_norm(_t(x), running_mean, running_var, training=True, momentum=0.1)
    per_channel = x.transpose(1, 0, 2, 3).reshape(2, -1)
    np.testing.assert_allclose(running_mean.numpy(), 0.1 * per_channel.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(running_var.numpy(), 0.9 + 0.1 * per_channel.var(axis=1, ddof=1),
                               rtol=1e-12)
    weight, bias = _t([2.0, 3.0]), _t([0.5, -0.5])
    y = F.batch_norm(_t(x), running_mean, running_var, weight, bias, training=False).numpy()
    shape = (1, 2, 1, 1)
    expected = ((x - running_mean.numpy().reshape(shape))
                / np.sqrt(running_var.numpy().reshape(shape) + 1e-5)
                * np.array([2.0, 3.0]).reshape(shape) + np.array([0.5, -0.5]).reshape(shape))
    np.testing.assert_allclose(y, expected, rtol=1e-12)


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 2, 3)])
def test_batch_norm_gradients_first_and_second_order(shape):
    """Batch norm's gradient flows through the batch mean and variance too, to any order.

    It is composed of primitives (mean, subtraction, sqrt, division), so nothing in its
    backward is hand-written and the second derivative is exact.
    """
    rng = np.random.default_rng(3)
    c = shape[1]
    x = _t(rng.standard_normal(shape), True)
    weight, bias = _t(rng.standard_normal(c), True), _t(rng.standard_normal(c), True)

    def f(x, weight, bias):
        return F.batch_norm(x, None, None, weight, bias, training=True)

    assert minigan.gradcheck(f, [x, weight, bias])
    assert minigan.gradgradcheck(f, [x, weight, bias], atol=1e-4)


def test_batch_norm_errors():
    """Shape problems name batch_norm, the offending argument and the shapes."""
    with pytest.raises(ValueError, match=r"batch_norm: weight has shape \(4,\) but the input "
                                         r"\(2, 3, 5, 5\) has 3 channels"):
        F.batch_norm(minigan.randn(2, 3, 5, 5), None, None, minigan.ones(4), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel"):
        F.batch_norm(minigan.randn(1, 3), None, None, training=True)


# --- dropout -----------------------------------------------------------------------------
def test_dropout_keeps_the_expectation():
    """Dropout zeroes a share p and scales the rest by 1/(1-p), so E[y] = x; eval is identity."""
    x = minigan.ones(200, 500)
    y = F.dropout(x, p=0.3, training=True).numpy()
    assert abs((y == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1) < 0.02
    assert F.dropout(x, p=0.3, training=False) is x


def test_dropout_gradient_is_the_mask():
    """d dropout(x)/dx is the same scaled mask that the forward pass applied."""
    x = minigan.randn(50, 40, requires_grad=True)
    y = F.dropout(x, p=0.5)
    y.sum().backward()
    kept = y.numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), kept * 2.0)


# --- losses ------------------------------------------------------------------------------
def test_bce_with_logits_matches_the_definition():
    """softplus(x) - t x equals -[t log s(x) + (1-t) log(1-s(x))] where the latter is safe."""
    x = np.linspace(-8, 8, 33)
    t = np.linspace(0, 1, 33)
    s = 1 / (1 + np.exp(-x))
    expected = -(t * np.log(s) + (1 - t) * np.log(1 - s))
    got = F.binary_cross_entropy_with_logits(_t(x), _t(t), reduction="none").numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert F.binary_cross_entropy_with_logits(_t(x), _t(t)).item() == pytest.approx(expected.mean())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_stable_at_extreme_logits(dtype):
    """At logits of +-1e4 the loss is exact and finite, and the gradient is sigmoid(x) - t.

    A GAN's discriminator becomes this confident; log(sigmoid(-1e4)) would be log(0).
    """
    x = minigan.tensor(np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype), requires_grad=True)
    t = minigan.tensor(np.array([1, 1, 0, 0], dtype=dtype))
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="sum")
    assert loss.item() == pytest.approx(2e4)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, -1, 1, 0])


def test_bce_with_logits_gradients():
    """BCE with logits is twice differentiable (its Hessian is s(x)(1 - s(x)))."""
    x = _t(np.linspace(-3, 3, 7), True)
    t = _t(np.linspace(0, 1, 7))
    f = lambda x: F.binary_cross_entropy_with_logits(x, t)  # noqa: E731
    assert minigan.gradcheck(f, [x])
    assert minigan.gradgradcheck(f, [x])


def test_binary_cross_entropy_on_probabilities():
    """BCE on probabilities equals BCE with logits of the same sigmoid, and clamps at 100."""
    x = _t(np.linspace(-5, 5, 11), True)
    t = _t(np.linspace(0, 1, 11))
    a = F.binary_cross_entropy(F.sigmoid(x), t)
    b = F.binary_cross_entropy_with_logits(x, t)
    assert a.item() == pytest.approx(b.item(), rel=1e-10)
    assert minigan.gradcheck(lambda x: F.binary_cross_entropy(F.sigmoid(x), t), [x])
    saturated = F.binary_cross_entropy(_t([0.0, 1.0]), _t([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(saturated.numpy(), [100, 100])


def test_mse_loss():
    """mse_loss is the mean of squared differences, with gradient 2 (x - t) / n."""
    x = _t([1.0, 2.0, 4.0], True)
    loss = F.mse_loss(x, _t([0.0, 2.0, 1.0]))
    assert loss.item() == pytest.approx(10 / 3)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 / 3, 0, 2])


def test_loss_target_shape_must_match():
    """A target of another shape is refused instead of silently broadcast."""
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target of shape "
                                         r"\(4, 1\) must have the input's shape \(4,\)"):
        F.binary_cross_entropy_with_logits(minigan.randn(4), minigan.ones(4, 1))


def test_loss_accepts_a_number_as_target():
    """A number as target means every label is that number (the usual 'real = 1' in a GAN)."""
    x = minigan.randn(6)
    ones = minigan.ones(6)
    assert F.binary_cross_entropy_with_logits(x, 1.0).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(x, ones).item())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_the_composition_to_the_last_bit(dtype):
    """The one-node loss gives the numbers of softplus(x) - t x composed of three nodes: the
    value, the gradient, and the gradient of a gradient (the unrolled GAN's), bit for bit,
    so that switching between the two changes no recorded result."""
    rng = np.random.default_rng(0)
    x_values = rng.standard_normal((63, 1)).astype(dtype) * 3   # 1/63: no power of 2
    labels = minigan.tensor(rng.uniform(0, 1, (63, 1)).astype(dtype))
    results = []
    for loss_of in (lambda x: F.binary_cross_entropy_with_logits(x, labels),
                    lambda x: (F.softplus(x) - labels * x).mean()):
        x = minigan.tensor(x_values, requires_grad=True)
        loss = loss_of(x)
        (gradient,) = minigan.grad(loss, x, create_graph=True)
        (second,) = minigan.grad((gradient * gradient).sum(), x)
        results.append([loss.numpy(), gradient.numpy(), second.numpy()])
    for fused, composed in zip(*results):
        np.testing.assert_array_equal(fused, composed)
