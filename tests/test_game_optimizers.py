"""Optimizers for games in minigan.optim: ExtraSGD (extragradient) and OptimisticSGD.

Each is checked against a NumPy transcription of its docstring's equations, on the game that
defeats plain gradient steps (the bilinear game min_x max_y x y, where they spiral out), and
for its bookkeeping (misuse refused, float32 kept, no graph, state_dict round trip).
"""
import numpy as np
import pytest

import minigan
from minigan import optim
from minigan.gan import dynamics

# The players' field of the bilinear game L = c x y (x descends L, y ascends it):
# v = (-c y, c x) = J w, so each player's gradient of its own loss is g(w) = -J w.
C = 0.5
J = np.array([[0.0, -C], [C, 0.0]])


def set_gradients(params):
    """p.grad = g(w) = -J w for the point w held by the two parameters."""
    w = np.array([p.item() for p in params])
    for p, g in zip(params, -J @ w):
        p.grad = minigan.tensor([g], dtype=p.dtype)


def bilinear_params(start=(1.0, 0.5), dtype="float64"):
    return [minigan.tensor([value], requires_grad=True, dtype=dtype) for value in start]


def run(optimizer_class, steps, lr, start=(1.0, 0.5)):
    params = bilinear_params(start)
    optimizer = optimizer_class(params, lr=lr)
    path = [np.array(start)]
    for _ in range(steps):
        set_gradients(params)
        if isinstance(optimizer, optim.ExtraSGD):
            optimizer.extrapolate()
            set_gradients(params)
        optimizer.step()
        path.append(np.array([p.item() for p in params]))
    return np.array(path)


def test_extragradient_step_is_the_docstring_equation():
    """w_new = w - lr g(w - lr g(w)) for the linear g(w) = -J w, i.e. (I + lr J + lr^2 J^2) w."""
    lr, w = 0.3, np.array([1.0, 0.5])
    path = run(optim.ExtraSGD, 1, lr)
    half = w - lr * (-J @ w)
    expected = w - lr * (-J @ half)
    np.testing.assert_allclose(path[1], expected, rtol=1e-14)
    np.testing.assert_allclose(path[1], (np.eye(2) + lr * J + lr ** 2 * J @ J) @ w, rtol=1e-14)


def test_optimistic_steps_are_the_docstring_equation():
    """w_{t+1} = w_t - lr (2 g_t - g_{t-1}), with g_{-1} = g_0, on gradients given by hand."""
    p = minigan.tensor([0.2, -1.0, 3.0], requires_grad=True, dtype="float64")
    optimizer = optim.OptimisticSGD([p], lr=0.1)
    rng = np.random.default_rng(0)
    expected, previous = p.numpy().copy(), None
    for _ in range(4):
        g = rng.standard_normal(3)
        p.grad = minigan.tensor(g, dtype="float64")
        optimizer.step()
        expected = expected - 0.1 * (2 * g - (g if previous is None else previous))
        previous = g
        np.testing.assert_allclose(p.numpy(), expected, rtol=1e-14)


@pytest.mark.parametrize("method", ["extragradient", "optimistic"])
def test_game_optimizers_spiral_in_where_gradient_steps_spiral_out(method):
    """On the bilinear game SGD's distance to the equilibrium grows like sqrt(1 + lr^2 c^2)^k;
    the look-ahead methods' falls, at the rate the spectral radius of their linear map says."""
    lr, steps = 0.2, 300
    sgd = np.linalg.norm(run(optim.SGD, steps, lr), axis=1)
    assert sgd[-1] > 1.5 * sgd[0]
    optimizer = {"extragradient": optim.ExtraSGD, "optimistic": optim.OptimisticSGD}[method]
    path = run(optimizer, steps, lr)
    assert np.linalg.norm(path[-1]) < 0.5 * np.linalg.norm(path[0])
    predicted = dynamics.spectral_radius(dynamics.update_matrix(method, J, lr))
    measured = dynamics.measured_rate(path, 20)
    assert abs(np.log(measured) / np.log(predicted) - 1) < 0.02


def test_extragradient_minimises_a_convex_quadratic():
    """Not only games: on f(w) = |w|^2 / 2 (g = w) each step multiplies w by 1 - lr + lr^2."""
    p = minigan.tensor([2.0, -1.0], requires_grad=True, dtype="float64")
    optimizer = optim.ExtraSGD([p], lr=0.5)
    for _ in range(10):
        p.grad = p.detach()
        optimizer.extrapolate()
        p.grad = p.detach()
        optimizer.step()
    np.testing.assert_allclose(p.numpy(), np.array([2.0, -1.0]) * 0.75 ** 10, rtol=1e-12)


def test_extragradient_refuses_steps_out_of_order():
    params = bilinear_params()
    optimizer = optim.ExtraSGD(params, lr=0.1)
    set_gradients(params)
    with pytest.raises(RuntimeError, match="call extrapolate"):
        optimizer.step()
    optimizer.extrapolate()
    with pytest.raises(RuntimeError, match="called twice"):
        optimizer.extrapolate()
    params[0].grad = None
    with pytest.raises(RuntimeError, match="no gradient at the new point"):
        optimizer.step()


@pytest.mark.parametrize("name", ["ExtraSGD", "OptimisticSGD"])
def test_game_optimizers_refuse_bad_settings_and_keep_float32(name):
    cls = getattr(optim, name)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        cls(bilinear_params(), lr=-0.1)
    with pytest.raises(TypeError, match="lr must be a number"):
        cls(bilinear_params(), lr="fast")
    params = bilinear_params(dtype="float32")
    optimizer = cls(params, lr=0.1)
    set_gradients(params)
    if name == "ExtraSGD":
        optimizer.extrapolate()
        set_gradients(params)
    optimizer.step()
    assert all(p.dtype == np.float32 and p.is_leaf for p in params)


def test_optimistic_state_dict_resumes_exactly():
    """The previous gradient is state: an optimizer loaded from state_dict steps as the original."""
    params = bilinear_params()
    optimizer = optim.OptimisticSGD(params, lr=0.2)
    for _ in range(3):
        set_gradients(params)
        optimizer.step()
    copies = bilinear_params([p.item() for p in params])
    resumed = optim.OptimisticSGD(copies, lr=0.2)
    resumed.load_state_dict(optimizer.state_dict())
    for _ in range(3):
        for ps, opt in ((params, optimizer), (copies, resumed)):
            set_gradients(ps)
            opt.step()
    assert [p.item() for p in params] == [p.item() for p in copies]
