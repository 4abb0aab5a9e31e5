"""Modules, layers and initialisers: minigan.nn.Module, its layers and minigan.nn.init.

The layers' math is tested with nn.functional (test_functional.py, test_conv.py);
these tests check the bookkeeping around it: which tensors a model owns and what
they are called, modes, saving and loading, default and DCGAN initialisations,
and that each layer wires its state into the right kernel.
"""
import collections
import copy
import math

import numpy as np
import pytest

import minigan
from minigan import models, nn
from minigan.nn import init


def small_dcgan_discriminator():
    """A DCGAN discriminator for 28 x 28 images (as in chapter 3): 138,689 parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),               # -> 14 x 14
        nn.Conv2d(64, 128, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(128),
        nn.LeakyReLU(0.2),                                                          # -> 7 x 7
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))


class Scaled(nn.Module):
    """A model with its own parameter, a buffer and a nested child, for the registry tests."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4))
        self.scale = nn.Parameter([2.0])
        self.register_buffer("calls", minigan.zeros(1))

    def forward(self, x):
        return self.body(x) * self.scale


# --- the registry ----------------------------------------------------------------------------
def test_parameter_is_a_float32_leaf_that_requires_grad(xp):
    """A Parameter is a trainable leaf: requires_grad, float32 from Python numbers, on the device"""
    p = nn.Parameter([[1.0, 2.0]])
    assert isinstance(p, minigan.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float32 and p.shape == (1, 2)
    assert minigan.backend.array_module(p.data) is xp
    assert repr(p).startswith("Parameter containing:")


def test_named_parameters_follow_pytorch_naming_and_order():
    """Own parameters first, then the children's with dotted paths ('body.0.weight').

    The names are the keys of state_dict, so they must be stable and match PyTorch's.
    """
    names = [name for name, _ in Scaled().named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"]


def test_sequential_names_children_by_position():
    """Children of a Sequential are '0', '1', ..., so its parameters are '0.weight', ..."""
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1, bias=False))
    assert [name for name, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight"]
    assert [name for name, _ in net.named_modules()] == ["", "0", "1", "2"]
    assert [type(m).__name__ for m in net.children()] == ["Linear", "Tanh", "Linear"]


def test_dcgan_discriminator_has_the_known_parameter_count():
    """The parameter count equals the hand count (and PyTorch's for the same model):

    conv 1->64, 4x4, bias:    64*1*16 + 64  =   1,088
    conv 64->128, 4x4:        128*64*16     = 131,072
    batch norm 128 (w, b):    2*128         =     256
    linear 6272 -> 1, bias:   6272 + 1      =   6,273      total 138,689.
    Buffers (running statistics) are not parameters and must not be counted.
    """
    net = small_dcgan_discriminator()
    assert sum(p.size for p in net.parameters()) == 138_689
    assert len(list(net.parameters())) == 7


def test_buffers_are_saved_but_not_trained():
    """Batch norm's running statistics are buffers: saved in state_dict, but not parameters."""
    model = Scaled()
    buffers = [name for name, _ in model.named_buffers()]
    assert buffers == ["calls", "body.2.running_mean", "body.2.running_var",
                       "body.2.num_batches_tracked"]
    parameter_ids = {id(p) for p in model.parameters()}
    assert not any(id(b) in parameter_ids for b in model.buffers())
    assert set(buffers) <= set(model.state_dict())


def test_non_persistent_buffer_is_not_saved():
    """register_buffer(..., persistent=False) keeps a buffer out of state_dict."""
    model = nn.Module()
    model.register_buffer("cache", minigan.zeros(2), persistent=False)
    assert [name for name, _ in model.named_buffers()] == ["cache"]
    assert list(model.state_dict()) == []


def test_shared_layers_and_tied_weights_are_counted_once():
    """A layer used twice, or one Parameter owned by two layers (tied weights), reaches the
    optimizer once: a parameter listed twice would be updated twice per step."""
    shared = nn.Linear(4, 4)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(net.parameters())) == 2
    first, second = nn.Linear(4, 4), nn.Linear(4, 4)
    second.weight = first.weight
    assert [name for name, _ in nn.Sequential(first, second).named_parameters()] == [
        "0.weight", "0.bias", "1.bias"]


