"""minigan.gan.losses, the loss zoo: least squares (LSGAN), hinge and Wasserstein.

Each loss must equal its formula written in NumPy, have the gradient its docstring
states (LSGAN's grows with the distance from the target instead of saturating; the
hinge's vanishes beyond the margin; the Wasserstein critic's is constant), keep
float32, and be registered in ``LOSSES`` with its partner.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigan
from minigan.gan import losses
from tests.strategies import values

SHAPES = st.sampled_from([(1,), (5,), (7, 1), (2, 3)])


def scores(low=-4.0, high=4.0, kinks=()):
    """Float64 scores of shapes (N,), (N, 1), (2, 3), kept KINK_GAP away from ``kinks``."""
    return SHAPES.flatmap(lambda shape: values(shape, low, high, kinks))


def gradient(loss, *arrays, dtype=np.float64):
    """The loss's value and its gradient in each array, by minigan's autograd."""
    tensors = [minigan.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in arrays]
    value = loss(*tensors)
    return value, [g.numpy() for g in minigan.grad(value, tensors)]


targets = st.floats(-2.0, 2.0)


# --- values: the formulas of the docstrings ----------------------------------------------------
@given(scores(), scores(), targets, targets, targets)
def test_least_squares_losses_equal_their_formulas(real, fake, a, b, c):
    """L_D = 1/2 mean (D(x) - b)^2 + 1/2 mean (D(G(z)) - a)^2, L_G = 1/2 mean (D(G(z)) - c)^2."""
    d = losses.discriminator_loss_least_squares(minigan.tensor(real), minigan.tensor(fake),
                                                a=a, b=b)
    g = losses.generator_loss_least_squares(minigan.tensor(fake), c=c)
    assert d.shape == g.shape == ()
    expected = 0.5 * np.mean((real - b) ** 2) + 0.5 * np.mean((fake - a) ** 2)
    assert d.item() == pytest.approx(expected, rel=1e-12, abs=1e-14)
    assert g.item() == pytest.approx(0.5 * np.mean((fake - c) ** 2), rel=1e-12, abs=1e-14)


def test_least_squares_defaults_are_the_0_1_coding():
    """a = 0, b = 1, c = 1: a perfect D (1 on real, 0 on fake) has no loss, and G's loss is 1/2."""
    ones, zeros = minigan.tensor(np.ones(4)), minigan.tensor(np.zeros(4))
    assert losses.discriminator_loss_least_squares(ones, zeros).item() == 0.0
    assert losses.generator_loss_least_squares(zeros).item() == 0.5
    assert losses.generator_loss_least_squares(ones).item() == 0.0


@given(scores(), scores())
def test_hinge_losses_equal_their_formulas(real, fake):
    """L_D = mean relu(1 - D(x)) + mean relu(1 + D(G(z))), L_G = -mean D(G(z))."""
    d = losses.discriminator_loss_hinge(minigan.tensor(real), minigan.tensor(fake))
    g = losses.generator_loss_hinge(minigan.tensor(fake))
    expected = np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake))
    assert d.item() == pytest.approx(expected, rel=1e-12, abs=1e-14)
    assert g.item() == pytest.approx(-np.mean(fake), rel=1e-12, abs=1e-14)


def test_hinge_is_zero_once_d_is_right_by_the_margin():
    """Real scores >= 1 and fake scores <= -1 cost D nothing; inside the margin they do."""
    right = losses.discriminator_loss_hinge(minigan.tensor(np.array([1.0, 3.0])),
                                            minigan.tensor(np.array([-1.0, -5.0])))
    inside = losses.discriminator_loss_hinge(minigan.tensor(np.array([0.5, 3.0])),
                                             minigan.tensor(np.array([-1.0, -5.0])))
    assert right.item() == 0.0
    assert inside.item() == pytest.approx(0.25)   # relu(1 - 0.5) averaged over 2


@given(scores(), scores())
def test_wasserstein_losses_equal_their_formulas(real, fake):
    """L_f = mean f(G(z)) - mean f(x), L_G = -mean f(G(z))."""
    f = losses.critic_loss_wasserstein(minigan.tensor(real), minigan.tensor(fake))
    g = losses.generator_loss_wasserstein(minigan.tensor(fake))
    assert f.item() == pytest.approx(np.mean(fake) - np.mean(real), rel=1e-12, abs=1e-14)
    assert g.item() == pytest.approx(-np.mean(fake), rel=1e-12, abs=1e-14)


