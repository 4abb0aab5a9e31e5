"""Chapter 06 trains the DCGAN briefly and measures it with FID on minigan's feature network."""
import pytest

pytestmark = [pytest.mark.ch06, pytest.mark.slow]


def test_chapter_06_dcgan_moves_towards_the_data(run_chapter, feature_network):
    """150 steps of DCGAN training: the FID to the test images falls to under half of the
    untrained generator's, while staying above the floor that held-out real images set
    (the generator has learned something, and is not yet the data). The run leaves a
    checkpoint a reader can sample from, and its figures."""
    _, _, cache = feature_network
    results, out = run_chapter("06", "--quick", "--feature-cache", str(cache))
    assert results["steps"] == 150
    assert results["FID at the end"] < 0.5 * results["FID at step 0"]
    assert results["FID at the end"] > results["FID of held-out real images (the floor)"]
    assert 0 <= results["precision at the end"] <= 1 and 0 <= results["recall at the end"] <= 1
    assert (out / "latest.ckpt").stat().st_size > 1_000_000
    for name in ("samples", "training", "interpolation"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert f"{name}.png" in (out / "summary.md").read_text()
    header = (out / "metrics.csv").read_text().splitlines()[0]
    assert header == "step,loss_d,loss_g,d_real,d_fake"