def test_deepcopy_gives_an_independent_model():
    """copy.deepcopy(model) (how an EMA copy of a generator starts) copies every tensor:
    changing the copy's weights leaves the original as it was."""
    model = Scaled()
    twin = copy.deepcopy(model)
    init.zeros_(twin.body[0].weight)
    assert isinstance(twin.body[0].weight, nn.Parameter)
    assert not np.all(model.body[0].weight.numpy() == 0)
    assert list(twin.state_dict()) == list(model.state_dict())


def test_train_and_eval_reach_every_submodule():
    """train()/eval() set .training on every module of the tree (dropout and batch norm read it)."""
    model = Scaled()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_apply_visits_children_before_the_parent():
    """apply(fn) calls fn on every module, children first, as PyTorch does."""
    model = Scaled()
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "ReLU", "BatchNorm1d", "Sequential", "Scaled"]


def test_zero_grad_forgets_every_gradient():
    """zero_grad() sets .grad of every parameter back to None."""
    model = Scaled()
    model(minigan.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_forgetting_super_init_is_explained():
    """A subclass that forgets super().__init__() gets an error saying so."""
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken().state_dict()


def test_repr_lists_children_like_pytorch():
    """repr(model) shows each child with its settings, indented under its name."""
    net = nn.Sequential(nn.Linear(100, 50), nn.LeakyReLU(0.2), nn.Dropout(0.3))
    assert repr(net) == ("Sequential(\n"
                         "  (0): Linear(in_features=100, out_features=50, bias=True)\n"
                         "  (1): LeakyReLU(negative_slope=0.2)\n"
                         "  (2): Dropout(p=0.3)\n"
                         ")")


# --- saving and loading ----------------------------------------------------------------------
def _trained_a_little(model):
    """Run two training-mode batches, so batch norm's running statistics leave their defaults."""
    for _ in range(2):
        model(minigan.randn(8, 1, 28, 28) * 2 + 1)
    return model


def test_state_dict_holds_host_numpy_copies(tmp_path):
    """state_dict values are independent NumPy arrays, so they can go straight to numpy.savez."""
    model = _trained_a_little(small_dcgan_discriminator())
    state = model.state_dict()
    assert list(state)[:3] == ["0.weight", "0.bias", "2.weight"]
    assert all(type(v) is np.ndarray for v in state.values())
    state["0.bias"][:] = 123.0
    assert not np.any(model[0].bias.numpy() == 123.0)
    np.savez(tmp_path / "d.npz", **model.state_dict())
    with np.load(tmp_path / "d.npz") as saved:
        assert set(saved.files) == set(state)


def test_state_dict_round_trip_reproduces_outputs_exactly(tmp_path):
    """A fresh model loaded from a saved state_dict computes exactly the same outputs.

    Batch norm's running statistics must travel too, or the eval-mode outputs differ.
    """
    minigan.manual_seed(1)
    source = _trained_a_little(small_dcgan_discriminator()).eval()
    np.savez(tmp_path / "d.npz", **source.state_dict())
    minigan.manual_seed(2)
    target = small_dcgan_discriminator().eval()
    with np.load(tmp_path / "d.npz") as saved:
        result = target.load_state_dict(dict(saved))
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = minigan.randn(4, 1, 28, 28)
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())
    assert int(target[3].num_batches_tracked.item()) == 2


def test_load_state_dict_writes_in_place_on_the_module_device(xp):
    """Loading copies values into the existing tensors (an optimizer's references stay valid),
    on the module's device, in the module's dtype; Tensors are accepted too."""
    model = nn.Linear(3, 2)
    weight_array = model.weight.data
    state = {"weight": minigan.tensor(np.ones((2, 3))), "bias": np.zeros(2, dtype=np.float64)}
    model.load_state_dict(state)
    assert model.weight.data is weight_array
    assert minigan.backend.array_module(model.weight.data) is xp
    assert model.weight.dtype == np.float32 and model.bias.dtype == np.float32
    np.testing.assert_array_equal(model.weight.numpy(), np.ones((2, 3)))


def test_load_state_dict_names_missing_and_unexpected_keys():
    """A strict load refuses a state with missing or extra entries and names every one of them."""
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    state = model.state_dict()
    del state["1.running_var"]
    state["1.typo"] = np.zeros(2)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "missing key(s): '1.running_var'" in message
    assert "unexpected key(s): '1.typo'" in message


