"""Chapter 14: the Dirac-GAN against its closed forms, the update schemes swept at an equal
compute budget on the ring and on Fashion-MNIST, and what the losses say about progress."""
import csv
import math

import pytest

pytestmark = pytest.mark.ch14


def test_chapter_14_dirac_gan_matches_its_closed_forms(run_chapter):
    """The Dirac-GAN part alone (no data, seconds): every method's measured rate per step is
    its update map's spectral radius (log-rates within 2%); simultaneous steps grow, R1,
    instance noise, extragradient and optimistic steps shrink; alternating steps neither
    (|log rate| < 1e-5, the distance within 20% of its start), the flow keeps theta^2 + psi^2,
    and WGAN-GP's penalty carries a start at 1e-3 out to a distance of order 1."""
    results, out = run_chapter("14", "--quick", "--parts", "dirac")
    for label in ("simultaneous", "R1 (gamma 0.3)", "instance noise (sigma 0.8)", "extragradient",
                  "optimistic"):
        assert results[f"dirac {label}: log-rate error"] < 0.02, label
        predicted = results[f"dirac {label}: predicted rate per step"]
        assert (predicted > 1) == (label == "simultaneous"), label
    assert results["dirac simultaneous: predicted rate per step"] == \
        pytest.approx(math.sqrt(1 + 0.1 ** 2 * 0.5 ** 2), abs=1e-7)
    assert results["dirac alternating: |log measured rate|"] < 1e-5
    assert results["dirac alternating: max / min distance"] < 1.2
    assert results["dirac flow: max relative change of theta^2 + psi^2"] < 1e-6
    assert results["dirac WGAN-GP (gamma 1): distance at the end (started at 1e-3)"] > 0.3
    for name in ("dirac_field", "dirac_rates"):
        assert (out / f"{name}.png").stat().st_size > 20_000
        assert f"{name}.png" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_chapter_14_quick_run(run_chapter, feature_network):
    """The quick run of the sweeps and the stopping analysis.

    Ring (4 seeds, 1,500 gradient evaluations each): alternating updates and TTUR capture
    more modes than simultaneous ones (quick runs of seeds 0 and 1: alternating by 2.25 and
    1.25 modes, TTUR by 5.0 and 7.25, simultaneous TTUR by 6.25 and 7.75). Fashion-MNIST:
    every configuration trains to a finite FID under 1,000. Stopping: the correlations are
    correlations (or NaN where recall stays constant), the best step is an evaluated one, and
    the logs the diagnose tool reads are there with their columns."""
    _, _, cache = feature_network
    results, out = run_chapter("14", "--quick", "--parts", "ring", "images", "stopping",
                               "--feature-cache", str(cache))
    simultaneous = results["ring simultaneous: modes"]
    assert results["ring alternating: modes"] >= simultaneous + 0.5
    assert results["ring TTUR, lr_G = lr_D / 4: modes"] >= simultaneous + 3.0
    assert results["ring TTUR, simultaneous: modes"] >= simultaneous + 3.0
    for label in ("simultaneous", "alternating", "alternating, n_D 2", "TTUR, lr_G = lr_D / 4"):
        assert 0 < results[f"images {label}: FID"] < 1000, label
    for key, value in results.items():
        if key.startswith("stopping: Spearman"):
            assert math.isnan(value) or -1 <= value <= 1, key
    assert 0 <= results["stopping: best-FID step"] <= results["stopping: last step"] == 400
    assert results["stopping: FID of the last step's G, fresh samples and images"] > 0
    header = (out / "metrics.csv").read_text().splitlines()[0]
    assert header == "step,loss_d,loss_g,grad_norm_g,d_real,d_fake"
    with open(out / "sweep" / "ring" / "simultaneous" / "seed0" / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["step", "evaluations", "loss_d", "loss_g", "grad_norm_g", "d_real",
                             "d_fake"]
    assert int(rows[-1]["evaluations"]) <= 1500
    for name in ("ring_samples", "losses_are_not_progress"):
        assert (out / f"{name}.png").stat().st_size > 20_000


@pytest.mark.parametrize("argv, said", [
    (["--ring-seeds", "0"], "got 0"),
    (["--ring-budget", "5"], "expected a whole number >= 6, got 5"),
    (["--image-budget", "-1"], "got -1"),
    (["--dirac-steps", "2.5"], "got '2.5'"),
    (["--parts", "everything"], "invalid choice: 'everything'"),
    (["--fid-samples", "3"], "got 3")])
def test_chapter_14_refuses_bad_options_in_one_line(argv, said, capsys, tmp_path):
    """Status 2 and one line naming the option; nothing runs, no folder is made."""
    from tests.chapters.conftest import load_chapter
    with pytest.raises(SystemExit) as stop:
        load_chapter("14").main([*argv, "--out", str(tmp_path / "run")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2
    assert len(lines) == 1 and argv[0] in lines[0] and said in lines[0], lines
    assert not (tmp_path / "run").exists()


def test_chapter_14_numeric_options_have_ranges():
    """No bare int or float type (which would take -1 or nan) among the chapter's options."""
    import argparse
    from tests.chapters.conftest import load_chapter
    parser = argparse.ArgumentParser()
    load_chapter("14").add_arguments(parser)
    for action in parser._actions:
        assert action.type not in (int, float), action.option_strings
