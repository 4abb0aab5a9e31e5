"""Optimizers: SGD, Adam and RMSprop in minigan.optim.

Each optimizer is checked three ways: its updates equal a plain-NumPy transcription
of the equations in its docstring (the oracle below); it has the property that makes
it worth using (it finds the minimum of a convex quadratic; Adam's steps do not
depend on the scale of the loss); and its bookkeeping (no graph, float32 kept,
groups, state_dict) works as in PyTorch.
"""
import numpy as np
import pytest

import minigan
from minigan import nn, optim


# --- the oracle: each docstring's equations, in float64 NumPy ---------------------------------
def reference_updates(name, settings, p, gradients):
    """Apply the update equations of ``name`` (as written in its docstring) to ``p``."""
    p = p.astype(np.float64).copy()
    lr, decay = settings["lr"], settings.get("weight_decay", 0.0)
    m = v = b = None
    for t, g in enumerate(gradients, start=1):
        g = g + decay * p
        if name == "SGD":
            mu, damp = settings.get("momentum", 0.0), settings.get("dampening", 0.0)
            if mu:
                b = g.copy() if b is None else mu * b + (1 - damp) * g
                g = g + mu * b if settings.get("nesterov") else b
            p = p - lr * g
        elif name == "Adam":
            b1, b2 = settings.get("betas", (0.9, 0.999))
            eps = settings.get("eps", 1e-8)
            m = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
            v = (1 - b2) * g * g if v is None else b2 * v + (1 - b2) * g * g
            p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        elif name == "RMSprop":
            alpha, eps = settings.get("alpha", 0.99), settings.get("eps", 1e-8)
            mu = settings.get("momentum", 0.0)
            v = (1 - alpha) * g * g if v is None else alpha * v + (1 - alpha) * g * g
            step = g / (np.sqrt(v) + eps)
            if mu:
                b = step if b is None else mu * b + step
                step = b
            p = p - lr * step
    return p


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.5, 0.999), weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9, weight_decay=0.1)),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in s.items())}" for name, s in CASES]


def _run(optimizer, p, gradients):
    for g in gradients:
        p.grad = minigan.tensor(g)
        optimizer.step()


@pytest.mark.parametrize("name, settings", CASES, ids=CASE_IDS)
def test_updates_follow_the_docstring_equations(name, settings):
    """Six steps with random gradients match the NumPy transcription of the docstring."""
    rng = np.random.default_rng(0)
    start = rng.standard_normal((4, 3)).astype(np.float32)
    gradients = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(6)]
    p = nn.Parameter(start)
    _run(getattr(optim, name)([p], **settings), p, gradients)
    expected = reference_updates(name, settings, start, gradients)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-5, atol=1e-6)


# --- what each optimizer is for ----------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.2),
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam(ps, lr=0.05),
    lambda ps: optim.RMSprop(ps, lr=0.05),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9),
], ids=["SGD", "SGD-momentum", "SGD-nesterov", "Adam", "RMSprop", "RMSprop-momentum"])
def test_optimizers_find_the_minimum_of_a_convex_quadratic(make):
    """On f(p) = 1/2 sum a_i (p_i - c_i)^2 (curvatures a from 0.5 to 4) every optimizer
    drives p from 0 to the minimiser c, using only minigan's autograd for the gradient."""
    curvature = minigan.tensor([0.5, 1.0, 2.0, 4.0])
    target = minigan.tensor([1.0, -2.0, 0.5, 3.0])
    p = nn.Parameter(np.zeros(4, dtype=np.float32))
    optimizer = make([p])
    for _ in range(300):
        optimizer.zero_grad()
        loss = 0.5 * (curvature * (p - target) ** 2).sum()
        loss.backward()
        optimizer.step()
    np.testing.assert_allclose(p.numpy(), target.numpy(), atol=1e-3)


def test_adam_first_step_moves_each_parameter_by_lr():
    """Bias correction makes Adam's first step exactly lr * sign(g) for every coordinate,
    whatever the size of g (m_hat = g, v_hat = g^2), up to eps."""
    lr = 0.01
    start = np.array([1.0, -2.0, 0.5, 3.0, 0.0], dtype=np.float32)
    g = np.array([1e-2, -3.0, 1e3, -1e-3, 0.5], dtype=np.float32)
    p = nn.Parameter(start)
    _run(optim.Adam([p], lr=lr), p, [g])
    np.testing.assert_allclose(start - p.numpy(), lr * np.sign(g), rtol=1e-4, atol=1e-6)