def test_load_state_dict_names_key_and_both_shapes_on_mismatch():
    """A shape mismatch names the key, the saved shape and the model's shape."""
    model = nn.Linear(3, 2)
    state = model.state_dict()
    state["weight"] = np.zeros((2, 4), dtype=np.float32)
    with pytest.raises(RuntimeError, match=r"'weight': the state_dict has shape \(2, 4\), "
                                           r"the module's tensor has shape \(2, 3\)"):
        model.load_state_dict(state)


def test_failed_load_changes_nothing():
    """Every key is checked before any is written: a failed load leaves the model as it was."""
    model = nn.Linear(3, 2)
    before = model.state_dict()
    state = {"weight": np.zeros((2, 3)), "bias": np.zeros(5)}
    with pytest.raises(RuntimeError):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model.weight.numpy(), before["weight"])


def test_non_strict_load_reports_the_keys_it_skipped():
    """strict=False loads what matches and returns the missing and unexpected keys."""
    model = nn.Linear(3, 2)
    result = model.load_state_dict({"bias": np.full(2, 7.0), "extra": np.zeros(1)}, strict=False)
    assert result.missing_keys == ["weight"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model.bias.numpy(), [7.0, 7.0])


# --- default initialisation ------------------------------------------------------------------
@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Linear(100, 50), 100),
    (lambda: nn.Conv2d(3, 64, 4, stride=2, padding=1), 3 * 4 * 4),
    # PyTorch reads the fan-in of ConvTranspose2d's (in, out, kh, kw) weight as out * kh * kw.
    (lambda: nn.ConvTranspose2d(100, 64, 4), 64 * 4 * 4),
], ids=["Linear", "Conv2d", "ConvTranspose2d"])
def test_default_init_is_uniform_within_pytorchs_bounds(make, fan_in):
    """Weights and biases are U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's defaults.

    Checked both ways: every value lies within the bound, the extremes come close
    to it, and the standard deviation is bound/sqrt(3), so a bound computed from
    the wrong fan (fan_out, or in_channels for ConvTranspose2d) fails.
    """
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    for name, tensor in (("weight", layer.weight), ("bias", layer.bias)):
        values = tensor.numpy()
        assert values.dtype == np.float32
        assert np.abs(values).max() <= bound, name
        assert np.abs(values).max() > 0.9 * bound, name
        if values.size > 1000:
            assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.03), name


def test_manual_seed_makes_initialisation_reproducible():
    """The same seed gives the same weights; another seed gives different ones."""
    def weights(seed):
        minigan.manual_seed(seed)
        return small_dcgan_discriminator().state_dict()

    first, again, other = weights(7), weights(7), weights(8)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["0.weight"], other["0.weight"])


# --- minigan.nn.init -------------------------------------------------------------------------
def test_fan_in_and_fan_out_read_the_weight_shape():
    """fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field."""
    assert init.fan_in_and_fan_out(minigan.zeros(50, 100)) == (100, 50)
    assert init.fan_in_and_fan_out(minigan.zeros(64, 3, 4, 4)) == (48, 1024)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fan_in_and_fan_out(minigan.zeros(5))


@pytest.mark.parametrize("fill, low, high, std", [
    (lambda t: init.uniform_(t, -2.0, 3.0), -2.0, 3.0, 5 / math.sqrt(12)),
    (lambda t: init.xavier_uniform_(t), -math.sqrt(6 / 600), math.sqrt(6 / 600),
     math.sqrt(2 / 600)),
    (lambda t: init.kaiming_uniform_(t, a=0.0), -math.sqrt(6 / 200), math.sqrt(6 / 200),
     math.sqrt(2 / 200)),
], ids=["uniform_", "xavier_uniform_", "kaiming_uniform_"])
def test_uniform_initialisers_hit_their_range_and_spread(fill, low, high, std):
    """Uniform rules on a (400, 200) weight: values in [low, high], standard deviation as derived"""
    t = fill(minigan.zeros(400, 200))
    values = t.numpy()
    assert values.dtype == np.float32
    assert values.min() >= low and values.max() <= high
    assert values.std() == pytest.approx(std, rel=0.02)


@pytest.mark.parametrize("fill, mean, std", [
    (lambda t: init.normal_(t, 1.5, 0.3), 1.5, 0.3),
    (lambda t: init.xavier_normal_(t, gain=2.0), 0.0, 2 * math.sqrt(2 / 600)),
    (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), 0.0, math.sqrt(2 / 200)),
], ids=["normal_", "xavier_normal_", "kaiming_normal_"])
def test_normal_initialisers_have_their_mean_and_std(fill, mean, std):
    """Normal rules on a (400, 200) weight: sample mean and standard deviation as derived."""
    values = fill(minigan.zeros(400, 200)).numpy()
    assert values.dtype == np.float32
    assert values.mean() == pytest.approx(mean, abs=0.01 * std + 1e-3 * abs(mean))
    assert values.std() == pytest.approx(std, rel=0.02)


