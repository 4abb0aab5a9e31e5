"""LayerNorm and InstanceNorm2d, and their kernels F.layer_norm and F.instance_norm.

Outputs against the formula written directly in NumPy; first- and second-order
gradient checks in float64 (both are compositions, so the gradient flows through
the mean and the variance, to any order); each sample normalised on its own (what a
gradient-penalty critic needs, and what batch norm does not do); the layers'
parameters, buffers and PyTorch defaults.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan import nn
from minigan.nn import functional as F
from tests.strategies import leaf


def numpy_layer_norm(x, k, weight=None, bias=None, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    return y * (1 if weight is None else weight) + (0 if bias is None else bias)


def numpy_instance_norm(x, weight=None, bias=None, eps=1e-5):
    mu = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    shape = (1, -1, 1, 1)
    return (y * (1 if weight is None else weight.reshape(shape))
            + (0 if bias is None else bias.reshape(shape)))


# --- values ---------------------------------------------------------------------------------------
@settings(max_examples=25)
@given(shape=st.sampled_from([(4, 6), (3, 2, 5), (2, 3, 4, 4)]), k=st.integers(1, 2),
       seed=st.integers(0, 1000), scale=st.floats(0.1, 10), shift=st.floats(-5, 5),
       affine=st.booleans())
def test_layer_norm_matches_numpy(shape, k, seed, scale, shift, affine):
    """y = (x - mu) / sqrt(var + eps) * weight + bias over the last k axes of each sample."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale + shift
    normalized = shape[-k:]
    weight = rng.standard_normal(normalized) if affine else None
    bias = rng.standard_normal(normalized) if affine else None
    y = F.layer_norm(leaf(x, requires_grad=False), normalized,
                     None if weight is None else leaf(weight, requires_grad=False),
                     None if bias is None else leaf(bias, requires_grad=False))
    np.testing.assert_allclose(y.numpy(), numpy_layer_norm(x, k, weight, bias), rtol=1e-10,
                               atol=1e-12)


@settings(max_examples=25)
@given(shape=st.sampled_from([(2, 3, 4, 4), (1, 2, 3, 5), (3, 1, 2, 2)]),
       seed=st.integers(0, 1000), scale=st.floats(0.1, 10), shift=st.floats(-5, 5),
       affine=st.booleans())
