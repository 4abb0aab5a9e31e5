"""Chapter 08 trains InfoGAN briefly: G learns to write its codes so that Q can read them."""
import pytest

pytestmark = [pytest.mark.ch08, pytest.mark.slow]


def test_chapter_08_infogan_codes_are_legible(run_chapter, feature_network):
    """150 steps: Q recovers the categorical code of at least 90% of generated images (G
    uses c), its guesses of both continuous codes correlate positively with the true ones,
    and the categorical code, matched one to one to the classes, agrees with the true
    class of real test images at least twice as often as chance (0.1), though no label
    was ever seen. The Trainer evaluated at step 0 and every 25 steps (steps / 6), and
    evaluations.csv holds that whole history."""
    _, _, cache = feature_network
    results, out = run_chapter("08", "--quick", "--feature-cache", str(cache))
    assert results["steps"] == 150
    assert results["Q recovers c on generated images"] >= 0.9
    assert all(r > 0 for r in results["correlation of Q's u1, u2 with the true u"])
    assert results["clustering accuracy of c on real test images"] >= 0.2
    assert sorted(results["matching (code -> class)"].values()) == list(range(10))
    for name in ("codes", "training"):
        assert (out / f"{name}.png").stat().st_size > 10_000
    header = (out / "metrics.csv").read_text().splitlines()[0]
    assert header == "step,loss_d,loss_g,info,mi_lower_bound"
    rows = (out / "evaluations.csv").read_text().splitlines()
    assert rows[0] == "step,q_category_accuracy,clustering_accuracy," \
                      "generated_clustering_accuracy,fid"
    assert [row.split(",")[0] for row in rows[1:]] == [str(step) for step in range(0, 151, 25)]


def test_chapter_08_matching_agrees_with_the_exercise_answer():
    """The chapter's best matching is the exercise's: equal scores on random codes."""
    import numpy as np

    from tests.chapters.conftest import load_chapter
    from tests.exercises.ch08_reference import best_matching_accuracy
    chapter = load_chapter("08")
    rng = np.random.default_rng(0)
    for _ in range(5):
        codes, labels = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
        assert chapter.best_matching_accuracy(codes, labels)[0] == pytest.approx(
            best_matching_accuracy(codes, labels, 10))