def test_constant_initialisers():
    """zeros_, ones_ and constant_ fill the whole tensor in place."""
    t = minigan.randn(3, 2)
    data = t.data
    assert init.zeros_(t) is t and t.data is data
    np.testing.assert_array_equal(t.numpy(), 0)
    np.testing.assert_array_equal(init.ones_(t).numpy(), 1)
    np.testing.assert_array_equal(init.constant_(t, 0.25).numpy(), 0.25)


def test_calculate_gain_matches_pytorch():
    """The gains PyTorch uses: tanh 5/3, relu sqrt(2), leaky_relu(a) sqrt(2/(1+a^2))."""
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_dcgan_init_draws_weights_with_std_002():
    """After model.apply(models.dcgan_init_): conv/convT/linear weights ~ N(0, 0.02^2), biases 0,
    batch-norm scales ~ N(1, 0.02^2), batch-norm shifts 0 (Radford et al. 2015)."""
    model = nn.Sequential(nn.ConvTranspose2d(100, 128, 4), nn.BatchNorm2d(20000), nn.ReLU(),
                          nn.Conv2d(128, 64, 4), nn.Linear(1000, 100))
    assert model.apply(models.dcgan_init_) is model
    for index in (0, 3, 4):
        w = model[index].weight.numpy()
        assert w.std() == pytest.approx(0.02, rel=0.02) and abs(w.mean()) < 5e-4
        np.testing.assert_array_equal(model[index].bias.numpy(), 0)
    gamma = model[1].weight.numpy()
    assert gamma.mean() == pytest.approx(1.0, abs=1e-3)
    assert gamma.std() == pytest.approx(0.02, rel=0.03)
    np.testing.assert_array_equal(model[1].bias.numpy(), 0)


# --- what each layer computes ----------------------------------------------------------------
def test_linear_computes_x_times_weight_transposed_plus_bias():
    """Linear(x) = x @ W.T + b, against NumPy in float64; gradients reach W and b."""
    layer = nn.Linear(4, 3)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    y = layer(minigan.tensor(x))
    w, b = layer.weight.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64)
    np.testing.assert_allclose(y.numpy(), x @ w.T + b, rtol=1e-5, atol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(layer.bias.grad.numpy(), np.full(3, 5.0))
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.tile(x.sum(0), (3, 1)), rtol=1e-5)


@pytest.mark.parametrize("layer, in_shape, out_shape", [
    (nn.Conv2d(1, 8, 4, stride=2, padding=1), (2, 1, 28, 28), (2, 8, 14, 14)),
    (nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1), (2, 8, 7, 7), (2, 3, 14, 14)),
    (nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1, output_padding=1), (2, 8, 7, 7),
     (2, 3, 14, 14)),
    (nn.ConvTranspose2d(100, 16, 7), (2, 100, 1, 1), (2, 16, 7, 7)),
], ids=["conv", "convT", "convT-output_padding", "convT-project"])
def test_convolution_layers_pass_stride_padding_and_bias(layer, in_shape, out_shape):
    """Each convolution layer hands its stride and padding to the kernel (the output shape
    shows it) and adds its bias: with zero weights the output is the bias in every pixel."""
    init.zeros_(layer.weight)
    y = layer(minigan.randn(*in_shape))
    assert y.shape == out_shape
    expected = np.broadcast_to(layer.bias.numpy().reshape(1, -1, 1, 1), out_shape)
    np.testing.assert_array_equal(y.numpy(), expected)


def test_batch_norm_layer_tracks_and_then_uses_running_statistics():
    """In training mode BatchNorm2d updates running_mean/var (momentum 0.1) and counts batches;
    in eval mode it normalises with those running statistics."""
    bn = nn.BatchNorm2d(3)
    x = minigan.randn(16, 3, 4, 4) * 3 + 2
    bn(x)
    xs = x.numpy().astype(np.float64)
    mean, var = xs.mean(axis=(0, 2, 3)), xs.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean, rtol=1e-4)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var, rtol=1e-4)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    y = bn(x).numpy()
    rm, rv = bn.running_mean.numpy().reshape(1, 3, 1, 1), bn.running_var.numpy().reshape(1, 3, 1, 1)
    np.testing.assert_allclose(y, (xs - rm) / np.sqrt(rv + 1e-5), rtol=1e-4, atol=1e-5)
    assert bn.num_batches_tracked.item() == 1