# --- gradients -----------------------------------------------------------------------------------
@given(scores(), scores(), targets, targets, targets)
def test_least_squares_gradients_grow_with_the_distance_from_the_target(real, fake, a, b, c):
    """dL_D/d real_i = (real_i - b) / N, dL_D/d fake_j = (fake_j - a) / M,
    dL_G/d fake_j = (fake_j - c) / M: linear in the error, never saturating."""
    _, (g_real, g_fake) = gradient(
        lambda r, f: losses.discriminator_loss_least_squares(r, f, a=a, b=b), real, fake)
    _, (g_gen,) = gradient(lambda f: losses.generator_loss_least_squares(f, c=c), fake)
    np.testing.assert_allclose(g_real, (real - b) / real.size, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g_fake, (fake - a) / fake.size, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g_gen, (fake - c) / fake.size, rtol=1e-12, atol=1e-15)


@given(scores(kinks=(1.0, -1.0)), scores(kinks=(1.0, -1.0)))
def test_hinge_gradients_vanish_beyond_the_margin(real, fake):
    """dL_D/d real_i = -1/N where real_i < 1, else 0; dL_D/d fake_j = 1/M where fake_j > -1,
    else 0; G's slope is -1/M everywhere (no margin for the generator)."""
    _, (g_real, g_fake) = gradient(losses.discriminator_loss_hinge, real, fake)
    _, (g_gen,) = gradient(losses.generator_loss_hinge, fake)
    np.testing.assert_array_equal(g_real, np.where(real < 1, -1.0 / real.size, 0.0))
    np.testing.assert_array_equal(g_fake, np.where(fake > -1, 1.0 / fake.size, 0.0))
    np.testing.assert_allclose(g_gen, np.full(fake.shape, -1.0 / fake.size), rtol=1e-15)


@given(scores(), scores())
def test_wasserstein_gradients_are_constant(real, fake):
    """The critic lowers fake scores and raises real ones at the same rate, whatever they are."""
    _, (g_real, g_fake) = gradient(losses.critic_loss_wasserstein, real, fake)
    _, (g_gen,) = gradient(losses.generator_loss_wasserstein, fake)
    np.testing.assert_allclose(g_real, np.full(real.shape, -1.0 / real.size), rtol=1e-15)
    np.testing.assert_allclose(g_fake, np.full(fake.shape, 1.0 / fake.size), rtol=1e-15)
    np.testing.assert_allclose(g_gen, np.full(fake.shape, -1.0 / fake.size), rtol=1e-15)


@given(hnp.arrays(np.float64, 8, elements=st.floats(-50.0, -10.0)))
def test_least_squares_generator_does_not_saturate_where_the_cross_entropy_does(fake):
    """On fakes that D rejects with confidence (outputs of -10 and below) the saturating
    cross-entropy's slope has all but vanished (< 1e-4 / N), while the least-squares
    generator's is (score - c) / N, at least 11 / N in size."""
    n = fake.size
    _, (g_sat,) = gradient(losses.generator_loss_saturating, fake)
    _, (g_ls,) = gradient(losses.generator_loss_least_squares, fake)
    assert np.all(np.abs(g_sat) * n < 1e-4)
    assert np.all(np.abs(g_ls) * n >= 11 - 1e-9)


# --- bookkeeping ----------------------------------------------------------------------------------
def test_float32_stays_float32():
    s = minigan.randn(8, 1)
    pairs = [losses.discriminator_loss_least_squares(s, s, a=-1, b=1),
             losses.generator_loss_least_squares(s, c=0),
             losses.discriminator_loss_hinge(s, s), losses.generator_loss_hinge(s),
             losses.critic_loss_wasserstein(s, s), losses.generator_loss_wasserstein(s)]
    assert all(loss.dtype == np.float32 for loss in pairs)


def test_the_zoo_by_name():
    """LOSSES pairs each discriminator (critic) loss with the generator loss of its game."""
    assert losses.LOSSES["least_squares"] == (losses.discriminator_loss_least_squares,
                                              losses.generator_loss_least_squares)
    assert losses.LOSSES["hinge"] == (losses.discriminator_loss_hinge, losses.generator_loss_hinge)
    assert losses.LOSSES["wasserstein"] == (losses.critic_loss_wasserstein,
                                            losses.generator_loss_wasserstein)
    assert {"saturating", "nonsaturating"} <= set(losses.LOSSES)
