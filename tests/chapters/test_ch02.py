"""Chapter 02 runs, and the trained players agree with the theory of the minimax game."""
import math

import pytest

pytestmark = pytest.mark.ch02


def test_chapter_02_matches_the_theory(run_chapter):
    """(a) the trained D is within 0.05 of D* = p_data / (p_data + p_g) over the region
    holding 98% of both densities; (b) its value is within 0.02 nats of -log 4 + 2 JSD,
    and below it (D* is the maximiser); (c) at D(G(z)) = 0.01 the saturating gradient is
    under 2% of the non-saturating one; (d) training both ends with p_g on p_data
    (N(4, 0.5^2)) and D near 1/2 on the data. The quick run keeps (a) and (b) as in the
    default run and trains the pair for half as many rounds."""
    results, out = run_chapter("02", "--quick")
    assert results["(a) max |D - D*| over the 98% regions"] <= 0.05
    value = results["(b) V(D, G) of the trained D, by quadrature"]
    theory = results["(b) -log 4 + 2 JSD(p_data || p_g), by quadrature"]
    assert abs(value - theory) <= 0.02
    assert value <= theory + 1e-5
    assert results["(c) saturating / non-saturating gradient at D(G(z)) = 0.01"] < 0.02
    assert (results["(c) |grad of G's parameters|, saturating"]
            < results["(c) |grad of G's parameters|, non-saturating"])
    assert results["(d) mean of p_g at the end"] == pytest.approx(4.0, abs=0.05)
    assert results["(d) std of p_g at the end"] == pytest.approx(0.5, abs=0.03)
    assert results["(d) JSD(p_data || p_g) at the end"] < 1e-3
    assert results["(d) V(D, G) at the end"] == pytest.approx(-math.log(4), abs=0.02)
    assert results["(d) max |D - 1/2| over p_data's 98% interval"] <= 0.1
    for name in ("a_discriminator", "b_value_vs_theory", "c_generator_gradients", "d_figure_1"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert f"{name}.png" in (out / "summary.md").read_text()
    assert (out / "metrics.csv").read_text().startswith("part,step,loss_d,loss_g,value")
