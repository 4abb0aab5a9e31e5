"""``python -m minigan diagnose``: each planted failure named, with its evidence; a healthy run not.

The planted failures are real runs, written by ``experiment.Run`` and ``Trainer`` as a
chapter writes them: a tiny MLP GAN (2 -> 64 -> 64 -> 2 and 2 -> 64 -> 64 -> 1) on the
ring of 8 Gaussians, a few hundred steps, logging what ``minigan.diagnose`` reads (the
losses, D's mean outputs, both gradient norms) every 10 steps, and measuring G every 50
(FID of the 2-D points themselves, precision and recall with k = 3, sample diversity).
Each run is built once per module. Then hand-written folders for the edge cases (missing
columns, one row, an empty file, a WGAN critic's negative loss), and the command line.
"""
import json
import math
import subprocess
import sys
import types

import numpy
import pytest

import minigan
from minigan import diagnose as diagnosis
from minigan import experiment, nn
from minigan.__main__ import PROBLEMS_FOUND
from minigan.__main__ import main as command
from minigan.data import Batches, toy
from minigan.diagnose import Finding, diagnose, format_report
from minigan.gan import losses
from minigan.metrics.fid import fid
from minigan.metrics.precision_recall import precision_recall
from minigan.training import Trainer, TrainingDiverged

pytestmark = pytest.mark.ch15

LOG_EVERY, EVALUATE_EVERY = 10, 50
RING_STD = 0.05     # wide enough modes that 500 samples measure recall steadily


def ring_points(n, seed):
    return toy.ring(n, rng=seed, std=RING_STD)[0].astype(numpy.float32)


def gaussian_points(n, seed):
    """N((1, 1), 0.5^2 I): a target a linear D and an affine G can play for (a Dirac-GAN)."""
    rng = numpy.random.default_rng(seed)
    return (1.0 + 0.5 * rng.standard_normal((n, 2))).astype(numpy.float32)


