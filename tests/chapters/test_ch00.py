"""Chapter 00 runs, and autograd's derivatives agree with calculus."""
import pytest

pytestmark = pytest.mark.ch00


def test_chapter_00_derivatives_match_closed_forms(run_chapter):
    """Autograd's first three derivatives of tanh equal the closed forms to rounding
    error, double backprop through a critic passes gradcheck, and a planted bug is caught."""
    results, out = run_chapter("00", "--quick")
    for order in ("1st", "2nd", "3rd"):
        assert results[f"max error, {order} derivative of tanh"] < 1e-12
    assert results["dy/dw, |backward - by hand|"] < 1e-15
    assert results["second-order gradcheck of a critic"] is True
    assert results["gradcheck of its gradient penalty"] is True
    assert results["planted backward bug caught"] is True
    assert (out / "tanh_derivatives.png").stat().st_size > 10_000
    assert "tanh_derivatives.png" in (out / "summary.md").read_text()
    assert (out / "metrics.csv").read_text().startswith("order,max_error")
