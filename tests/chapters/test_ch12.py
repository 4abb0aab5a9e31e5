"""Chapter 12 trains CycleGAN's two translators between edge maps and garments on unpaired
halves of the training set, and measures them through the test set's hidden pairing; its
building blocks (the generators, the unconditional PatchGAN, the image pool, one step)
are checked on their own, quickly."""
import numpy as np
import pytest

import minigan
from minigan.training import evaluating
from tests.chapters.conftest import load_chapter

pytestmark = pytest.mark.ch12



@pytest.mark.slow
def test_chapter_12_cyclegan_quick_run(run_chapter, feature_network):
    """The quick run: 160 steps, 500 test images. Training has cut both cycle errors to
    well under the untrained nets' (seeds 0 and 1: |F(G(a)) - a| 0.38 from 1.01, |G(F(b)) -
    b| 0.24 from 0.76-0.83), moved G's outputs towards the hidden true garments (L1 0.54-0.55
    from 0.76-0.83) and far towards real garments in FID (202-230 from 798-812; the floor
    is 10), and D_B tells real garments from pooled fakes over the last 50 steps (mean
    score 0.67-0.71 against 0.28-0.32). Through the hidden pairing, the own classifier
    names the true garment's class for 0.31 of the translations (seed 0; untrained 0.09,
    chance 0.1, real garments 0.91). The L1 to the truth is not asked to beat the median
    image's (0.42): at 160 steps it does not (the default run does, at 1,500)."""
    import csv
    _, _, cache = feature_network
    results, out = run_chapter("12", "--quick", "--feature-cache", str(cache))
    assert results["steps"] == 160
    median = results["L1 to the truth: the median training image"]
    assert 0.35 < median < 0.5
    for name in ("|F(G(a)) - a|", "|G(F(b)) - b|"):
        assert results[f"cycle error {name}"] < 0.6 * results[
            f"cycle error {name}: untrained (step 0)"]
    assert results["L1 to the truth |G(a) - b|"] < 0.85 * results[
        "L1 to the truth: untrained G (step 0)"]
    assert results["FID: G(test edges)"] < 0.5 * results["FID: untrained G (step 0)"]
    kept = results["G(a) in the true garment's class"]
    assert kept > 0.2 and kept > 2 * results["G(a) in the true garment's class: untrained G (step 0)"]
    assert results["the true garments in their class (the classifier's ceiling)"] > 0.85
    assert results["FID of real test images (the floor)"] < 0.2 * results["FID: G(test edges)"]
    with open(out / "metrics.csv", newline="") as file:
        rows = [row for row in csv.DictReader(file) if int(row["step"]) > 110]
    d_real = np.mean([float(row["d_real_b"]) for row in rows])
    d_fake = np.mean([float(row["d_fake_b"]) for row in rows])
    assert d_real > d_fake + 0.15
    for name in ("round_trips", "training"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert f"{name}.png" in (out / "summary.md").read_text()
    assert (out / "latest.ckpt").stat().st_size > 100_000

def test_networks_shapes():
    """Both translators map (B, 1, 28, 28) to the same shape in [-1, 1]; each D gives a
    7 x 7 grid of scores; the translators of one module are separate networks."""
    chapter = load_chapter("12")
    minigan.manual_seed(0)
    nets, Ds = chapter.Translators(width=4, blocks=1), chapter.Discriminators(width=8)
    x = minigan.randn(3, 1, 28, 28)
    with evaluating(nets, Ds):
        for net in (nets.G, nets.F):
            y = net(x).numpy()
            assert y.shape == (3, 1, 28, 28) and np.abs(y).max() <= 1
        assert Ds.A(x).shape == Ds.B(x).shape == (3, 1, 7, 7)
        assert np.abs(nets.G(x).numpy() - nets.F(x).numpy()).max() > 1e-4


def test_the_paired_yardstick_is_chapter_11s_recorded_figure():
    """The training figure's pix2pix line is read from chapter 11's results.json, so it
    moves when chapter 11 is recorded again (it was once a number typed into the plot)."""
    from minigan import results
    recorded = results.load_results(results.chapter_folder(11))
    figure = recorded["figures"]["L1 to the truth: pix2pix"]
    assert load_chapter("12").pix2pix_l1() == figure["value"]


def test_chapter_pool_matches_the_reference():
    """The chapter's pool on Tensors returns exactly what exercise 12.1's reference returns
    on arrays, for the same seed, and hands D no graph to backpropagate into G."""
    from tests.exercises.ch12_reference import ImagePool
    chapter = load_chapter("12")
    pool, reference = chapter.ImagePool(50, seed=7), ImagePool(50, seed=7)
    rng = np.random.default_rng(0)
    for _ in range(12):
        images = rng.standard_normal((16, 1, 4, 4)).astype(np.float32)
        fakes = minigan.tensor(images, requires_grad=True) * 1.0
        got = pool.query(fakes)
        assert not got.requires_grad
        np.testing.assert_array_equal(got.numpy(), reference.query(images))
    assert len(pool.images) == 50


def test_pool_state_survives_a_checkpoint(tmp_path):
    """A pool rebuilt from ``state_dict()``, through a checkpoint file, answers the next
    queries exactly as the pool it was saved from: the same stored images and the same
    coins (the rebuilt pool starts from another seed, so its coins must come from the
    state). Saved empty, half full and full."""
    from minigan.checkpoint import load_checkpoint, save_checkpoint
    chapter = load_chapter("12")
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((16, 1, 4, 4)).astype(np.float32) for _ in range(8)]
    for filled in (0, 2, 4):
        pool = chapter.ImagePool(50, seed=7)
        for images in batches[:filled]:
            pool.query(minigan.tensor(images))
        save_checkpoint(tmp_path / "pool.ckpt", pool=pool.state_dict())
        again = chapter.ImagePool(50, seed=123)
        again.load_state_dict(load_checkpoint(tmp_path / "pool.ckpt")["pool"])
        assert len(again.images) == len(pool.images) == min(16 * filled, 50)
        for images in batches[filled:]:
            np.testing.assert_array_equal(again.query(minigan.tensor(images)).numpy(),
                                          pool.query(minigan.tensor(images)).numpy())


