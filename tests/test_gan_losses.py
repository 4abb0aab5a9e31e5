"""minigan.gan.losses: the discriminator loss and the two generator losses, from logits.

Each loss must equal its naive formula in D = sigmoid(logit) where that formula is
finite, stay finite (values and gradients) at logits of +-1e4, and have the
gradient the theory gives it: the saturating loss's vanishes where D(G(z)) -> 0.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigan
from minigan.gan import losses
from minigan.nn import functional as F


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def logit_arrays(low=-30.0, high=30.0):
    """Float64 logits of shapes (N,), (N, 1), (2, 3), with elements in [low, high]."""
    shapes = st.sampled_from([(1,), (5,), (7, 1), (2, 3)])
    return shapes.flatmap(lambda shape: hnp.arrays(np.float64, shape,
                                                   elements=st.floats(low, high)))


def naive_discriminator_loss(real, fake):
    return -np.mean(np.log(sigmoid(real))) - np.mean(np.log(1 - sigmoid(fake)))


def naive_saturating(fake):
    return np.mean(np.log(1 - sigmoid(fake)))


def naive_nonsaturating(fake):
    return -np.mean(np.log(sigmoid(fake)))


def gradient(loss, *arrays, dtype=np.float64):
    """The loss's value and its gradient in each logit array, by minigan's autograd."""
    tensors = [minigan.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in arrays]
    value = loss(*tensors)
    return value, [g.numpy() for g in minigan.grad(value, tensors)]


# --- equal to the naive formulas where those are finite --------------------------------------
# Within |a| <= 15 the naive 1 - sigmoid(a) >= 3e-7 loses at most ~1e-10 to cancellation,
# so the naive formulas are themselves accurate enough to be the oracle.
@given(logit_arrays(-15.0, 15.0), logit_arrays(-15.0, 15.0))
def test_discriminator_loss_equals_the_naive_formula(real, fake):
    """-mean log D(x) - mean log(1 - D(G(z))), written with D = sigmoid(a)."""
    value = losses.discriminator_loss(minigan.tensor(real), minigan.tensor(fake))
    assert value.shape == ()
    assert value.item() == pytest.approx(naive_discriminator_loss(real, fake), rel=1e-9, abs=1e-12)


@given(logit_arrays(-15.0, 15.0))
def test_generator_losses_equal_the_naive_formulas(fake):
    saturating = losses.generator_loss_saturating(minigan.tensor(fake)).item()
    nonsaturating = losses.generator_loss_nonsaturating(minigan.tensor(fake)).item()
    assert saturating == pytest.approx(naive_saturating(fake), rel=1e-9, abs=1e-12)
    assert nonsaturating == pytest.approx(naive_nonsaturating(fake), rel=1e-9, abs=1e-12)


@given(logit_arrays(), logit_arrays())
def test_discriminator_loss_is_binary_cross_entropy(real, fake):
    """The same loss as BCE with label 1 on real samples and 0 on fakes."""
    real_t, fake_t = minigan.tensor(real), minigan.tensor(fake)
    bce = (F.binary_cross_entropy_with_logits(real_t, 1.0)
           + F.binary_cross_entropy_with_logits(fake_t, 0.0))
    assert losses.discriminator_loss(real_t, fake_t).item() == pytest.approx(bce.item(), rel=1e-12)


# --- gradients: the theory of chapter 02 --------------------------------------------------------
@given(logit_arrays(), logit_arrays())
def test_discriminator_loss_gradients(real, fake):
    """d/d real_i = -(1 - D(x_i)) / N, d/d fake_j = D(G(z_j)) / M: push real logits up,
    fake logits down, less so the more D already has them right."""
    _, (g_real, g_fake) = gradient(losses.discriminator_loss, real, fake)
    np.testing.assert_allclose(g_real, -(1 - sigmoid(real)) / real.size, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(g_fake, sigmoid(fake) / fake.size, rtol=1e-9, atol=1e-15)


@given(logit_arrays())
def test_generator_gradients_saturate_or_not(fake):
    """Per sample, the saturating loss has slope -D(G(z)) in the logit, the non-saturating
    one -(1 - D(G(z))): the first vanishes where D rejects a fake with confidence."""
    n = fake.size
    _, (g_sat,) = gradient(losses.generator_loss_saturating, fake)
    _, (g_non,) = gradient(losses.generator_loss_nonsaturating, fake)
    np.testing.assert_allclose(g_sat * n, -sigmoid(fake), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(g_non * n, -(1 - sigmoid(fake)), rtol=1e-9, atol=1e-15)


def test_saturating_gradient_is_tiny_where_d_is_confident():
    """At D(G(z)) = 0.01 the saturating gradient is 0.01 / 0.99 of the non-saturating one."""
    a = math.log(0.01 / 0.99)
    _, (g_sat,) = gradient(losses.generator_loss_saturating, [a])
    _, (g_non,) = gradient(losses.generator_loss_nonsaturating, [a])
    assert g_sat[0] / g_non[0] == pytest.approx(0.01 / 0.99, rel=1e-9)
    assert g_sat[0] / g_non[0] < 0.02


# --- finite at extreme logits ----------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_are_finite_and_exact_at_logits_of_1e4(dtype):
    """At |a| = 1e4, sigmoid(a) is exactly 0 or 1 in floating point and log D = log 0, yet
    the losses from logits are finite and right: softplus(1e4) = 1e4, softplus(-1e4) = 0."""
    big, small = [1e4, 1e4], [-1e4, -1e4]
    cases = [
        (losses.discriminator_loss, (big, small), 0.0),       # D right and sure: no loss
        (losses.discriminator_loss, (small, big), 2e4),       # D wrong and sure
        (losses.generator_loss_saturating, (small,), 0.0),    # log(1 - 0)
        (losses.generator_loss_saturating, (big,), -1e4),     # log(1 - sigmoid(1e4)) = -1e4
        (losses.generator_loss_nonsaturating, (big,), 0.0),   # -log 1
        (losses.generator_loss_nonsaturating, (small,), 1e4),  # -log sigmoid(-1e4) = 1e4
    ]
    for loss, arrays, expected in cases:
        value, grads = gradient(loss, *arrays, dtype=dtype)
        assert value.dtype == dtype
        assert value.item() == pytest.approx(expected, abs=1e-3)
        for g in grads:
            assert np.all(np.isfinite(g)), f"{loss.__name__}: gradient {g} at {arrays}"
            assert np.all(np.abs(g) <= 1.0)


def test_float32_stays_float32():
    logits = minigan.randn(8, 1)
    for loss in (losses.generator_loss_saturating, losses.generator_loss_nonsaturating):
        assert loss(logits).dtype == np.float32
    assert losses.discriminator_loss(logits, logits).dtype == np.float32


def test_the_games_by_name():
    """LOSSES pairs each generator loss with the discriminator loss of its game."""
    assert losses.LOSSES["saturating"] == (losses.discriminator_loss,
                                           losses.generator_loss_saturating)
    assert losses.LOSSES["nonsaturating"] == (losses.discriminator_loss,
                                              losses.generator_loss_nonsaturating)