def test_batch_norm_layers_check_the_input_rank():
    """BatchNorm1d wants (N, C), BatchNorm2d wants (N, C, H, W); the error says which."""
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input of shape \(N, C, H, W\)"):
        nn.BatchNorm2d(3)(minigan.randn(4, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input of shape \(N, C\)"):
        nn.BatchNorm1d(3)(minigan.randn(4, 3, 2, 2))


def test_activation_layers_match_their_formulas():
    """ReLU, LeakyReLU, Tanh and Sigmoid against NumPy."""
    x = np.linspace(-3, 3, 13, dtype=np.float32)
    t = minigan.tensor(x)
    np.testing.assert_allclose(nn.ReLU()(t).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(t).numpy(), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(nn.Tanh()(t).numpy(), np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(nn.Sigmoid()(t).numpy(), 1 / (1 + np.exp(-x)), rtol=1e-6)


def test_sequential_chains_its_modules():
    """Sequential(a, b, c)(x) == c(b(a(x))); indexing, slicing, len and append behave as lists."""
    a, b, c = nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)
    net = nn.Sequential(a, b, c)
    x = minigan.randn(5, 3)
    np.testing.assert_array_equal(net(x).numpy(), c(b(a(x))).numpy())
    assert len(net) == 3 and net[0] is a and net[-1] is c and list(net) == [a, b, c]
    np.testing.assert_array_equal(net[:2](x).numpy(), b(a(x)).numpy())
    net.append(nn.Sigmoid())
    assert len(net) == 4 and [n for n, _ in net.named_children()][-1] == "3"
    named = nn.Sequential(collections.OrderedDict([("fc", nn.Linear(3, 2)), ("act", nn.ReLU())]))
    assert [name for name, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_flatten_and_unflatten_are_inverse_reshapes():
    """Flatten: (N, C, H, W) -> (N, C*H*W); Unflatten(1, (C, H, W)) undoes it, values untouched."""
    x = minigan.randn(2, 3, 4, 5)
    flat = nn.Flatten()(x)
    assert flat.shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    back = nn.Unflatten(1, (3, 4, 5))(flat)
    assert back.shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    assert nn.Unflatten(-1, (2, -1))(flat).shape == (2, 2, 30)


def test_dropout_is_identity_in_eval_and_rescales_in_training():
    """Eval: y = x. Training: each y is 0 or x / (1 - p), and about a fraction p is dropped."""
    p = 0.25
    layer = nn.Dropout(p)
    x = minigan.rand(200, 100) + 1.0
    y = layer(x).numpy()
    xs = x.numpy()
    dropped = y == 0
    np.testing.assert_allclose(y[~dropped], xs[~dropped] / (1 - p), rtol=1e-6)
    assert dropped.mean() == pytest.approx(p, abs=0.02)
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), xs)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        nn.Dropout(1.0)


def test_parameters_live_on_the_current_device(xp):
    """Layers create their parameters and buffers on the device the suite runs on."""
    model = small_dcgan_discriminator()
    for tensor in list(model.parameters()) + list(model.buffers()):
        assert minigan.backend.array_module(tensor.data) is xp


def test_maxout_is_the_max_of_its_affine_pieces():
    """Maxout(in, out, k) outputs, per unit, the largest of its k affine pieces, and its
    gradient (through max) agrees with finite differences away from ties."""
    layer = nn.Maxout(5, 3, 4)
    x = minigan.randn(6, 5)
    weight, bias = layer.linear.weight.numpy(), layer.linear.bias.numpy()
    expected = (x.numpy() @ weight.T + bias).reshape(6, 3, 4).max(axis=2)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-6, atol=1e-6)
    x64 = minigan.tensor(np.random.default_rng(0).standard_normal((4, 5)), requires_grad=True)
    w64 = minigan.tensor(weight.astype(np.float64), requires_grad=True)
    b64 = minigan.tensor(bias.astype(np.float64), requires_grad=True)

    def maxout(x, w, b):
        return minigan.nn.functional.linear(x, w, b).reshape(4, 3, 4).max(axis=2)

    assert minigan.gradcheck(maxout, [x64, w64, b64])