def test_adam_is_invariant_to_rescaling_the_loss():
    """Adam on the loss L and on 1000 L (or L / 100) takes the same steps (up to eps): its
    update m_hat / sqrt(v_hat) is unchanged when every gradient is multiplied by a constant."""
    rng = np.random.default_rng(1)
    x = minigan.tensor(rng.standard_normal((16, 5)).astype(np.float32))
    y = minigan.tensor(rng.standard_normal((16, 1)).astype(np.float32))
    results = []
    for scale in (1.0, 1000.0, 0.01):
        minigan.manual_seed(0)
        model = nn.Linear(5, 1)
        optimizer = optim.Adam(model.parameters(), lr=0.01)
        for _ in range(10):
            optimizer.zero_grad()
            (scale * ((model(x) - y) ** 2).mean()).backward()
            optimizer.step()
        results.append(model.weight.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(results[2], results[0], rtol=1e-4, atol=1e-6)


def test_sgd_is_not_invariant_to_rescaling_the_loss():
    """The contrast to the test above: SGD's step is proportional to the gradient."""
    p, q = nn.Parameter([1.0]), nn.Parameter([1.0])
    _run(optim.SGD([p], lr=0.1), p, [np.array([1.0], dtype=np.float32)])
    _run(optim.SGD([q], lr=0.1), q, [np.array([1000.0], dtype=np.float32)])
    assert p.item() == pytest.approx(0.9) and q.item() == pytest.approx(-99.0)


# --- bookkeeping ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, settings", CASES, ids=CASE_IDS)
def test_step_builds_no_graph_and_keeps_float32_in_place(name, settings, xp):
    """step() changes p.data in place: p stays the same float32 leaf on the same device,
    with no creator, even when lr is a NumPy float64 and the gradient has a graph of its own."""
    model = nn.Linear(3, 2)
    optimizer = getattr(optim, name)(model.parameters(), **{**settings, "lr": np.float64(0.1)})
    arrays = [p.data for p in model.parameters()]
    loss = (model(minigan.randn(4, 3)) ** 2).sum()
    loss.backward(create_graph=True)
    optimizer.step()
    for p, array in zip(model.parameters(), arrays):
        assert p.is_leaf and p.creator is None and p.requires_grad
        assert p.data is array and p.dtype == np.float32
        assert minigan.backend.array_module(p.data) is xp
    for state in optimizer.state.values():
        for key, value in state.items():
            if key != "step":
                assert value.dtype == np.float32 and minigan.backend.array_module(value) is xp


def test_parameters_without_gradient_are_left_alone():
    """A parameter whose .grad is None (unused this step) neither moves nor gets state."""
    used, unused = nn.Parameter([1.0]), nn.Parameter([2.0])
    optimizer = optim.Adam([used, unused], lr=0.1)
    (used * 3).sum().backward()
    optimizer.step()
    assert used.item() != 1.0 and unused.item() == 2.0
    assert unused not in optimizer.state


def test_zero_grad_sets_gradients_to_none():
    """zero_grad() forgets every gradient, so the next backward does not add to old ones."""
    model = nn.Linear(2, 2)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    model(minigan.randn(3, 2)).sum().backward()
    optimizer.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_param_groups_have_their_own_settings():
    """Groups as in PyTorch: each dict may override a default (here lr); the rest are filled in."""
    a, b = nn.Parameter([1.0]), nn.Parameter([1.0])
    optimizer = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.0)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.5]
    assert optimizer.param_groups[1]["momentum"] == 0.0
    (a + b).sum().backward()
    optimizer.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.5)


