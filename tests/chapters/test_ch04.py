"""Chapter 04 trains three GANs on the ring of 8 Gaussians, 5 seeds each, and counts their modes."""
import math

import pytest

pytestmark = [pytest.mark.ch04, pytest.mark.slow]


def test_chapter_04_pacgan_and_unrolling_cover_the_ring(run_chapter):
    """The quick run (3,000 steps, 500 for the unrolled GAN: the same compute) on the ring:
    PacGAN captures all 8 modes of every seed with most samples high quality and the modes
    evenly filled; the unrolled GAN reaches at least 7 on average; the vanilla GAN, with the
    same networks and budget, captures fewer than PacGAN. Every statistic lies in its range
    (modes 0..8, reverse KL 0..log 8) and the figures are written."""
    results, out = run_chapter("04", "--quick", "--datasets", "ring")
    pac = {name: results[f"ring pacgan: {name}"] for name in ("modes", "high quality", "reverse KL")}
    assert pac["modes"] == 8
    assert pac["high quality"] >= 0.5
    assert pac["reverse KL"] < 0.1
    assert results["ring unrolled: modes"] >= 7
    assert results["ring vanilla: modes"] < pac["modes"]
    for method in ("vanilla", "pacgan", "unrolled"):
        per_seed = [int(m) for m in results[f"ring {method}: modes per seed"].split()]
        assert len(per_seed) == 5 and all(0 <= m <= 8 for m in per_seed)
        assert 0 <= results[f"ring {method}: high quality"] <= 1
        kl = results[f"ring {method}: reverse KL"]
        assert math.isnan(kl) or 0 <= kl <= math.log(8) + 1e-9
    for name in ("samples", "over_training", "snapshots_ring"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert f"{name}.png" in (out / "summary.md").read_text()
    assert (out / "metrics.csv").read_text().startswith("dataset,method,step,modes,high_quality")