class IgnoresZ(nn.Module):
    """A generator whose output does not depend on z (z is multiplied by 0 on the way in):
    the limit of mode collapse, every sample the same point."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, z):
        return self.net(z * 0.0)


def mlp(out, hidden=64):
    return nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                         nn.LeakyReLU(0.2), nn.Linear(hidden, out))


def toy_run(folder, steps=300, lr_g=1e-3, lr_d=1e-3, batch=64, d_steps=1, simultaneous=False,
            optimizer="adam", generator="mlp", g_loss="nonsaturating", step_g=True, seed=0,
            log_every=LOG_EVERY, linear=False):
    """Train the tiny ring GAN into ``folder`` as a chapter would; return the folder.

    ``d_steps``: D updates per G update; ``simultaneous``: D and G both step from the same
    weights (gradient descent-ascent) instead of D first; ``generator="ignores z"`` plants a
    collapsed G; ``step_g=False`` forgets G's optimiser step; ``linear``: G affine in z, D
    logistic regression without bias, the data one Gaussian (close to chapter 14's
    Dirac-GAN, whose simultaneous steps spiral out). A run the Trainer stops for a NaN is
    left as the Trainer leaves it: no results.json, no summary.md.
    """
    args = types.SimpleNamespace(out=folder, resume=False, seed=seed, steps=steps, lr_g=lr_g,
                                 lr_d=lr_d, batch_size=batch, d_steps=d_steps,
                                 simultaneous=simultaneous, optimizer=optimizer,
                                 generator=generator, g_loss=g_loss, linear=linear)
    run = experiment.Run("test_diagnose", args)
    minigan.manual_seed(seed)
    G = nn.Linear(2, 2) if linear else mlp(2)
    G = IgnoresZ(G) if generator == "ignores z" else G
    D = nn.Linear(2, 1, bias=False) if linear else mlp(1)
    if optimizer == "adam":
        opt_g = minigan.optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999))
        opt_d = minigan.optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    else:
        opt_g = minigan.optim.SGD(G.parameters(), lr=lr_g)
        opt_d = minigan.optim.SGD(D.parameters(), lr=lr_d)
    generator_loss = {"nonsaturating": losses.generator_loss_nonsaturating,
                      "saturating": losses.generator_loss_saturating}[g_loss]
    points = gaussian_points if linear else ring_points
    data, held_out = points(4096, seed=1), points(500, seed=2)
    real_diversity = diagnosis.sample_diversity(held_out)

    def d_update(real):
        fake = G(minigan.randn(batch, 2))
        real_logits, fake_logits = D(real), D(fake.detach())
        loss_d = losses.discriminator_loss(real_logits, fake_logits)
        opt_d.zero_grad()
        loss_d.backward()
        return loss_d, real_logits, fake_logits

    def g_update():
        loss_g = generator_loss(D(G(minigan.randn(batch, 2))))
        opt_g.zero_grad()
        loss_g.backward()
        return loss_g

    def step(real):
        logging = (trainer.step + 1) % log_every == 0 or trainer.step + 1 == steps
        for _ in range(d_steps - 1):
            d_update(real)
            opt_d.step()
        if simultaneous:   # both players step from the same weights (gradient descent-ascent)
            loss_g = g_update()
            loss_d, real_logits, fake_logits = d_update(real)   # drops what loss_g left in D
            norm_d = diagnosis.gradient_norm(D) if logging else None
            opt_d.step()
        else:              # D first, then G answers the updated D
            loss_d, real_logits, fake_logits = d_update(real)
            norm_d = diagnosis.gradient_norm(D) if logging else None
            opt_d.step()
            loss_g = g_update()
        norm_g = diagnosis.gradient_norm(G) if logging else None
        if step_g:
            opt_g.step()
        values = {"loss_d": loss_d.item(), "loss_g": loss_g.item()}
        if logging:
            values.update(grad_norm_g=norm_g, grad_norm_d=norm_d,
                          d_real=minigan.nn.functional.sigmoid(real_logits).mean().item(),
                          d_fake=minigan.nn.functional.sigmoid(fake_logits).mean().item())
        return values

    def evaluate(step):
        with minigan.no_grad():
            samples = G(minigan.randn(500, 2)).numpy().astype(numpy.float64)
        if not numpy.isfinite(samples).all():
            return {"fid": float("nan")}
        scores = precision_recall(held_out, samples)
        return {"fid": fid(samples, held_out), "precision": scores.precision,
                "recall": scores.recall, "diversity": diagnosis.sample_diversity(samples),
                "real_diversity": real_diversity}

    trainer = Trainer(step, Batches(data, batch_size=batch, seed=seed), steps, run, G=G, D=D,
                      opt_g=opt_g, opt_d=opt_d, log_every=log_every, checkpoint_every=steps,
                      evaluate_fn=evaluate, evaluate_every=EVALUATE_EVERY)
    try:
        trainer.fit()
        run.finish({"steps": steps})
    except TrainingDiverged:
        pass   # the folder stays as a diverged chapter run leaves it: no results, no summary
    return folder


def problems(findings):
    return sorted({finding.problem for finding in findings})


# --- real runs, each with one failure planted -----------------------------------------------
# Marked slow: each trains (0.5-2.5 s of CPU), about 10 s together.
# Each configuration was run with seeds 0-3 (2026-12-03); every seed gave the problem its
# test asserts, but two: "learning rate 1" with seed 3 diverged between two logged steps
# before its losses grew (diagnose names the learning rate and notes the early stop), and
# "simultaneous" with seed 0 swung in FID only, d_fake's swings staying under 4. The
# tests use seed 0, and seed 1 for the oscillation.
PLANTED = {
    # Adam 1e-3 for both, one D step per G step: chapter 04's recipe.
    "healthy": dict(steps=300),
    # D ten steps per G step at lr 1e-2, G at 1e-5: D wins, G's loss -log D(G(z)) climbs.
    "strong D": dict(d_steps=10, lr_d=1e-2, lr_g=1e-5),
    # The same with G on the saturating loss log(1 - D(G(z))): G's gradient vanishes.
    "strong D, saturating G": dict(d_steps=10, lr_d=1e-2, lr_g=1e-5, g_loss="saturating"),
    # Plain gradient steps of size 1: the weights blow up and the Trainer stops on a NaN.
    "learning rate 1": dict(optimizer="sgd", lr_g=1.0, lr_d=1.0),
    # G's output ignores z: every sample one point.
    "G ignores z": dict(generator="ignores z"),
    # G's optimiser never steps (a forgotten opt_g.step()).
    "G never steps": dict(step_g=False),
    # Simultaneous gradient steps on the bilinear-like game of an affine G and a logistic
    # D, lr 1.5: they spiral (chapter 14); the same steps alternating do not.
    "simultaneous": dict(linear=True, simultaneous=True, optimizer="sgd", lr_g=1.5, lr_d=1.5,
                         steps=1000, seed=1),
    "alternating": dict(linear=True, simultaneous=False, optimizer="sgd", lr_g=1.5, lr_d=1.5,
                        steps=1000, seed=1),
}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """name -> the findings of that planted run (each trained once, on first use)."""
    found = {}

    def findings(name):
        if name not in found:
            folder = tmp_path_factory.mktemp(name.replace(" ", "_").replace(",", ""))
            found[name] = diagnose(toy_run(folder, **PLANTED[name])), folder
        return found[name]
    return findings


@pytest.mark.slow
def test_a_healthy_run_is_not_flagged(planted):
    findings, folder = planted("healthy")
    assert findings == [], format_report(folder, findings)
    report = format_report(folder, findings)
    assert "no problem found" in report and "not checked" not in report


@pytest.mark.slow
@pytest.mark.parametrize("name, vanished", [("strong D", "G's loss"),
                                            ("strong D, saturating G", "G's gradient norm")])
def test_a_discriminator_too_strong_is_named(planted, name, vanished):
    findings, folder = planted(name)
    found = {f.problem: f for f in findings}
    assert "discriminator wins" in found, format_report(folder, findings)
    evidence = found["discriminator wins"].evidence
    for words in ("loss_d", "d_real", "d_fake", vanished, "steps 240-300"):
        assert words in evidence, evidence
    assert "lr_d = 0.01" in found["learning rate"].evidence


@pytest.mark.slow
# The weights overflow float32 before the loss turns NaN: NumPy warns, as it would on the
# command line, instead of the error the suite makes of a RuntimeWarning elsewhere.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_learning_rate_far_too_high_is_named_with_the_divergence(planted):
    findings, folder = planted("learning rate 1")
    found = {f.problem: f for f in findings}
    assert {"nan", "learning rate"} <= set(found), format_report(folder, findings)
    # the Trainer logs the row that holds the NaN before it stops: the step is named
    assert "= nan at step" in found["nan"].evidence, found["nan"].evidence
    assert "lr_g = 1, lr_d = 1" in found["learning rate"].evidence
    assert not (folder / "results.json").exists()


@pytest.mark.slow
def test_a_generator_that_ignores_z_is_mode_collapse(planted):
    findings, folder = planted("G ignores z")
    found = {f.problem: f for f in findings}
    assert "mode collapse" in found, format_report(folder, findings)
    assert "0% of the real data's" in found["mode collapse"].evidence
    assert "learning rate" not in found and "batch size" not in found


@pytest.mark.slow
def test_a_generator_that_never_steps_makes_no_progress(planted):
    findings, folder = planted("G never steps")
    found = {f.problem: f for f in findings}
    assert "no progress" in found, format_report(folder, findings)
    assert "fid" in found["no progress"].evidence and "step 0" in found["no progress"].evidence


@pytest.mark.slow
def test_simultaneous_steps_oscillate_and_alternating_ones_do_not(planted):
    findings, folder = planted("simultaneous")
    found = {f.problem: f for f in findings}
    assert "oscillation" in found, format_report(folder, findings)
    assert "d_fake swung" in found["oscillation"].evidence
    findings, folder = planted("alternating")
    assert "oscillation" not in problems(findings), format_report(folder, findings)
    assert "learning rate" in problems(findings)


# --- hand-written folders: the edge cases ----------------------------------------------------
def write_run(folder, metrics=None, evaluations=None, config=None):
    """A run folder from literal parts: CSV text (or None: no file), config as a dict."""
    folder.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    if metrics is not None:
        (folder / "metrics.csv").write_text(metrics)
    if evaluations is not None:
        (folder / "evaluations.csv").write_text(evaluations)
    return folder


def csv_text(columns, *series):
    """CSV text with ``columns`` and one row per index of the equally long ``series``."""
    rows = [",".join(columns)]
    rows += [",".join(f"{value}" for value in row) for row in zip(*series)]
    return "\n".join(rows) + "\n"


def steady_losses(n=40, seed=0):
    """Losses and D outputs of a balanced game: noise around loss_d 1.3, loss_g 0.8, D 0.5."""
    rng = numpy.random.default_rng(seed)
    steps = numpy.arange(1, n + 1) * 10
    return (steps, 1.3 + 0.05 * rng.standard_normal(n), 0.8 + 0.1 * rng.standard_normal(n),
            0.55 + 0.03 * rng.standard_normal(n), 0.45 + 0.03 * rng.standard_normal(n))


COLUMNS = ["step", "loss_d", "loss_g", "d_real", "d_fake"]


def test_a_balanced_run_written_by_hand_is_healthy(tmp_path):
    folder = write_run(tmp_path / "run", csv_text(COLUMNS, *steady_losses()),
                       "step,fid,precision,recall\n0,900,0.9,0.0\n200,300,0.5,0.3\n"
                       "400,120,0.6,0.5\n",
                       {"lr": 2e-4, "batch": 64, "steps": 400})
    assert diagnose(folder) == []
    report = format_report(folder, [])
    assert "no problem found" in report and "not checked" not in report


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_non_finite_value_is_named_with_its_first_step(tmp_path, value):
    steps, loss_d, loss_g, d_real, d_fake = steady_losses()
    loss_g = [f"{v}" for v in loss_g]
    loss_g[12] = loss_g[20] = value          # steps 130 and 210
    folder = write_run(tmp_path / "run", csv_text(COLUMNS, steps, loss_d, loss_g, d_real, d_fake))
    (finding,) = [f for f in diagnose(folder) if f.problem == "nan"]
    assert "loss_g" in finding.evidence and "step 130" in finding.evidence, finding.evidence
    assert "step 210" not in finding.evidence


def test_a_column_a_block_never_measured_is_not_a_nan(tmp_path):
    """Chapter 09 writes nan for the swiss roll's distance on the ring: not a divergence."""
    rows = ["dataset,method,step,modes,distance_to_the_roll"]
    rows += [f"ring,gp,{s},{m},nan" for s, m in zip(range(0, 500, 50), [2, 5, 7, 8, 8, 8, 8, 8,
                                                                           8, 8])]
    rows += [f"roll,gp,{s},nan,{d}" for s, d in zip(range(0, 500, 50), numpy.linspace(1, .1, 10))]
    folder = write_run(tmp_path / "run", "\n".join(rows) + "\n")
    assert diagnose(folder) == []


