"""minigan.gan.penalties (WGAN-GP's gradient penalty, R1) and minigan.optim.clip_weights_.

The penalties are compositions, so the tests check them three ways: closed forms on
critics whose input gradient is known (a linear critic's gradient is its weight, so
its penalty is lambda (||w|| - 1)^2); the interpolation and the per-example norm
against NumPy; and first- and second-order gradient checks through linear,
leaky-ReLU, convolutional and spectrally normalised critics, in float64.
"""
import numpy as np
import pytest
from scipy import stats

import minigan
from minigan import nn, optim
from minigan.gan.penalties import gradient_penalty, r1_penalty
from tests.strategies import double_, leaf


def constant(array):
    return minigan.tensor(np.asarray(array, dtype=np.float64))


def linear_critic(weight, bias=0.3):
    """f(x) = w . x + b, in float64, with the given weight (its input gradient)."""
    critic = double_(nn.Linear(len(weight), 1))
    critic.weight.data[...] = minigan.backend.asarray(np.asarray(weight, dtype=np.float64)[None, :])
    critic.bias.data[...] = bias
    return critic


# --- closed forms on a linear critic ----------------------------------------------------------
@pytest.mark.parametrize("weight", [10.0, 1.0])
@pytest.mark.parametrize("dim", [1, 3, 7])
def test_gradient_penalty_of_a_linear_critic(dim, weight):
    """grad f = w everywhere, so GP = lambda (||w|| - 1)^2: zero for a unit-norm w, and
    that closed form otherwise (here ||w|| = 2.5 and 0.4)."""
    rng = np.random.default_rng(dim)
    w = rng.standard_normal(dim)
    real, fake = constant(rng.standard_normal((6, dim))), constant(rng.standard_normal((6, dim)))
    unit = gradient_penalty(linear_critic(w / np.linalg.norm(w)), real, fake, weight=weight)
    assert abs(unit.item()) < 1e-20
    for norm in (2.5, 0.4):
        critic = linear_critic(norm * w / np.linalg.norm(w))
        penalty = gradient_penalty(critic, real, fake, weight=weight)
        assert penalty.item() == pytest.approx(weight * (norm - 1) ** 2, rel=1e-9)


def test_gradient_penalty_gradient_in_the_weight():
    """d/dw lambda (||w|| - 1)^2 = 2 lambda (||w|| - 1) w / ||w||: what trains the critic."""
    w = np.array([1.5, -2.0, 0.5])
    critic = linear_critic(w)
    real, fake = constant(np.ones((4, 3))), constant(np.zeros((4, 3)))
    penalty = gradient_penalty(critic, real, fake, weight=10.0)
    (g,) = minigan.grad(penalty, critic.weight)
    norm = np.linalg.norm(w)
    np.testing.assert_allclose(g.numpy()[0], 20 * (norm - 1) * w / norm, rtol=1e-9)


def test_one_sided_penalty_ignores_short_gradients():
    """max(0, ||g|| - 1)^2: a critic with slope 0.4 pays nothing, one with slope 2.5 pays
    the same as under the two-sided penalty."""
    real, fake = constant(np.ones((4, 2))), constant(np.zeros((4, 2)))
    short, long = linear_critic([0.4, 0.0]), linear_critic([0.0, 2.5])
    assert gradient_penalty(short, real, fake, one_sided=True).item() == 0.0
    assert gradient_penalty(short, real, fake).item() == pytest.approx(10 * 0.6 ** 2)
    assert (gradient_penalty(long, real, fake, one_sided=True).item()
            == pytest.approx(gradient_penalty(long, real, fake).item(), rel=1e-12))


def test_r1_penalty_of_a_linear_critic():
    """grad D = w, so R1 = gamma / 2 ||w||^2, and its gradient in w is gamma w; passing
    the critic or its logits on ``real`` gives the same penalty."""
    w = np.array([0.5, -1.0, 2.0])
    critic = linear_critic(w)
    x = leaf(np.random.default_rng(0).standard_normal((5, 3)))
    from_critic = r1_penalty(critic, x, gamma=4.0)
    from_logits = r1_penalty(critic(x), x, gamma=4.0)
    expected = 2.0 * np.sum(w ** 2)
    assert from_critic.item() == pytest.approx(expected, rel=1e-12)
    assert from_logits.item() == pytest.approx(expected, rel=1e-12)
    (g,) = minigan.grad(from_critic, critic.weight)
    np.testing.assert_allclose(g.numpy()[0], 4.0 * w, rtol=1e-12)


