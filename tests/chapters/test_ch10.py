"""Chapter 10 races five GAN losses on Fashion-MNIST at an equal compute budget, and
compares them at an equal number of generator steps."""
import json

import numpy as np
import pytest

import minigan
from minigan.experiment import UsageError
from tests.chapters.conftest import load_chapter

pytestmark = pytest.mark.ch10


@pytest.mark.slow
def test_chapter_10_equal_budgets_and_each_methods_theory(run_chapter, feature_network):
    """The quick race (one seed, 12 CPU seconds per method).

    Every run stops within two of its generator steps of the budget, so the cheap methods
    get more steps: WGAN-GP's generator step (5 critic steps with a double backward) costs at
    least 3 times the non-saturating one's. In 12 s the two cheap cross-entropy-like losses
    already move FID down by 10% from its start. Each trained D keeps its method's promise:
    spectral norm gives layers of largest singular value 1 (by SVD, within 0.1 after a few
    dozen power steps from a random start); clipping leaves every weight in [-c, c] with many
    at the bound (at the start: hardly any); the penalty has brought the critic's slope at the
    interpolates from over 2 at initialisation (layer norm scales its small activations up)
    to within [0.7, 2].

    The second comparison: every run is measured at the same generator step (quick: 20),
    within its budget if it got that far (the non-saturating run), and otherwise after
    training on past it (WGAN-GP, whose 20 steps take about 20 CPU seconds), which costs
    WGAN-GP more than twice the non-saturating run's CPU seconds. --resume then finds every
    run done and returns the same table without training, and refuses a run that was
    measured at another generator step."""
    _, _, cache = feature_network
    results, out = run_chapter("10", "--quick", "--feature-cache", str(cache))
    runs = {name: json.loads((out / "runs" / f"{name}-seed0.json").read_text())
            for name in ("nonsaturating", "lsgan", "hinge_sn", "wgan_clip", "wgan_gp")}
    for name, run in runs.items():
        last = run["evaluations"][-1]
        assert 12.0 <= last["seconds"] <= 12.0 + 2 * run["seconds_per_generator_step"], name
        assert [e["seconds"] for e in run["evaluations"]] == sorted(
            e["seconds"] for e in run["evaluations"])
        assert results[f"{name}: generator steps"] == last["generator_steps"] > 0
    assert (runs["wgan_gp"]["seconds_per_generator_step"]
            >= 3 * runs["nonsaturating"]["seconds_per_generator_step"])
    assert results["wgan_gp: generator steps"] < results["nonsaturating: generator steps"] / 3
    for name in ("nonsaturating", "lsgan"):
        first, last = runs[name]["evaluations"][0]["fid"], runs[name]["evaluations"][-1]["fid"]
        assert last < 0.9 * first, f"{name}: FID {first:.0f} -> {last:.0f}"
    assert results["hinge_sn: largest singular value error"] < 0.1
    # the reshaped weights' sigma is 1; as convolutions of images the layers stretch more
    assert 1.2 < results["hinge_sn: largest layer operator norm"] <= 2.1
    assert (results["hinge_sn: product of layer operator norms"]
            >= results["hinge_sn: largest layer operator norm"] * 0.99)
    assert results["wgan_clip: largest absolute weight"] <= 0.01 * (1 + 1e-6)
    assert results["wgan_clip: share of weights at +-c"] > 0.2
    assert results["wgan_clip: share of weights at +-c at the start"] < 0.05
    assert results["wgan_clip: largest absolute weight at the start"] > 0.05
    assert results["wgan_gp: median gradient norm at interpolates at the start"] > 2.0
    assert 0.7 <= results["wgan_gp: median gradient norm at interpolates"] <= 2.0
    for name in ("fid_over_time", "samples"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert f"{name}.png" in (out / "summary.md").read_text()
    assert (out / "runs" / "wgan_gp-seed0.ckpt").stat().st_size > 1_000_000

    equal_steps = results["equal generator steps (the second comparison)"]
    assert equal_steps == 20
    for name, run in runs.items():
        at, last = run["at_equal_generator_steps"], run["evaluations"][-1]
        assert at["generator_steps"] == equal_steps, (
            f"{name} was measured at generator step {at['generator_steps']}, not {equal_steps}")
        assert results[f"{name}: generator steps at equal generator steps"] == equal_steps, name
        for key in ("fid", "fid spread", "precision", "recall"):
            assert np.isfinite(results[f"{name}: {key} at equal generator steps"]), (name, key)
        assert results[f"{name}: fid at equal generator steps"] > 0, name
        # within the budget exactly when the budget bought that many steps; the seconds at the
        # equal step lie inside the budget then, and beyond it otherwise
        assert at["within_the_budget"] == (last["generator_steps"] >= equal_steps), name
        assert (at["seconds"] <= last["seconds"]) == at["within_the_budget"], name
    assert runs["nonsaturating"]["at_equal_generator_steps"]["within_the_budget"]
    assert not runs["wgan_gp"]["at_equal_generator_steps"]["within_the_budget"]
    assert (results["wgan_gp: seconds to equal generator steps"]
            > 2 * results["nonsaturating: seconds to equal generator steps"])
    assert f"FID at generator step {equal_steps}" in (out / "summary.md").read_text()

    again = load_chapter("10").main(["--quick", "--feature-cache", str(cache), "--out", str(out),
                                     "--resume"])
    assert again["race wall seconds"] < 5
    assert {k: v for k, v in again.items() if k != "race wall seconds"} == \
        {k: v for k, v in results.items() if k != "race wall seconds"}

    planted = out / "runs" / "wgan_gp-seed0.json"
    run = json.loads(planted.read_text())
    run["at_equal_generator_steps"]["generator_steps"] = equal_steps - 1
    planted.write_text(json.dumps(run))
    with pytest.raises(UsageError, match="wgan_gp seed 0 was measured at "
                       "generator step 19, not at --equal-g-steps 20"):
        load_chapter("10").main(["--quick", "--feature-cache", str(cache), "--out", str(out),
                                 "--resume"])


def test_chapter_10_layer_norm_critic_treats_examples_apart():
    """The gradient penalty needs f(x_hat).sum() to have gradient grad f(x_hat_i) in example i:
    with layer norm, changing one example leaves the others' scores alone; with batch norm
    (in training) it changes them all, which is why WGAN-GP's critic has no batch norm."""
    zoo = load_chapter("10")
    minigan.manual_seed(0)
    x = minigan.randn(8, 1, 28, 28)
    changed = x.numpy().copy()
    changed[0] += 1.0
    for norm, independent in (("layer", True), ("batch", False)):
        D = zoo.make_discriminator(norm)
        before, after = D(x).numpy(), D(minigan.tensor(changed)).numpy()
        moved = np.abs(after[1:] - before[1:]).max()
        assert (moved < 1e-6) == independent, f"{norm}: other scores moved by {moved:.2g}"


def input_gradient_norms(D, x):
    x = x.detach().requires_grad_()
    (gradient,) = minigan.grad(D(x).sum(), x)
    return np.sqrt((gradient.numpy() ** 2).reshape(len(x.numpy()), -1).sum(axis=1))


def test_chapter_10_spectrally_normalised_discriminator_ignores_the_weights_scale():
    """SNGAN's D uses W / sigma(W), so scaling every weight by 100 changes nothing (sigma
    scales with it; eval mode, u and v fixed). What is normalised is each weight reshaped
    to an (out, in kh kw) matrix: its largest singular value is 1, but as a map of whole
    images a 4x4, stride-2 convolution stretches distances by more (up to 2): measured by
    the power method, the first layer's operator norm on 28x28 images is above 1.5. The
    product of the layers' operator norms bounds the input gradient (LeakyReLU's slope is
    at most 1), and the gradients at 50 random images stay under it. The same layers
    without the normalisation, scaled alike, have gradients far above 1."""
    zoo = load_chapter("10")
    minigan.manual_seed(1)
    D = zoo.make_discriminator("spectral")
    for _ in range(30):                       # 30 power steps per layer
        D(minigan.randn(4, 1, 28, 28))
    D.eval()
    x = minigan.randn(50, 1, 28, 28)
    before = D(x).numpy()
    wrapped = [layer for layer in D.modules() if isinstance(layer, zoo.SpectralNorm)]
    assert len(wrapped) == 3
    for layer in wrapped:
        layer.module.weight.data *= 100
    np.testing.assert_allclose(D(x).numpy(), before, rtol=1e-4, atol=1e-6)
    norms = zoo.operator_norms(D)
    assert 1.5 < norms[0] <= 2 * 1.01 and 1.0 < norms[1] <= 2 * 1.01, norms
    assert norms[2] == pytest.approx(1.0, abs=0.01), norms          # a Linear: sigma itself
    assert input_gradient_norms(D, x).max() <= np.prod(norms)
    plain = minigan.nn.Sequential(*[layer.module if isinstance(layer, zoo.SpectralNorm) else layer
                                    for layer in D])
    assert input_gradient_norms(plain, x).min() > 10.0
