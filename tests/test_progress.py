"""The progress bar and the run folder that every chapter uses."""
import io
import json

from minigan import backend, experiment
from minigan.progress import Progress


def test_progress_logs_tenths_and_shows_rate_eta_and_values():
    """In a log the bar prints one line per tenth of the way, each with rate, ETA and values."""
    stream = io.StringIO()
    bar = Progress(total=50, desc="train", stream=stream)
    for step in range(50):
        bar.update(loss=0.5 + step)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[-1].startswith("train [########################] 50/50")
    assert "it/s" in lines[-1] and "<" in lines[-1] and "loss=49.5" in lines[-1]


def test_run_folder_holds_config_metrics_figures_and_summary(tmp_path):
    """A run writes config.json, metrics.csv, its figures and a summary that shows them."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    args = experiment.parse_args("99_test", ["--quick", "--out", str(tmp_path / "run")],
                                 steps=10, quick_steps=3)
    assert args.steps == 3 and args.device == backend.get_device()
    run = experiment.Run("99_test", args)
    run.log(step=1, loss=0.5)
    run.log(step=2, loss=0.25)
    figure, axis = plt.subplots()
    axis.plot([0, 1])
    run.savefig(figure, "curve", "a line")
    run.finish({"final loss": 0.25})
    folder = tmp_path / "run"
    assert json.loads((folder / "config.json").read_text())["steps"] == 3
    assert (folder / "metrics.csv").read_text().splitlines() == ["step,loss", "1,0.5", "2,0.25"]
    summary = (folder / "summary.md").read_text()
    assert "| final loss | 0.25 |" in summary and "![a line](curve.png)" in summary
    assert json.loads((folder / "results.json").read_text()) == {"final loss": 0.25}