def test_blocks_of_a_multi_run_folder_are_diagnosed_apart(tmp_path):
    """Chapter 04 logs its datasets and methods in one metrics.csv: modes that fall in one
    block are named with the block."""
    rows = ["dataset,method,step,modes,high_quality"]
    rows += [f"ring,vanilla,{s},{m},0.9" for s, m in zip(range(0, 500, 50),
                                                        [1, 4, 7, 8, 8, 7, 5, 3, 2, 2])]
    rows += [f"ring,pacgan,{s},{m},0.9" for s, m in zip(range(0, 500, 50),
                                                       [1, 4, 7, 8, 8, 8, 8, 8, 8, 8])]
    folder = write_run(tmp_path / "run", "\n".join(rows) + "\n")
    (finding,) = diagnose(folder)
    assert finding.problem == "mode collapse"
    assert "method vanilla" in finding.evidence and "pacgan" not in finding.evidence
    assert "8 to 2" in finding.evidence, finding.evidence


def test_discriminator_winning_needs_both_sides(tmp_path):
    n = 40
    steps = numpy.arange(1, n + 1) * 10
    fade = numpy.linspace(1, 0, n) ** 4            # 1 -> 0 over the run
    loss_d = 1.3 * fade + 0.01
    d_real, d_fake = 1 - 0.45 * fade - 0.01, 0.45 * fade + 0.01
    grad_g = 2.0 * fade + 1e-4
    columns = COLUMNS + ["grad_norm_g"]
    folder = write_run(tmp_path / "wins", csv_text(columns, steps, loss_d, numpy.full(n, 0.7),
                                                   d_real, d_fake, grad_g))
    (finding,) = diagnose(folder)
    assert finding.problem == "discriminator wins"
    for words in ("loss_d", "d_real", "d_fake", "gradient norm"):
        assert words in finding.evidence, finding.evidence
    # D's loss at 0, but G still has its gradient: G is learning, D is not winning outright.
    folder = write_run(tmp_path / "still", csv_text(columns, steps, loss_d, numpy.full(n, 0.7),
                                                    d_real, d_fake, numpy.full(n, 2.0)))
    assert diagnose(folder) == []


