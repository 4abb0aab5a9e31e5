"""minigan.gan.improved, minigan.gan.augment and the smoothed closed forms of minigan.gan.theory.

Every layer and loss is a composition of minigan's ops, so each is checked three ways: its
values against a plain NumPy (loop) version, the properties the lesson relies on (a batch of
identical examples has standard deviation ~0; the historical average is the mean of the
past; the smoothed D* minimises the smoothed loss), and first- and second-order gradient
checks in float64. The augmentations draw random numbers, so their gradient checks reseed
minigan before every call: each evaluation of the function then applies the same transform.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize

import minigan
from minigan import nn
from minigan.gan import augment, improved, losses, theory
from minigan.gradcheck import gradcheck, gradgradcheck
from tests.strategies import leaf

pytestmark = pytest.mark.ch15


def draw(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def both_orders(fn, *inputs):
    assert gradcheck(fn, list(inputs))
    assert gradgradcheck(fn, list(inputs))


# --- feature matching ------------------------------------------------------------------------
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(0, 10**6))
def test_feature_matching_is_the_squared_distance_of_the_means(n, m, f, seed):
    real, fake = draw(seed, n, f), draw(seed + 1, m, f)
    got = improved.feature_matching_loss(leaf(real), leaf(fake)).item()
    assert got == pytest.approx(np.sum((real.mean(0) - fake.mean(0)) ** 2), rel=1e-12, abs=1e-14)
    # Shuffling or replacing the fakes by others with the same mean leaves it at its value.
    shifted = fake - fake.mean(0) + real.mean(0)
    assert improved.feature_matching_loss(leaf(real), leaf(shifted)).item() < 1e-20 + 1e-12


def test_feature_matching_sums_over_copies_and_checks_shapes():
    real, fake = draw(0, 3, 5, 4), draw(1, 3, 7, 4)
    got = improved.feature_matching_loss(leaf(real), leaf(fake)).item()
    assert got == pytest.approx(sum(np.sum((r.mean(0) - g.mean(0)) ** 2)
                                    for r, g in zip(real, fake)), rel=1e-12)
    with pytest.raises(ValueError, match="feature_matching_loss"):
        improved.feature_matching_loss(leaf(draw(0, 5, 4)), leaf(draw(1, 5, 3)))
    with pytest.raises(TypeError, match="real_features"):
        improved.feature_matching_loss(draw(0, 5, 4), leaf(draw(1, 5, 4)))


def test_feature_matching_gradients():
    both_orders(improved.feature_matching_loss, leaf(draw(2, 4, 3)), leaf(draw(3, 5, 3)))


# --- minibatch discrimination ----------------------------------------------------------------
def minibatch_features_loop(x, t):
    n, (a, b, c) = len(x), t.shape
    rows = (x @ t.reshape(a, b * c)).reshape(n, b, c)
    out = np.zeros((n, b))
    for i in range(n):
        for j in range(n):
            if i != j:
                out[i] += np.exp(-np.abs(rows[i] - rows[j]).sum(axis=1))
    return out


@given(st.integers(1, 5), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 10**6))
def test_minibatch_features_match_the_pairwise_loop(n, a, b, c, seed):
    x, t = draw(seed, n, a), draw(seed + 1, a, b, c)
    got = improved.minibatch_features(leaf(x), leaf(t)).numpy()
    np.testing.assert_allclose(got, minibatch_features_loop(x, t), rtol=1e-12, atol=1e-14)


def test_minibatch_features_see_a_collapsed_batch():
    """N identical examples: each has N - 1 neighbours at distance 0, o = N - 1 exactly."""
    x = np.repeat(draw(0, 1, 4), 6, axis=0)
    got = improved.minibatch_features(leaf(x), leaf(draw(1, 4, 3, 2))).numpy()
    np.testing.assert_allclose(got, 5.0, rtol=1e-14)


def test_minibatch_discrimination_layer_keeps_copies_apart():
    minigan.manual_seed(0)
    layer = improved.MinibatchDiscrimination(3, kernels=2, kernel_dim=2, copies=2)
    x = draw(4, 2, 5, 3)
    out = layer(minigan.tensor(x, dtype="float32")).numpy()
    assert out.shape == (2, 5, 5)
    np.testing.assert_allclose(out[..., :3], x, rtol=1e-6)
    for s in range(2):
        np.testing.assert_allclose(out[s, :, 3:],
                                   minibatch_features_loop(x[s], layer.tensor.numpy()[s]),
                                   rtol=1e-4)


def test_minibatch_features_gradients():
    # Pairs far apart in M so that no |M_i - M_j| entry sits near the kink of |.| at 0.
    x = np.array([[0.0, 0.3], [1.0, -0.4], [-0.8, 1.1]])
    both_orders(improved.minibatch_features, leaf(x), leaf(draw(7, 2, 2, 2)))


# --- minibatch standard deviation ------------------------------------------------------------
@given(st.integers(1, 6), st.integers(1, 4), st.integers(0, 10**6))
def test_minibatch_stddev_appends_the_mean_biased_std_over_the_batch(n, f, seed):
    x = draw(seed, n, f)
    out = improved.minibatch_stddev(leaf(x), eps=0.0 if n > 1 else 1e-8).numpy()
    assert out.shape == (n, f + 1)
    np.testing.assert_array_equal(out[:, :f], x)
    expected = np.mean(np.sqrt(x.var(axis=0, ddof=0) + (0.0 if n > 1 else 1e-8)))
    np.testing.assert_allclose(out[:, f], expected, rtol=1e-12, atol=1e-15)


def test_minibatch_stddev_of_identical_examples_is_sqrt_eps_and_copies_stay_apart():
    x = np.repeat(draw(0, 1, 3), 4, axis=0)
    assert improved.minibatch_stddev(leaf(x)).numpy()[:, 3] == pytest.approx(1e-4)
    stacked = np.stack([x, draw(1, 4, 3)])
    out = improved.minibatch_stddev(leaf(stacked)).numpy()
    assert out[0, :, 3] == pytest.approx(1e-4)
    assert out[1, 0, 3] == pytest.approx(np.sqrt(stacked[1].var(axis=0) + 1e-8).mean())
    with pytest.raises(ValueError, match="minibatch_stddev"):
        improved.minibatch_stddev(leaf(draw(0, 4)))


def test_minibatch_stddev_gradients():
    both_orders(lambda x: improved.minibatch_stddev(x, eps=1e-3), leaf(draw(5, 4, 3)))
    both_orders(lambda x: improved.MinibatchStdDev(eps=1e-3)(x), leaf(draw(6, 2, 3, 2)))


# --- historical averaging --------------------------------------------------------------------
def test_historical_average_is_the_mean_of_the_past_and_its_penalty_pulls_back():
    minigan.manual_seed(0)
    layer = nn.Linear(3, 2)
    history = improved.HistoricalAverage(layer)
    seen = []
    for step in range(5):
        for p in layer.parameters():
            p.data[...] = minigan.backend.asarray(draw(step, *p.shape).astype(np.float32))
        history.update()
        seen.append(layer.weight.numpy().copy())
    np.testing.assert_allclose(minigan.backend.to_numpy(history.averages["weight"]),
                               np.mean(seen, axis=0), rtol=1e-5, atol=1e-6)
    penalty = history.penalty()
    penalty.backward()
    expected = sum(np.sum((p.numpy() - minigan.backend.to_numpy(history.averages[name])) ** 2)
                   for name, p in layer.named_parameters())
    assert penalty.item() == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(layer.weight.grad.numpy(),
                               2 * (layer.weight.numpy()
                                    - minigan.backend.to_numpy(history.averages["weight"])),
                               rtol=1e-5, atol=1e-6)
    restored = improved.HistoricalAverage(layer)
    restored.load_state_dict(history.state_dict())
    assert restored.count == 5 and restored.penalty().item() == pytest.approx(penalty.item())


# --- label smoothing -------------------------------------------------------------------------
def test_smoothed_loss_without_smoothing_is_the_plain_loss_and_checks_labels():
    real, fake = leaf(draw(0, 6, 1)), leaf(draw(1, 5, 1))
    assert improved.smoothed_discriminator_loss(real, fake, 1.0, 0.0).item() == \
        pytest.approx(losses.discriminator_loss(real, fake).item(), rel=1e-12)
    with pytest.raises(ValueError, match="real_label"):
        improved.smoothed_discriminator_loss(real, fake, 1.5)


@pytest.mark.parametrize("alpha, beta", [(0.9, 0.0), (0.8, 0.1), (1.0, 0.0)])
def test_smoothed_optimal_discriminator_minimises_the_smoothed_loss_pointwise(alpha, beta):
    """At one x with densities p, q: the loss p * real term + q * fake term of the logit a is
    least at sigmoid(a) = (alpha p + beta q) / (p + q)."""
    for p, q in [(0.3, 0.1), (0.05, 0.4), (0.2, 0.2)]:
        def loss(a):
            real, fake = leaf([[a]]), leaf([[a]])
            smoothed = improved.smoothed_discriminator_loss
            return p * smoothed(real, leaf([[-40.0]]), alpha, 0).item() \
                + q * smoothed(leaf([[40.0]]), fake, 1.0, beta).item()
        best = optimize.minimize_scalar(loss, bounds=(-12, 12), method="bounded",
                                        options={"xatol": 1e-9}).x
        expected = theory.smoothed_optimal_discriminator(p, q, alpha, beta)
        assert 1 / (1 + np.exp(-best)) == pytest.approx(expected, abs=1e-5)


def test_smoothed_optimal_discriminator_closed_forms():
    p, q = np.array([0.3, 0.0, 0.2, 0.0]), np.array([0.1, 0.2, 0.0, 0.0])
    np.testing.assert_allclose(theory.smoothed_optimal_discriminator(p, q),
                               theory.optimal_discriminator(p, q))
    np.testing.assert_allclose(theory.smoothed_optimal_discriminator(p, q, 0.9),
                               [0.675, 0.0, 0.9, 0.45])
    np.testing.assert_allclose(theory.smoothed_optimal_discriminator(p, q, 0.9, 0.1),
                               [0.7, 0.1, 0.9, 0.5])
    with pytest.raises(ValueError, match="fake_label"):
        theory.smoothed_optimal_discriminator(p, q, 0.9, -0.1)


def test_two_sided_smoothing_flattens_the_generator_gradient_far_from_the_data():
    from scipy.stats import norm
    data, fake = norm(4, 0.5), norm(0, 1)
    x = np.array([-1.0, 0.0, 1.0])      # where the fakes are and the data nearly is not
    args = data.pdf(x), fake.pdf(x), -(x - 4) / 0.25 * data.pdf(x), -x * fake.pdf(x)
    plain = theory.smoothed_generator_gradient(*args)
    one_sided = theory.smoothed_generator_gradient(*args, real_label=0.9)
    two_sided = theory.smoothed_generator_gradient(*args, real_label=0.9, fake_label=0.1)
    np.testing.assert_allclose(one_sided, plain, rtol=1e-12)
    assert np.all(plain > 10)           # log p_data's slope pulls the fakes right
    assert np.all(np.abs(two_sided) < 1e-6 * np.abs(plain))


# --- virtual batch norm ----------------------------------------------------------------------
def virtual_batch_norm_loop(x, reference, eps):
    out = np.empty_like(x)
    for i, row in enumerate(x):
        rows = np.vstack([reference, row])
        out[i] = (row - rows.mean(0)) / np.sqrt(rows.var(0) + eps)
    return out


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 10**6))
def test_virtual_batch_norm_uses_the_reference_and_the_example_itself(n, r, f, seed):
    x, reference = draw(seed, n, f), draw(seed + 1, r, f) * 2 + 1
    got = improved.virtual_batch_norm(leaf(x), leaf(reference)).numpy()
    np.testing.assert_allclose(got, virtual_batch_norm_loop(x, reference, 1e-5),
                               rtol=1e-10, atol=1e-12)
    # One example's output does not depend on the others drawn with it.
    alone = improved.virtual_batch_norm(leaf(x[:1]), leaf(reference)).numpy()
    np.testing.assert_allclose(alone, got[:1], rtol=1e-12)


def test_virtual_batch_norm_layer_and_gradients():
    layer = improved.VirtualBatchNorm(3)
    for p in layer.parameters():
        p.data = p.data.astype(np.float64)
    x, reference = leaf(draw(0, 4, 3)), leaf(draw(1, 5, 3))
    out, ref_out = layer(x, reference)
    np.testing.assert_allclose(ref_out.numpy().mean(0), 0, atol=1e-12)
    both_orders(lambda x, r, w: improved.virtual_batch_norm(x, r, w, None, eps=1e-3),
                leaf(draw(2, 3, 2)), leaf(draw(3, 4, 2)), leaf([1.5, 0.7]))


# --- differentiable augmentation -------------------------------------------------------------
def seeded(fn, seed=3):
    """fn applied after reseeding minigan: every call draws the same transform."""
    def call(x):
        minigan.manual_seed(seed)
        return fn(x)
    return call


def test_translation_shifts_each_image_with_zeros_coming_in():
    x = draw(0, 6, 2, 8, 8) + 5.0      # no pixel is 0, so zeros mark what came in
    minigan.manual_seed(1)
    out = augment.translation(leaf(x)).numpy()
    for image, shifted in zip(x, out):
        matches = []
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                expected = np.zeros_like(image)
                src = image[:, max(0, -dy):8 - max(0, dy), max(0, -dx):8 - max(0, dx)]
                expected[:, max(0, dy):8 - max(0, -dy), max(0, dx):8 - max(0, -dx)] = src
                matches.append(np.array_equal(expected, shifted))
        assert sum(matches) == 1, "each image is one shift of at most 1 pixel (8 / 8)"


def test_cutout_zeroes_one_square_and_colour_is_affine_per_image():
    x = draw(0, 8, 1, 8, 8) + 5.0
    minigan.manual_seed(2)
    out = augment.cutout(leaf(x)).numpy()
    for image, cut in zip(x, out):
        zero = cut[0] == 0
        rows, columns = np.nonzero(zero.any(axis=1))[0], np.nonzero(zero.any(axis=0))[0]
        assert 2 <= len(rows) <= 4 and 2 <= len(columns) <= 4
        assert zero.sum() == len(rows) * len(columns)      # a rectangle, clipped at borders
        np.testing.assert_array_equal(cut[0][~zero], image[0][~zero])
    minigan.manual_seed(3)
    out = augment.colour(leaf(x)).numpy()
    for image, coloured in zip(x, out):
        slope, intercept = np.polyfit(image.ravel(), coloured.ravel(), 1)
        np.testing.assert_allclose(coloured, slope * image + intercept, rtol=1e-10, atol=1e-10)
        assert 0.5 <= slope <= 1.5


def test_augmentations_are_differentiable_to_the_second_order():
    x = leaf(draw(4, 2, 1, 6, 6))
    for name in ("colour", "translation", "cutout"):
        both_orders(seeded(augment.POLICIES[name]), x)
    both_orders(seeded(lambda x: augment.diff_augment(x) ** 2), x)


def test_diff_augment_names_its_mistakes():
    with pytest.raises(ValueError, match="unknown"):
        augment.diff_augment(leaf(draw(0, 1, 1, 4, 4)), policy=("flip",))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        augment.diff_augment(leaf(draw(0, 4, 4)))