def test_r1_penalty_needs_real_to_require_grad_when_given_logits():
    critic = linear_critic([1.0, 2.0])
    x = constant(np.ones((3, 2)))
    with pytest.raises(ValueError, match="requires_grad=True"):
        r1_penalty(critic(x), x, gamma=1.0)


# --- the interpolation and the per-example norm ----------------------------------------------
def half_square(x):
    """f(x) = 1/2 sum of c * x^2 over each example's elements: grad f = c * x, known exactly."""
    c = constant(np.arange(1, 1 + int(np.prod(x.shape[1:]))).reshape(x.shape[1:]) / 10)
    return 0.5 * (c * x * x).reshape(x.shape[0], -1).sum(axis=1)


def test_gradient_penalty_matches_numpy_on_images():
    """x_hat = eps real + (1 - eps) fake, one eps per example, and the norm of each
    example's gradient is taken over all its axes (channels and pixels together)."""
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((4, 2, 3, 3)), rng.standard_normal((4, 2, 3, 3))
    eps = np.array([0.1, 0.5, 0.9, 0.3])
    penalty = gradient_penalty(half_square, constant(real), constant(fake), weight=7.0, eps=eps)
    c = np.arange(1, 19).reshape(2, 3, 3) / 10
    x_hat = eps[:, None, None, None] * real + (1 - eps[:, None, None, None]) * fake
    norms = np.sqrt(((c * x_hat) ** 2).sum(axis=(1, 2, 3)))
    assert penalty.item() == pytest.approx(7.0 * np.mean((norms - 1) ** 2), rel=1e-9)


def test_gradient_penalty_draws_one_uniform_eps_per_example():
    """The critic is handed x_hat = fake + eps (real - fake) with eps constant within an
    example, and the eps of 2,000 examples pass a uniformity test on [0, 1]."""
    rng = np.random.default_rng(2)
    real, fake = rng.standard_normal((2000, 2, 2)), rng.standard_normal((2000, 2, 2))
    seen = []

    def recording_critic(x):
        seen.append(x.numpy())
        return half_square(x)

    gradient_penalty(recording_critic, constant(real), constant(fake))
    (x_hat,) = seen
    eps = (x_hat - fake) / (real - fake)
    np.testing.assert_allclose(eps, eps[:, :1, :1] * np.ones_like(eps), atol=1e-9)
    eps = eps[:, 0, 0]
    assert eps.min() >= 0 and eps.max() <= 1
    assert stats.kstest(eps, "uniform").pvalue > 1e-3


def test_gradient_penalty_is_finite_where_the_critic_is_flat():
    """A critic with zero weights has gradient 0 at every x_hat, where sqrt has an infinite
    slope; the epsilon under the square root keeps the penalty's gradient finite (0)."""
    critic = linear_critic([0.0, 0.0, 0.0])
    real, fake = constant(np.ones((4, 3))), constant(np.zeros((4, 3)))
    penalty = gradient_penalty(critic, real, fake, weight=10.0)
    assert penalty.item() == pytest.approx(10.0, rel=1e-5)
    grads = minigan.grad(penalty, list(critic.parameters()), allow_unused=True)
    assert all(g is None or np.all(np.isfinite(g.numpy())) for g in grads)
    assert np.all(grads[0].numpy() == 0)


def test_penalties_leave_real_and_fake_alone():
    """real and fake are constants for the penalty: no gradient reaches what made them."""
    z = leaf(np.random.default_rng(3).standard_normal((4, 2)))
    fake = 2 * z
    critic = linear_critic([1.0, 2.0])
    penalty = gradient_penalty(critic, constant(np.ones((4, 2))), fake)
    assert minigan.grad(penalty, [z, critic.weight], allow_unused=True)[0] is None


# --- gradient checks through the critics ----------------------------------------------------
def mlp_critic():
    return double_(nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1)))


