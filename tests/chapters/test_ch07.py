"""Chapter 07 trains the conditional GAN briefly and asks the own classifier whether G drew
the requested classes."""
import pytest

pytestmark = [pytest.mark.ch07, pytest.mark.slow]


def test_chapter_07_conditional_gan_draws_the_requested_class(run_chapter, feature_network):
    """150 steps: before training the classifier agrees with the requested class at chance
    (about 0.1); after them it agrees at least twice as often on average, so G's output
    already depends on the label. The classifier itself is right on > 85% of real test images.
    The Trainer evaluated at step 0 and every 25 steps (steps / 6), and evaluations.csv holds
    that whole history."""
    _, _, cache = feature_network
    results, out = run_chapter("07", "--quick", "--feature-cache", str(cache))
    assert results["steps"] == 150
    assert results["accuracy at step 0"] < 0.2
    assert results["accuracy by requested class (mean)"] >= 0.2
    assert results["classifier accuracy on the same number of real test images"] > 0.85
    assert 0 <= results["lowest class accuracy"] <= results["accuracy by requested class (mean)"]
    assert (out / "latest.ckpt").stat().st_size > 1_000_000
    rows = (out / "evaluations.csv").read_text().splitlines()
    assert rows[0] == "step,accuracy,fid"
    assert [row.split(",")[0] for row in rows[1:]] == [str(step) for step in range(0, 151, 25)]
    for name in ("class_grid", "accuracy", "training"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert f"{name}.png" in (out / "summary.md").read_text()


def test_chapter_07_generator_follows_the_label():
    """The label is an input: one z with two different labels gives two different images,
    and the same (z, label) twice gives the same image (in evaluation mode)."""
    import numpy as np

    import minigan
    from minigan import models
    from minigan.training import evaluating
    minigan.manual_seed(0)
    G = models.ConditionalGenerator()
    z = minigan.randn(1, 100)
    with evaluating(G):
        a, b, c = (G(z, np.array([y])).numpy() for y in (0, 5, 0))
    np.testing.assert_array_equal(a, c)
    assert np.abs(a - b).max() > 1e-3