def test_one_step_trains_all_four_networks():
    """One step moves the weights of G, F, D_A and D_B, fills each pool with the batch's
    fakes, and reports the losses; without the identity term it skips those passes."""
    chapter = load_chapter("12")
    minigan.manual_seed(3)
    nets, Ds = chapter.Translators(width=4, blocks=1), chapter.Discriminators(width=8)
    opt_g = minigan.optim.Adam(nets.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = minigan.optim.Adam(Ds.parameters(), lr=2e-4, betas=(0.5, 0.999))
    pools = chapter.ImagePool(50, seed=0), chapter.ImagePool(50, seed=1)
    a = minigan.tensor(np.where(np.random.default_rng(0).random((6, 1, 28, 28)) > 0.8,
                                1, -1).astype(np.float32))
    b = minigan.rand(6, 1, 28, 28) * 2 - 1
    before = {name: {k: v.copy() for k, v in net.state_dict().items()}
              for name, net in (("G", nets.G), ("F", nets.F), ("A", Ds.A), ("B", Ds.B))}
    values = chapter.make_step(nets, Ds, opt_g, opt_d, pools, 10.0, 0.5)((a, b))
    assert {"loss_g", "loss_gan", "cycle", "identity", "loss_d"} <= set(values)
    for name, net in (("G", nets.G), ("F", nets.F), ("A", Ds.A), ("B", Ds.B)):
        after = net.state_dict()
        assert max(np.abs(after[k] - before[name][k]).max() for k in after) > 1e-4, name
    assert len(pools[0].images) == len(pools[1].images) == 6
    values = chapter.make_step(nets, Ds, opt_g, opt_d, pools, 10.0, 0.0)((a, b))
    assert "identity" not in values