def test_bad_arguments_are_refused_with_a_reason():
    """Empty or exhausted parameter lists, non-leaves, repeats and bad settings raise clearly."""
    model = nn.Linear(2, 2)
    params = model.parameters()
    optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD(params, lr=0.1)   # the generator is used up
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(model.weight, lr=0.1)
    with pytest.raises(ValueError, match="leaf tensor with requires_grad=True"):
        optim.SGD([model.weight * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one place"):
        optim.SGD([model.weight, model.weight], lr=0.1)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(model.parameters(), betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD(model.parameters(), lr=0.1, nesterov=True)


# --- saving and resuming ---------------------------------------------------------------------
def _train(model, optimizer, x, steps):
    for _ in range(steps):
        optimizer.zero_grad()
        (model(x) ** 2).mean().backward()
        optimizer.step()


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.01, betas=(0.5, 0.999)),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5),
], ids=["SGD", "Adam", "RMSprop"])
def test_state_dict_round_trip_continues_identically(make, tmp_path):
    """Saving model and optimizer after 3 steps, loading both into fresh objects and taking
    3 more steps gives exactly the parameters of 6 uninterrupted steps (moments and step
    counts travel with the optimizer; without them Adam's bias correction would restart)."""
    x = minigan.randn(8, 4)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    optimizer = make(model.parameters())
    _train(model, optimizer, x, 3)
    np.savez(tmp_path / "model.npz", **model.state_dict())
    saved = optimizer.state_dict()
    assert all(type(v) is np.ndarray for s in saved["state"].values()
               for k, v in s.items() if k != "step")
    _train(model, optimizer, x, 3)

    minigan.manual_seed(99)   # different initial weights, to be overwritten by the load
    fresh = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    with np.load(tmp_path / "model.npz") as arrays:
        fresh.load_state_dict(dict(arrays))
    resumed = make(fresh.parameters())
    resumed.load_state_dict(saved)
    _train(fresh, resumed, x, 3)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value, err_msg=key)


def test_optimizer_state_dict_is_a_copy_both_ways():
    """The saved state does not change when training goes on, and loading it copies it,
    so a saved state can be loaded twice."""
    p = nn.Parameter([1.0, 2.0])
    optimizer = optim.Adam([p], lr=0.1)
    _run(optimizer, p, [np.ones(2, dtype=np.float32)])
    saved = optimizer.state_dict()
    moment = saved["state"][0]["exp_avg"].copy()
    assert saved["state"][0]["step"] == 1
    _run(optimizer, p, [np.ones(2, dtype=np.float32)])
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], moment)
    optimizer.load_state_dict(saved)
    _run(optimizer, p, [np.ones(2, dtype=np.float32)])
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], moment)
    assert optimizer.state[p]["step"] == 2


def test_optimizer_load_restores_settings_and_checks_shapes():
    """Loading restores the saved learning rate; a state of the wrong shape is refused by name."""
    p = nn.Parameter([1.0, 2.0])
    source = optim.Adam([p], lr=0.123)
    _run(source, p, [np.ones(2, dtype=np.float32)])
    target = optim.Adam([nn.Parameter([0.0, 0.0])], lr=1.0)
    target.load_state_dict(source.state_dict())
    assert target.param_groups[0]["lr"] == 0.123
    wrong = optim.Adam([nn.Parameter([0.0, 0.0, 0.0])])
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(2,\), "
                                         r"the parameter has shape \(3,\)"):
        wrong.load_state_dict(source.state_dict())


def _adam_trajectory(shapes, steps=3):
    """Parameters of the given shapes (a 0-d one too) after a few Adam steps, as arrays."""
    rng = np.random.default_rng(5)
    params = [minigan.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
              for shape in shapes]
    opt = optim.Adam(params, lr=0.1, betas=(0.5, 0.9), weight_decay=0.01)
    for _ in range(steps):
        for p in params:
            p.grad = minigan.tensor(rng.standard_normal(p.shape).astype(np.float32))
        opt.step()
    return [p.numpy() for p in params] + [minigan.backend.to_numpy(opt.state[p][key])
                                          for key in ("exp_avg", "exp_avg_sq") for p in params]


def test_adam_split_over_threads_gives_the_same_bits(same_bits_on_threads):
    """Adam splits a parameter's rows over the host's threads (backend.in_parts): each
    element's update is its own, so three threads give what one gives, bit for bit, and
    every part's update lands in the parameter (a 7-row matrix, a vector, a 0-d scalar)."""
    shapes = [(7, 5), (9,), ()]
    names = [f"{what} of the {shape} parameter" for what in ("value", "exp_avg", "exp_avg_sq")
             for shape in shapes]
    same_bits_on_threads(lambda: _adam_trajectory(shapes), names, "Adam")