def test_growing_generator_loss_alone_names_the_winner(tmp_path):
    steps = numpy.arange(1, 41) * 10
    folder = write_run(tmp_path / "run", csv_text(["step", "loss_g"], steps,
                                                  numpy.linspace(1, 40, 40)))
    (finding,) = diagnose(folder)
    assert finding.problem == "discriminator wins" and "G's loss rose" in finding.evidence


def test_a_critic_loss_that_goes_negative_is_not_read_as_a_winning_d(tmp_path):
    """A Wasserstein critic's loss near 0 means it cannot tell: never 'D wins'."""
    steps = numpy.arange(1, 41) * 10
    critic = -numpy.linspace(0.5, 0.01, 40)
    folder = write_run(tmp_path / "run", csv_text(["step", "loss_d"], steps, critic))
    assert diagnose(folder) == []
    assert "Wasserstein" in format_report(folder, [])


def test_oscillation_is_told_from_noise(tmp_path):
    n = 80
    steps = numpy.arange(1, n + 1) * 10
    swing = 0.35 * numpy.sin(2 * numpy.pi * steps / 120)       # a period of 12 rows
    _, loss_d, loss_g, d_real, d_fake = steady_losses(n)
    folder = write_run(tmp_path / "swings", csv_text(COLUMNS, steps, loss_d, loss_g,
                                                     0.5 + swing, 0.5 - swing))
    (finding,) = diagnose(folder)
    assert finding.problem == "oscillation" and "d_fake" in finding.evidence
    # The same swings dying out halfway: the run settled.
    settled = swing * (steps < 400)
    folder = write_run(tmp_path / "settled", csv_text(COLUMNS, steps, loss_d, loss_g,
                                                      0.5 + settled, 0.5 - settled))
    assert diagnose(folder) == []
    # Noise of the size a batch of 64 gives D's mean output, row to row: no swings.
    rng = numpy.random.default_rng(3)
    folder = write_run(tmp_path / "noise", csv_text(COLUMNS, steps, loss_d, loss_g,
                                                    0.6 + 0.06 * rng.standard_normal(n),
                                                    0.4 + 0.06 * rng.standard_normal(n)))
    assert diagnose(folder) == []