def test_instance_norm_matches_numpy(shape, seed, scale, shift, affine):
    """y[n, c] = (x[n, c] - mu_nc) / sqrt(var_nc + eps) * weight[c] + bias[c], over H and W."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale + shift
    weight = rng.standard_normal(shape[1]) if affine else None
    bias = rng.standard_normal(shape[1]) if affine else None
    y = F.instance_norm(leaf(x, requires_grad=False),
                        weight=None if weight is None else leaf(weight, requires_grad=False),
                        bias=None if bias is None else leaf(bias, requires_grad=False))
    np.testing.assert_allclose(y.numpy(), numpy_instance_norm(x, weight, bias), rtol=1e-10,
                               atol=1e-12)


def test_the_layers_compute_their_kernels():
    """LayerNorm(shape) and InstanceNorm2d(C) give the formulas with their initial weights."""
    x = (np.random.default_rng(0).standard_normal((2, 3, 4, 4)) * 2 + 1).astype(np.float32)
    ln = nn.LayerNorm((3, 4, 4))
    y = ln(minigan.tensor(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), numpy_layer_norm(x.astype(np.float64), 3), rtol=1e-4,
                               atol=1e-5)
    inorm = nn.InstanceNorm2d(3)
    np.testing.assert_allclose(inorm(minigan.tensor(x)).numpy(),
                               numpy_instance_norm(x.astype(np.float64)), rtol=1e-4, atol=1e-5)


def test_each_sample_is_normalised_on_its_own():
    """Layer and instance norm of one sample do not depend on the rest of the batch (so a
    critic's per-sample gradient is well defined); batch norm's does."""
    x = np.random.default_rng(1).standard_normal((4, 3, 2, 2)).astype(np.float32)
    alone, batch = minigan.tensor(x[:1]), minigan.tensor(x)
    for norm in (lambda t: F.layer_norm(t, (3, 2, 2)), lambda t: F.instance_norm(t)):
        np.testing.assert_allclose(norm(alone).numpy()[0], norm(batch).numpy()[0], rtol=1e-6)
    bn = nn.BatchNorm2d(3)
    assert not np.allclose(bn(minigan.tensor(x[:2])).numpy()[0], bn(minigan.tensor(x)).numpy()[0])


# --- gradients ------------------------------------------------------------------------------------
def test_layer_norm_first_and_second_order_gradcheck():
    rng = np.random.default_rng(2)
    x, w, b = (leaf(rng.standard_normal(s)) for s in [(3, 4), (4,), (4,)])
    assert minigan.gradcheck(lambda x, w, b: F.layer_norm(x, 4, w, b), [x, w, b])
    assert minigan.gradgradcheck(lambda x, w, b: F.layer_norm(x, 4, w, b) ** 2, [x, w, b])
    x2 = leaf(rng.standard_normal((2, 2, 3)))
    assert minigan.gradgradcheck(lambda x: F.layer_norm(x, (2, 3)) ** 2, [x2])


def test_instance_norm_first_and_second_order_gradcheck():
    rng = np.random.default_rng(3)
    x, w, b = (leaf(rng.standard_normal(s)) for s in [(2, 2, 2, 3), (2,), (2,)])
    assert minigan.gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [x, w, b])
    assert minigan.gradgradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b) ** 2,
                                 [x, w, b])


def test_the_gradient_flows_through_the_statistics():
    """Standardising removes the mean: adding a constant to a sample's group changes nothing,
    so the gradient of any loss sums to 0 over each group. A version that treated mu as a
    constant would not have this property."""
    rng = np.random.default_rng(4)
    x = leaf(rng.standard_normal((3, 5)))
    weights = leaf(rng.standard_normal((3, 5)), requires_grad=False)
    (g,) = minigan.grad((F.layer_norm(x, 5) * weights).sum(), x)
    np.testing.assert_allclose(g.numpy().sum(axis=1), 0, atol=1e-12)
    y = leaf(rng.standard_normal((2, 2, 3, 3)))
    weights = leaf(rng.standard_normal((2, 2, 3, 3)), requires_grad=False)
    (g,) = minigan.grad((F.instance_norm(y) * weights).sum(), y)
    np.testing.assert_allclose(g.numpy().sum(axis=(2, 3)), 0, atol=1e-12)


# --- the layers: parameters, defaults, running statistics -----------------------------------------
def test_layer_norm_parameters():
    """elementwise_affine: weight (ones) and bias (zeros) of normalized_shape, as in PyTorch."""
    ln = nn.LayerNorm((3, 4))
    assert [name for name, _ in ln.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(ln.weight.numpy(), np.ones((3, 4)))
    np.testing.assert_array_equal(ln.bias.numpy(), np.zeros((3, 4)))
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []
    assert [name for name, _ in nn.LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    assert nn.LayerNorm(5)(minigan.randn(2, 5)).dtype == np.float32


def test_instance_norm_defaults_are_pytorchs():
    """No affine parameters and no running statistics by default; then training and
    evaluation compute the same thing."""
    inorm = nn.InstanceNorm2d(3)
    assert list(inorm.parameters()) == [] and list(inorm.buffers()) == []
    x = minigan.randn(2, 3, 4, 4)
    training = inorm(x).numpy()
    np.testing.assert_array_equal(inorm.eval()(x).numpy(), training)
    affine = nn.InstanceNorm2d(3, affine=True)
    assert [name for name, _ in affine.named_parameters()] == ["weight", "bias"]


def test_instance_norm_running_statistics():
    """track_running_stats: training updates the running mean and (unbiased) variance by
    momentum with the batch's average per-instance statistics, as PyTorch does; evaluation
    then normalises with them."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((4, 2, 3, 3)) * 3 + 1).astype(np.float32)
    inorm = nn.InstanceNorm2d(2, momentum=0.1, track_running_stats=True)
    assert sorted(inorm.state_dict()) == ["running_mean", "running_var"]
    inorm(minigan.tensor(x))
    np.testing.assert_allclose(inorm.running_mean.numpy(), 0.1 * x.mean(axis=(2, 3)).mean(axis=0),
                               rtol=1e-5)
    np.testing.assert_allclose(inorm.running_var.numpy(),
                               0.9 + 0.1 * x.var(axis=(2, 3), ddof=1).mean(axis=0), rtol=1e-5)
    mean, var = inorm.running_mean.numpy(), inorm.running_var.numpy()
    y = inorm.eval()(minigan.tensor(x)).numpy()
    expected = (x - mean.reshape(1, -1, 1, 1)) / np.sqrt(var.reshape(1, -1, 1, 1) + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"layer_norm: input of shape \(2, 5\) must end in "
                                         r"normalized_shape \(4,\)"):
        F.layer_norm(minigan.randn(2, 5), 4)
    with pytest.raises(ValueError, match=r"InstanceNorm2d: expected input of shape \(N, C, H, W\)"):
        nn.InstanceNorm2d(3)(minigan.randn(2, 3))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(minigan.randn(2, 3, 1, 1))
    with pytest.raises(ValueError, match=r"weight has shape \(3,\)"):
        F.instance_norm(minigan.randn(2, 2, 3, 3), weight=minigan.ones(3))
