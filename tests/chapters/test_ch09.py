"""Chapter 09 trains WGAN (weight clipping) and WGAN-GP (gradient penalty) on the ring of 8."""
import math

import pytest

pytestmark = [pytest.mark.ch09, pytest.mark.slow]


def test_chapter_09_clipping_saturates_and_the_penalty_sets_the_slope(run_chapter):
    """The quick run (400 generator steps, the ring only, seed 0).

    WGAN-GP captures at least 6 of the 8 modes. The clipped critic has most of its
    parameters at the box's corners (within 1% of +-c) and a tiny slope, so a tiny W1
    estimate; the penalised critic has almost none there, and at the interpolates its slope
    is at least 1, as the soft penalty's optimum is (1 + |F_g - F_data| / (2 lambda rho)),
    and not more than 3 at lambda = 0.1. Every statistic is in its range, the figures are
    written."""
    results, out = run_chapter("09", "--quick")
    assert results["ring gp: modes"] >= 6
    share = "share of critic parameters within 1% of +-c"
    assert results[f"ring clip: {share}"] > 0.5
    assert results[f"ring gp: {share}"] < 0.05
    assert results["ring clip: gradient norm at interpolates, median"] < 0.01
    assert 1.0 <= results["ring gp: gradient norm at interpolates, median"] <= 3.0
    assert results["ring gp: gradient norm at interpolates, 10th percentile"] >= 0.5
    assert results["ring gp: W1 estimate"] > 0.05
    assert abs(results["ring clip: W1 estimate"]) < 0.01
    for method in ("clip", "gp"):
        assert 0 <= results[f"ring {method}: modes"] <= 8
        assert 0 <= results[f"ring {method}: high quality"] <= 1
        kl = results[f"ring {method}: reverse kl"]
        assert math.isnan(kl) or 0 <= kl <= math.log(8) + 1e-9
    for name in ("critics", "gradient_norms", "weights", "over_training"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert f"{name}.png" in (out / "summary.md").read_text()
    assert (out / "metrics.csv").read_text().startswith("dataset,method,step,W1_estimate,modes")