def test_recall_falling_while_precision_holds_is_mode_collapse(tmp_path):
    evaluations = "step,FID,precision,recall\n0,900,0.1,0.0\n100,200,0.6,0.55\n" \
                  "200,150,0.7,0.6\n300,160,0.75,0.25\n"
    folder = write_run(tmp_path / "collapse", evaluations=evaluations)
    (finding,) = diagnose(folder)
    assert finding.problem == "mode collapse"
    assert "0.6 (step 200) to 0.25 (step 300)" in finding.evidence, finding.evidence
    # Both falling: G got worse, not narrower.
    evaluations = evaluations.replace("300,160,0.75,0.25", "300,400,0.2,0.25")
    folder = write_run(tmp_path / "worse", evaluations=evaluations)
    assert "mode collapse" not in problems(diagnose(folder))


@pytest.mark.parametrize("column", ["fid", "FID", "pix2pix fid"])
def test_no_progress_from_fid_under_any_of_the_chapters_names(tmp_path, column):
    folder = write_run(tmp_path / "flat", evaluations=f"step,{column}\n0,500\n100,480\n"
                                                      f"200,470\n")
    (finding,) = diagnose(folder)
    assert finding.problem == "no progress" and "500" in finding.evidence
    folder = write_run(tmp_path / "learns", evaluations=f"step,{column}\n0,500\n100,400\n")
    assert diagnose(folder) == []


