"""Chapter 05 measures sets of real images whose quality it controls, with FID, KID,
precision/recall and the classifier's class coverage."""
import math

import pytest

pytestmark = [pytest.mark.ch05, pytest.mark.slow]


def test_chapter_05_metrics_behave_as_theory_says(run_chapter, feature_network):
    """The quick run (N = 1,000), on the session's feature network:

    * FID(test, train) falls at every step of N = 250, 500, 1000 (its bias shrinks as 1/N,
      so the fitted slope c is positive), and KID of the test set is tiny beside noise's;
    * FID grows at every level of noise and of blur; noise pushes precision down;
    * dropping classes (mean over random draws) lowers recall at every step 10 > 5 > 2 > 1
      while precision stays above 0.75, FID grows, the classes holding 5% or more of the
      predictions number k to k + 2 (10 for all classes), and the class histogram moves from
      even (reverse KL near 0) towards one class (log 10);
    * the trivial baselines' FIDs are far above the test set's and their recall is near 0."""
    _, accuracy, cache = feature_network
    results, out = run_chapter("05", "--quick", "--feature-cache", str(cache))
    assert results["feature network test accuracy"] == pytest.approx(accuracy)
    assert accuracy > 0.85

    bias = [results[f"FID(test, train) at N={n}"] for n in (250, 500, 1000)]
    assert bias[0] > bias[1] > bias[2] > 0, bias
    assert bias[0] > 2 * bias[2]
    assert results["c (slope of FID against 1/N)"] > 0

    test = {key: results[f"test images: {key}"] for key in ("FID", "KID", "precision", "recall")}
    assert test["precision"] > 0.75 and test["recall"] > 0.75
    for damage, levels in [("noise", ["0.05", "0.1", "0.2", "0.4", "0.8"]),
                           ("blur", ["0.5", "1", "1.5", "2", "3"])]:
        fids = [test["FID"]] + [results[f"{damage} σ={level}: FID"] for level in levels]
        assert all(b > a for a, b in zip(fids, fids[1:])), (damage, fids)
    assert results["noise σ=0.8: precision"] < test["precision"] - 0.2
    assert abs(test["KID"]) < 0.02 * results["noise σ=0.8: KID"]

    modes = {k: {key: results[f"{k} of 10 classes, mean over draws: {key}"]
                 for key in ("FID", "precision", "recall", "class reverse KL", "classes covered",
                             "classes at 5% or more")}
             for k in (10, 5, 2, 1)}
    recalls = [modes[k]["recall"] for k in (10, 5, 2, 1)]
    assert all(b < a for a, b in zip(recalls, recalls[1:])), recalls
    assert recalls[-1] < 0.5 * recalls[0]
    for k, row in modes.items():
        assert row["precision"] > 0.75, (k, row)
        # The classifier errs on about 1 image in 10: its errors only add classes, and at most
        # a couple of them reach 5% of a set.
        assert row["classes covered"] >= k
        assert k <= row["classes at 5% or more"] <= k + 2, (k, row)
    assert modes[1]["FID"] > 20 * modes[10]["FID"]
    assert modes[10]["class reverse KL"] < 0.05 and modes[10]["classes at 5% or more"] == 10
    assert 1.0 < modes[1]["class reverse KL"] <= math.log(10) + 1e-9

    for baseline in ("uniform noise", "mean image + noise"):
        assert results[f"{baseline}: FID"] > 30 * test["FID"]
        assert results[f"{baseline}: recall"] < 0.05

    summary = (out / "summary.md").read_text()
    assert "not Inception" in summary or "never with Inception" in summary
    for name in ("noise", "blur", "mode_dropping", "all_sets", "fid_bias"):
        assert (out / f"{name}.png").stat().st_size > 10_000
        assert f"{name}.png" in summary
