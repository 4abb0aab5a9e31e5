"""Chapter 13 trains a small StyleGAN briefly and checks style mixing and the truncation trick."""
import numpy as np
import pytest

pytestmark = pytest.mark.ch13


@pytest.mark.slow
def test_chapter_13_stylegan_coarse_styles_set_the_class(run_chapter, feature_network, tmp_path):
    """450 steps (--quick). Style mixing: with the fine styles (the 32x32 layer) of another
    latent the own classifier still names A's class in most pairs; with the coarse
    styles (4x4, 8x8) of another latent it keeps it little more often than chance, and
    the middle styles (16x16) lie in between. Truncation: at psi = 0 every sample is one
    image (noise off), and the samples' spread grows with psi. The checkpoint can be
    sampled by ``python -m minigan sample``."""
    from minigan.__main__ import main as minigan_main
    _, _, cache = feature_network
    results, out = run_chapter("13", "--quick", "--feature-cache", str(cache))
    assert results["steps"] == 450
    assert results["FID at the end"] < 0.5 * results["FID at step 0"]
    kept = {name: results[f"{name} swapped, class kept"] for name in ("fine", "middle", "coarse")}
    assert kept["fine"] > MOST, kept
    assert kept["coarse"] <= COARSE_KEPT_AT_MOST, kept
    assert kept["fine"] - kept["coarse"] >= GAP_AT_LEAST, kept
    assert kept["middle"] > kept["coarse"], kept
    assert results["psi = 0: largest difference between samples (noise off)"] < 1e-5
    spread = [results[f"psi {psi:g}: pairwise distance"] for psi in (0, 0.25, 0.5, 0.75, 1)]
    assert spread[0] < 1e-4 and all(a < b for a, b in zip(spread, spread[1:])), spread
    assert results["psi 0: recall"] < results["psi 1: recall"]
    assert (out / "latest.ckpt").stat().st_size > 500_000
    for name in ("samples", "style_mixing", "truncation", "training"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert f"{name}.png" in (out / "summary.md").read_text()
    grid = tmp_path / "grid.png"
    assert minigan_main(["sample", str(out / "latest.ckpt"), "--n", "16", "--out", str(grid)]) == 0
    assert grid.stat().st_size > 1_000


# Measured on the quick run (450 steps, 500 pairs): class kept after a fine / middle /
# coarse swap 0.74 / 0.60 / 0.18 with seed 0 (the test's), 0.70 / 0.42 / 0.20 with seed 1
# (A and B of one class by chance: 0.14, 0.08). Since the Trainer evaluates on a random
# stream of its own, the step-0 evaluation no longer shifts the training's draws; when it
# did, seed 0 gave 0.71 / 0.42 / 0.20 and seed 1 0.73 / 0.49 / 0.17, and before that an
# engine that rounded differently 0.69 / 0.71 / 0.21 and 0.63 / 0.37 / 0.20. "Most" is
# more than one half; the coarse swap may keep the class at most 30% of the time, and the
# fine swap must keep it at least 0.25 more often. With the roles of the coarse and fine
# layers exchanged, seed 0 would fail the first three.
MOST = 0.5
COARSE_KEPT_AT_MOST = 0.3
GAP_AT_LEAST = 0.25


def test_chapter_13_truncation_at_zero_gives_the_average_style():
    """Untrained G: psi = 0 maps every z to w_avg, hence (noise off) to one image; psi = 1
    leaves w as it is, and the images differ. truncate() is w_avg + psi (w - w_avg)."""
    import minigan
    from minigan import models
    from minigan.training import evaluating
    minigan.manual_seed(0)
    G = models.StyleGenerator32()
    z = minigan.randn(8, 64)
    with evaluating(G):
        G.update_w_avg(G.mapping(minigan.randn(64, 64)), beta=0.0)
        w_avg = G.w_avg.numpy()
        w = G.mapping(z)
        np.testing.assert_allclose(G.truncate(w, 0.3).numpy(),
                                   w_avg + 0.3 * (w.numpy() - w_avg), rtol=1e-5, atol=1e-6)
        same, different = G(z, psi=0.0, noise=False).numpy(), G(z, psi=1.0, noise=False).numpy()
    assert same.shape == (8, 1, 32, 32)
    assert np.abs(same - same[:1]).max() < 1e-5
    assert np.abs(different - different[:1]).max() > 1e-3


def test_chapter_13_each_layer_reads_its_own_style():
    """Changing the style of one layer only changes the image, and the same styles twice
    (noise off) give the same image: synthesis takes one w per layer."""
    import minigan
    from minigan import models
    from minigan.training import evaluating
    minigan.manual_seed(1)
    G = models.StyleGenerator32()
    with evaluating(G):
        w1, w2 = G.mapping(minigan.randn(4, 64)), G.mapping(minigan.randn(4, 64))
        layers = G.num_layers
        base = G.synthesis([w1] * layers, noise=False).numpy()
        again = G.synthesis([w1] * layers, noise=False).numpy()
        np.testing.assert_array_equal(base, again)
        for layer in range(layers):
            styles = [w2 if i == layer else w1 for i in range(layers)]
            assert np.abs(G.synthesis(styles, noise=False).numpy() - base).max() > 1e-4, layer