def test_a_checkpoint_alone_gives_its_evaluations_and_weights(tmp_path):
    """No CSV files: the evaluations the Trainer keeps in latest.ckpt are read, and a weight
    that is NaN is named."""
    from minigan.checkpoint import save_checkpoint
    folder = tmp_path / "run"
    folder.mkdir()
    weight = numpy.ones((2, 2), dtype=numpy.float32)
    weight[1, 0] = numpy.nan
    save_checkpoint(folder / "latest.ckpt", step=200, G={"0.weight": weight},
                    D={"0.weight": numpy.ones(3, dtype=numpy.float32)},
                    evaluations=[{"step": 0, "fid": 900.0, "by_class": [0.1, 0.2]},
                                 {"step": 100, "fid": 880.0}, {"step": 200, "fid": 870.0}])
    findings = diagnose(folder)
    assert problems(findings) == ["nan", "no progress"]
    assert "G's 0.weight" in findings[0].evidence
    assert "its 3 evaluations (no evaluations.csv)" in format_report(folder, findings)


def test_learning_rate_and_batch_outside_the_chapters_ranges(tmp_path):
    folder = write_run(tmp_path / "run", config={"lr_g": 2e-4, "lr_d": 0.05, "batch": 2})
    findings = diagnose(folder)
    assert problems(findings) == ["batch size", "learning rate"]
    lr = next(f for f in findings if f.problem == "learning rate")
    assert "lr_d = 0.05" in lr.evidence and "lr_g" not in lr.evidence
    for config in ({"lr": 1e-3, "batch_size": 16}, {"gp_lr": 1e-4, "clip_lr": 5e-5, "batch": 256},
                   {"lr": 1e-5, "batch": 512}):
        assert diagnose(write_run(tmp_path / "ok", config=config)) == [], config


@pytest.mark.parametrize("metrics", ["", "step,loss_d,loss_g\n", "step,loss_d\n10,0.001\n"])
def test_an_empty_or_one_row_metrics_file_says_what_it_could_not_check(tmp_path, metrics):
    folder = write_run(tmp_path / "run", metrics, config={"lr": 2e-4})
    assert diagnose(folder) == []
    report = format_report(folder, [])
    assert "not checked" in report and "batch size" in report and "progress" in report