def conv_critic():
    return double_(nn.Sequential(nn.Conv2d(1, 2, 3, stride=1, padding=0), nn.LeakyReLU(0.2),
                                 nn.Flatten(), nn.Linear(8, 1)))


def spectral_critic():
    critic = nn.Sequential(nn.utils.spectral_norm(nn.Linear(3, 4)), nn.LeakyReLU(0.2),
                           nn.utils.spectral_norm(nn.Linear(4, 1)))
    return double_(critic).eval()   # eval: u and v stay fixed between the evaluations


CRITICS = {
    "linear": (lambda: double_(nn.Linear(3, 1)), (5, 3)),
    "leaky_relu_mlp": (mlp_critic, (5, 3)),
    "conv": (conv_critic, (3, 1, 4, 4)),
    "spectral_norm_mlp": (spectral_critic, (5, 3)),
}


@pytest.mark.parametrize("name", list(CRITICS))
def test_gradient_penalty_first_and_second_order_gradcheck(name):
    """The penalty's gradient in the critic's parameters (a second derivative of the
    critic, what training uses) and its gradient's gradient match finite differences."""
    make, shape = CRITICS[name]
    critic = make()
    rng = np.random.default_rng(4)
    real, fake = constant(rng.standard_normal(shape)), constant(rng.standard_normal(shape))
    eps = rng.uniform(0.1, 0.9, shape[0])   # fixed: the same x_hat at every evaluation
    params = list(critic.parameters())

    def penalty(*_):
        return gradient_penalty(critic, real, fake, weight=3.0, eps=eps)

    assert minigan.gradcheck(penalty, params)
    assert minigan.gradgradcheck(penalty, params)


def test_r1_penalty_first_and_second_order_gradcheck():
    critic = mlp_critic()
    real = constant(np.random.default_rng(5).standard_normal((5, 3)))
    params = list(critic.parameters())
    assert minigan.gradcheck(lambda *_: r1_penalty(critic, real, gamma=2.0), params)
    assert minigan.gradgradcheck(lambda *_: r1_penalty(critic, real, gamma=2.0), params)


def test_gradcheck_catches_a_penalty_without_create_graph():
    """The check can fail: the classic WGAN-GP bug, taking the critic's gradient without
    create_graph=True, gives the right penalty value but no gradient in the parameters."""
    critic = mlp_critic()
    rng = np.random.default_rng(6)
    real, fake = constant(rng.standard_normal((5, 3))), constant(rng.standard_normal((5, 3)))
    eps = constant(rng.uniform(0.1, 0.9, (5, 1)))

    def forgetful_penalty(*_):
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_()
        (g,) = minigan.grad(critic(x_hat).sum(), x_hat)   # create_graph=False: a constant
        return 10 * (((g * g).sum(axis=1).sqrt() - 1) ** 2).mean()

    right = gradient_penalty(critic, real, fake, eps=eps.numpy()[:, 0]).item()
    assert forgetful_penalty().item() == pytest.approx(right, rel=1e-9)
    with pytest.raises(minigan.GradcheckError):
        minigan.gradcheck(forgetful_penalty, list(critic.parameters()))


# --- weight clipping ----------------------------------------------------------------------------
def test_clip_weights_clips_every_parameter_in_place():
    """After clip_weights_(params, c) every element is in [-c, c]; elements inside were not
    moved; the arrays are the same objects (in place) and no graph is recorded."""
    critic = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    for p in critic.parameters():
        p.data *= 100
    before = [(p.data, p.numpy().copy()) for p in critic.parameters()]
    optim.clip_weights_(critic.parameters(), 0.01)
    for p, (array, old) in zip(critic.parameters(), before):
        assert p.data is array and p.dtype == np.float32 and p.is_leaf
        assert np.all(np.abs(p.numpy()) <= np.float32(0.01))
        inside = np.abs(old) <= 0.01
        np.testing.assert_array_equal(p.numpy()[inside], old[inside])
        np.testing.assert_array_equal(p.numpy()[~inside], np.sign(old[~inside]) * np.float32(0.01))
    assert np.any([np.any(np.abs(old) > 0.01) for _, old in before])


def test_clip_weights_refuses_a_non_positive_bound():
    with pytest.raises(ValueError, match="c must be > 0"):
        optim.clip_weights_(nn.Linear(2, 1).parameters(), 0.0)
