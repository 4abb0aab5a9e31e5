"""Chapter 01 runs, and its kernels agree with their definitions and with theory."""
import pytest

pytestmark = pytest.mark.ch01


def test_chapter_01_kernels_match_theory(run_chapter):
    """conv2d by im2col is the loop definition, conv_transpose2d is its adjoint, a stride-2
    transposed conv overlaps unevenly exactly when s does not divide k, batch norm's
    gradient goes through its statistics, and Adam's first step is lr whatever |g|."""
    results, out = run_chapter("01", "--quick")

    assert results["conv2d by im2col vs by loop, max |error|"] < 1e-12
    assert results["im2col copies per input value (k=4, s=2, p=1)"] == 4.0   # k^2 / s^2

    assert results["adjoint identity (2), stride 2, max relative error"] < 1e-13
    assert results["max |matrix of conv_transpose2d - M^T|"] == 0.0

    assert results["checkerboard max/min, k=3 s=2"] == 4.0      # counts 1, 2, 4
    assert results["checkerboard max/min, k=4 s=2"] == 1.0      # even overlap
    assert results["checkerboard max/min equals (ceil(k/s)/floor(k/s))^2, k=2..7"] is True

    assert results["batch norm: max |autograd - equation (3)|"] < 1e-12
    assert results["batch norm: max |per-channel sum of dL/dx|"] < 1e-12
    assert results["batch norm, statistics as constants: max |per-channel sum|"] > 0.1
    assert results["batch norm, statistics as constants: relative error"] > 0.01
    assert results["batch norm gradcheck"] is True
    assert results["batch norm gradgradcheck"] is True

    # bias correction: m_hat / sqrt(v_hat) = sign(g) at t = 1, up to eps / |g| <= 1e-4
    assert 1 - 1e-4 - 1e-9 <= results["Adam first step |dp|/lr, min over |g| in 1e-4..1e4"]
    assert results["Adam first step |dp|/lr, max over |g| in 1e-4..1e4"] <= 1 + 1e-12
    # without it: (1 - b1) / sqrt(1 - b2) lr
    assert results["uncorrected first step / lr, betas (0.9, 0.999)"] == pytest.approx(
        0.1 / 0.001 ** 0.5, rel=1e-6)
    assert results["uncorrected first step / lr, betas (0.5, 0.999)"] == pytest.approx(
        0.5 / 0.001 ** 0.5, rel=1e-6)
    assert results["uncorrected largest step / lr, betas (0.9, 0.999)"] == pytest.approx(
        max((1 - 0.9 ** t) / (1 - 0.999 ** t) ** 0.5 for t in range(1, 301)), rel=1e-6)
    assert results["quadratic from p=0.05: p after step 1, with correction"] == pytest.approx(0.04)
    assert results["quadratic from p=0.05: p after step 1, without correction"] < -0.1

    for name in ("im2col", "adjoint", "checkerboard", "adam"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert f"{name}.png" in (out / "summary.md").read_text()
    assert (out / "metrics.csv").read_text().startswith("step,adam_default,uncorrected_default")