def test_missing_columns_check_what_they_can(tmp_path):
    """Only D's loss, at 0: named, and the report says G's side was not logged."""
    folder = write_run(tmp_path / "run", csv_text(["step", "loss_d"], numpy.arange(1, 21),
                                                  numpy.full(20, 0.004)))
    (finding,) = diagnose(folder)
    assert finding.problem == "discriminator wins"
    assert "G's side" in format_report(folder, [finding])
    # D's loss at 0.5, a D ahead but far from certain (chapter 06 runs at 0.3-1.0): nothing.
    folder = write_run(tmp_path / "ahead", csv_text(["step", "loss_d"], numpy.arange(1, 21),
                                                    numpy.full(20, 0.5)))
    assert diagnose(folder) == []


def test_a_finding_names_a_known_problem():
    with pytest.raises(ValueError, match="problem must be one of"):
        Finding("D too strong", "loss_d 0", "weaken D")


def test_gradient_norm_is_the_l2_norm_over_all_parameters():
    layer = nn.Linear(3, 2)
    assert diagnosis.gradient_norm(layer) == 0.0          # no gradient yet
    layer(minigan.ones(4, 3)).sum().backward()
    expected = math.sqrt(sum(float((p.grad.numpy().astype(numpy.float64) ** 2).sum())
                             for p in layer.parameters()))
    assert diagnosis.gradient_norm(layer) == pytest.approx(expected, rel=1e-12)
    assert isinstance(diagnosis.gradient_norm(layer), float)


def test_sample_diversity_of_identical_samples_is_zero():
    assert diagnosis.sample_diversity(numpy.ones((50, 2))) == 0.0
    points = numpy.array([[0.0, 0.0], [3.0, 4.0]])
    assert diagnosis.sample_diversity(points) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        diagnosis.sample_diversity(numpy.ones((1, 2)))


# --- the command line ------------------------------------------------------------------------
def test_command_exit_status_and_report(tmp_path, capsys):
    healthy = write_run(tmp_path / "healthy", csv_text(COLUMNS, *steady_losses()),
                        config={"lr": 2e-4, "batch": 64})
    assert command(["diagnose", str(healthy)]) == 0
    out, err = capsys.readouterr()
    assert "no problem found" in out and err == ""
    sick = write_run(tmp_path / "sick", config={"lr": 0.5, "batch": 64})
    assert command(["diagnose", str(sick)]) == PROBLEMS_FOUND
    out, err = capsys.readouterr()
    assert "1. learning rate: config.json: lr = 0.5" in out and "advice:" in out


@pytest.mark.parametrize("make, words", [
    (lambda root: root / "absent", ["absent", "no such run folder"]),
    (lambda root: (root / "file.txt").write_text("x") and root / "file.txt", ["is a file"]),
    (lambda root: write_run(root / "bad", config=None, metrics=None) and
     (root / "bad" / "config.json").write_text("{not json") and root / "bad",
     ["config.json"]),
    (lambda root: (root / "empty").mkdir() or root / "empty", ["holds no run"]),
])
def test_command_refuses_an_unreadable_folder_in_one_line(tmp_path, capsys, make, words):
    folder = make(tmp_path)
    assert command(["diagnose", str(folder)]) == 1
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err and out == ""
    assert lines[0].startswith("python -m minigan diagnose: ")
    for word in words:
        assert word in lines[0], lines[0]


def test_command_without_a_folder_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        command(["diagnose"])
    assert stop.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "RUN_FOLDER" in lines[0]


@pytest.mark.slow
def test_the_real_command_from_the_shell(tmp_path):
    """The whole path: a process of its own, its exit status, its one line."""
    folder = write_run(tmp_path / "sick", config={"lr": 0.5})
    done = subprocess.run([sys.executable, "-m", "minigan", "diagnose", str(folder)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == PROBLEMS_FOUND and "learning rate" in done.stdout
    done = subprocess.run([sys.executable, "-m", "minigan", "diagnose", str(tmp_path / "no")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr
