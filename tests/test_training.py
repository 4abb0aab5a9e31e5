"""The training loop and its checkpoints: resuming is exact, crashes and NaNs lose nothing.

The model is a tiny GAN on the ring of 8 Gaussians, small enough that a run takes a
fraction of a second, but with every kind of state a real one has: Adam moments,
batch norm's running statistics (buffers), dropout and z drawn from minigan's
generator, and a data order that reshuffles each epoch (64 points, 4 batches a pass).
"""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import types
import zipfile

import numpy
import pytest

import minigan
from minigan import backend, experiment, models, nn
from minigan.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minigan.data import Batches, toy
from minigan.gan import losses
from minigan.training import Trainer, TrainingDiverged

ROOT = pathlib.Path(__file__).resolve().parents[1]


def gan_step(G, D, opt_g, opt_d, real, z):
    """One D update and one G update (non-saturating loss); returns the two losses."""
    fake = G(z)
    loss_d = losses.discriminator_loss(D(real), D(fake.detach()))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = losses.generator_loss_nonsaturating(D(fake))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}


def tiny_trainer(folder, total_steps, resume=False, checkpoint_every=3, slow=0.0, poison=None,
                 evaluate_every=5):
    """A Trainer for the tiny ring GAN writing to ``folder``; built the same way every time.

    ``slow`` sleeps after each step (so a test can kill the process mid-run);
    ``poison(trainer)`` runs before each step (so a test can break the weights).
    """
    minigan.manual_seed(0)
    G = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    D = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.LeakyReLU(0.2), nn.Dropout(0.2),
                      nn.Linear(16, 1))
    opt_g = minigan.optim.Adam(G.parameters(), lr=1e-2, betas=(0.5, 0.999))
    opt_d = minigan.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))
    points, _ = toy.ring(64, rng=1)   # (points, which mode each came from)
    points = points.astype(numpy.float32)

    def step(real):
        if poison is not None:
            poison(trainer)
        values = gan_step(G, D, opt_g, opt_d, real, minigan.randn(16, 2))
        time.sleep(slow)
        return values

    def evaluate(step):   # fresh z on purpose: evaluation draws from a stream of its own
        with minigan.no_grad():
            samples = G(minigan.randn(8, 2)).numpy()
        return {"mean": float(samples.mean()), "samples": samples.reshape(4, 1, 2, 2)}

    run = experiment.Run("test_training", types.SimpleNamespace(out=folder, resume=resume,
                                                                seed=0))
    trainer = Trainer(step, Batches(points, batch_size=16, seed=2), total_steps, run, G=G, D=D,
                      opt_g=opt_g, opt_d=opt_d, log_every=1, checkpoint_every=checkpoint_every,
                      evaluate_fn=evaluate, evaluate_every=evaluate_every, resume=resume)
    return trainer


def assert_same_training_state(a, b):
    """Every weight, buffer and optimizer moment equal, bit for bit, and the same RNG and data."""
    for name in ("G", "D"):
        sa, sb = getattr(a, name).state_dict(), getattr(b, name).state_dict()
        assert list(sa) == list(sb)
        for key in sa:
            assert numpy.array_equal(sa[key], sb[key]), f"{name}.{key} differs"
    for name in ("opt_g", "opt_d"):
        sa, sb = getattr(a, name).state_dict()["state"], getattr(b, name).state_dict()["state"]
        assert sorted(sa) == sorted(sb)
        for index in sa:
            assert sa[index]["step"] == sb[index]["step"]
            for key in ("exp_avg", "exp_avg_sq"):
                assert numpy.array_equal(sa[index][key], sb[index][key]), f"{name} {index} {key}"
    assert (a.step, a.epoch, a.position) == (b.step, b.epoch, b.position)


class Interrupted(Exception):
    """Stands for a kill in the middle of a run."""


def interrupt_at(step):
    def poison(trainer):
        if trainer.step == step:
            raise Interrupted
    return poison


def test_resume_continues_bit_for_bit(tmp_path):
    """12 steps straight equal a run stopped during step 8 and resumed from its checkpoint of
    step 6: every weight, buffer, optimizer moment, metrics row, evaluation and sample grid,
    and the final checkpoint byte for byte. This is what makes a checkpoint trustworthy: a run
    that stopped is indistinguishable from one that did not (step 6 is in the middle of the
    second pass over the data, so the data position matters too)."""
    straight = tiny_trainer(tmp_path / "straight", 12)
    straight.fit()
    with pytest.raises(Interrupted):
        tiny_trainer(tmp_path / "resumed", 12, poison=interrupt_at(7)).fit()
    minigan.manual_seed(123)   # whatever happened in between must not matter
    minigan.randn(5)
    resumed = tiny_trainer(tmp_path / "resumed", 12, resume=True)
    assert (resumed.step, resumed.epoch, resumed.position) == (6, 1, 2)
    resumed.fit()
    assert_same_training_state(straight, resumed)
    for name in ("metrics.csv", "evaluations.csv", "latest.ckpt", "samples_000005.png",
                 "samples_000012.png"):
        assert ((tmp_path / "straight" / name).read_bytes()
                == (tmp_path / "resumed" / name).read_bytes()), name
    assert [e["step"] for e in resumed.evaluations] == [0, 5, 10, 12]
    config = json.loads((tmp_path / "resumed" / "config.json").read_text())
    assert config["resumes"] == [{"changed": {}, "at_step": 6}]


CHILD = """
import sys
sys.path.insert(0, {root!r})
import minigan
if {device!r} == "strict":   # the test session's own device, which only the tests know
    from tests import strict_array
    minigan.backend.register_device("strict", strict_array)
    minigan.backend.set_device("strict")
from tests.test_training import tiny_trainer
tiny_trainer({folder!r}, 40, checkpoint_every=3, slow=0.05).fit()
"""


def test_resume_after_sigkill_matches_the_straight_run(tmp_path):
    """A training process killed with SIGKILL (no cleanup, possibly mid-write) after its
    first checkpoint resumes to the same final state and metrics.csv as a run that never
    stopped: the atomic write leaves a whole checkpoint whatever moment the kill hits, and
    the steps done after that checkpoint are redone exactly."""
    folder = tmp_path / "killed"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    code = CHILD.format(root=str(ROOT), folder=str(folder), device=backend.get_device())
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (folder / "latest.ckpt").exists():
            assert child.poll() is None, "the training process ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint appeared within 60 s"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    saved = load_checkpoint(folder / "latest.ckpt")["step"]
    assert 3 <= saved < 40, "the kill must land mid-run for this test to mean anything"

    resumed = tiny_trainer(folder, 40, checkpoint_every=3, resume=True)
    resumed.fit()
    straight = tiny_trainer(tmp_path / "straight", 40, checkpoint_every=3)
    straight.fit()
    assert_same_training_state(straight, resumed)
    metrics = [(f / "metrics.csv").read_text() for f in (folder, tmp_path / "straight")]
    assert metrics[0] == metrics[1]


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    """A NaN loss at step 8 raises TrainingDiverged naming step 8 and the loss, and
    latest.ckpt still holds step 6, equal to a clean 6-step run: a diverged run must
    not go on silently, nor overwrite the state one would restart from."""
    def poison(trainer):
        if trainer.step == 7:   # the 8th step
            trainer.G[2].weight.data[0, 0] = numpy.nan
    with pytest.raises(TrainingDiverged, match=r"at step 8: loss_d = nan.*\(step 6\)"):
        tiny_trainer(tmp_path / "nan", 12, poison=poison).fit()
    saved = load_checkpoint(tmp_path / "nan" / "latest.ckpt")
    last = (tmp_path / "nan" / "metrics.csv").read_text().splitlines()[-1].split(",")
    assert last[0] == "8" and "nan" in last, last   # the bad row is logged, for diagnose
    clean = tiny_trainer(tmp_path / "clean", 6)
    clean.fit()
    assert saved["step"] == 6
    for key, array in clean.G.state_dict().items():
        assert numpy.array_equal(saved["G"][key], array)


def test_non_finite_weights_are_never_checkpointed(tmp_path):
    """State that went bad while the losses still look fine (here batch norm's running
    variance, which a training-mode forward does not use) stops the run at the next
    checkpoint, naming the array, and the old checkpoint stays: latest.ckpt is never bad."""
    def poison(trainer):
        if trainer.step == 4:   # the 5th step; the next checkpoint is at step 6
            trainer.D[1].running_var.data[3] = numpy.inf
    with pytest.raises(TrainingDiverged,
                       match=r"step 6: D's '1.running_var' holds NaN or inf.*\(step 3\)"):
        tiny_trainer(tmp_path / "inf", 12, poison=poison).fit()
    assert load_checkpoint(tmp_path / "inf" / "latest.ckpt")["step"] == 3


def test_a_crash_during_save_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    """An exception in the middle of writing (here: after some bytes of an array) leaves
    the previous checkpoint loadable and no temporary file behind; this is why the file
    is written beside the old one and renamed over it only when complete."""
    path = tmp_path / "latest.ckpt"
    save_checkpoint(path, step=1, weights={"w": numpy.arange(1000.0)})

    def write_half_then_fail(file, array, **kwargs):
        file.write(array.tobytes()[:100])
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(numpy.lib.format, "write_array", write_half_then_fail)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, step=2, weights={"w": numpy.zeros(1000)})
    monkeypatch.undo()
    parts = load_checkpoint(path)
    assert parts["step"] == 1 and numpy.array_equal(parts["weights"]["w"], numpy.arange(1000.0))
    assert [p.name for p in tmp_path.iterdir()] == ["latest.ckpt"]


def test_damaged_files_give_a_clear_error_naming_the_file(tmp_path):
    """Truncated, bit-flipped, foreign and missing files each raise an error that names the
    file (CheckpointError, or FileNotFoundError), never a bare zipfile or numpy traceback."""
    good = tmp_path / "good.ckpt"
    save_checkpoint(good, step=3, weights={"w": numpy.arange(20000, dtype=numpy.float32)})
    data = good.read_bytes()
    truncated, flipped = tmp_path / "truncated.ckpt", tmp_path / "flipped.ckpt"
    foreign = tmp_path / "notes.ckpt"
    truncated.write_bytes(data[:len(data) // 2])
    middle = len(data) // 2
    flipped.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
    foreign.write_text("not a checkpoint\n")
    for path in (truncated, flipped, foreign):
        with pytest.raises(CheckpointError, match=str(path.name)):
            load_checkpoint(path)
    other_zip = tmp_path / "other.ckpt"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("checkpoint.json", json.dumps({"hello": 1}))
    with pytest.raises(CheckpointError, match="other.ckpt.*not a minigan checkpoint"):
        load_checkpoint(other_zip)
    with pytest.raises(FileNotFoundError, match="missing.ckpt"):
        load_checkpoint(tmp_path / "missing.ckpt")


def test_checkpoint_format_is_json_plus_npy(tmp_path):
    """The file is a zip of checkpoint.json and one .npy per array, and parts come back as
    saved: a learner can open it with unzip and numpy.load, and no pickle is involved."""
    path = save_checkpoint(tmp_path / "c.ckpt", step=4, spec={"z_dim": 2},
                           G={"0.weight": numpy.ones((2, 3))},
                           groups=[{"lr": 0.1, "params": [0, 1]}])
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["G/0.weight.npy", "checkpoint.json"]
        document = json.loads(archive.read("checkpoint.json"))
    assert document["parts"]["G"]["0.weight"] == {"__array__": "G/0.weight.npy"}
    assert numpy.load(path, allow_pickle=False)["G/0.weight"].shape == (2, 3)
    parts = load_checkpoint(path)
    assert parts["step"] == 4 and parts["spec"] == {"z_dim": 2}
    assert parts["groups"] == [{"lr": 0.1, "params": [0, 1]}]


def test_sample_command_writes_a_grid_from_a_dcgan_checkpoint(tmp_path):
    """A (narrow) DCGAN trained two steps by the Trainer: ``python -m minigan sample``
    rebuilds its generator from the checkpoint's spec and writes a PNG whose size is the
    grid of n 28x28 samples; a non-checkpoint fails with a message, not a traceback.
    This is how a reader looks at a finished run."""
    spec = models.generator_spec(models.dcgan28_generator, z_dim=8, width=4)
    G, D = models.build(spec), models.dcgan28_discriminator(width=4)
    opt_g, opt_d = minigan.optim.Adam(G.parameters()), minigan.optim.Adam(D.parameters())
    images = numpy.random.default_rng(0).uniform(-1, 1, (8, 1, 28, 28)).astype(numpy.float32)

    def step(real):
        return gan_step(G, D, opt_g, opt_d, real, minigan.randn(4, 8))
    run = experiment.Run("test_training", types.SimpleNamespace(out=tmp_path))
    Trainer(step, Batches(images, batch_size=4), 2, run, G=G, D=D, opt_g=opt_g, opt_d=opt_d,
            spec=spec).fit()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    command = [sys.executable, "-m", "minigan", "sample", str(tmp_path / "latest.ckpt"),
               "--n", "10", "--columns", "5", "--out", str(tmp_path / "grid.png"), "--seed", "3"]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    import matplotlib.pyplot as plt
    image = plt.imread(tmp_path / "grid.png")
    assert image.shape[:2] == (2 * 29 + 1, 5 * 29 + 1)   # 2 rows x 5 columns, 1-pixel gaps
    assert image[1:29, 1:29, 0].std() > 0                 # a sample, not a blank tile

    (tmp_path / "notes.txt").write_text("hello")
    command[4] = str(tmp_path / "notes.txt")
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1 and "notes.txt" in done.stderr and "Traceback" not in done.stderr


def test_dcgan28_models_have_the_benchmark_shapes_and_dcgan_init():
    """The default DCGAN has the benchmark's layers (G: 100 -> 256x7x7 -> 128x14x14 -> 1x28x28,
    D: 28x28 -> logits) and starts from N(0, 0.02) weights and N(1, 0.02) batch norm scales."""
    G, D = models.dcgan28_generator(), models.dcgan28_discriminator()
    assert G[1].weight.shape == (100, 256, 7, 7) and D[6].weight.shape == (1, 128 * 7 * 7)
    images = G(minigan.randn(3, 100))
    assert images.shape == (3, 1, 28, 28) and D(images).shape == (3, 1)
    weight, scale = backend.to_numpy(G[1].weight.data), backend.to_numpy(G[2].weight.data)
    assert abs(weight.std() - 0.02) < 0.001 and abs(weight.mean()) < 0.001
    assert abs(scale.mean() - 1) < 0.01 and 0.01 < scale.std() < 0.03
    assert not backend.to_numpy(G[1].bias.data).any()


def test_dcgan64_models_have_the_papers_shapes():
    """The 64x64 DCGAN: G's channels 512-256-128-64-3 on sides 4-8-16-32-64, D its mirror ending
    in one logit per image; built narrow here (width 8) so the test is quick."""
    G, D = models.dcgan64_generator(z_dim=10, width=8), models.dcgan64_discriminator(width=8)
    convs = [m for m in G if isinstance(m, nn.ConvTranspose2d)]
    assert [c.weight.shape[1] for c in convs] == [64, 32, 16, 8, 3]
    assert [m.weight.shape[0] for m in models.dcgan64_generator().modules()
            if isinstance(m, nn.ConvTranspose2d)] == [100, 512, 256, 128, 64]
    images = G(minigan.randn(2, 10))
    assert images.shape == (2, 3, 64, 64) and D(images).shape == (2, 1)


def test_rng_state_round_trip():
    """Restoring a state from get_rng_state (even through JSON, as a checkpoint stores it)
    repeats the same draws; a state taken before any draw restores the freshly seeded
    generator; a state from another device is refused. Resuming bit for bit rests on this."""
    minigan.manual_seed(5)
    minigan.randn(7)
    state = json.loads(json.dumps(backend.get_rng_state()))
    first = minigan.randn(4).numpy()
    minigan.randn(3)
    backend.set_rng_state(state)
    assert numpy.array_equal(minigan.randn(4).numpy(), first)

    minigan.manual_seed(6)
    fresh = backend.get_rng_state()
    assert fresh["generator"] is None
    expected = minigan.randn(4).numpy()
    backend.set_rng_state(fresh)
    assert numpy.array_equal(minigan.randn(4).numpy(), expected)
    with pytest.raises(ValueError, match="taken on 'cuda'"):
        backend.set_rng_state({**state, "device": "cuda"})


def test_batches_iterate_from_a_position_matches_skipping():
    """``Batches.iterate(start=k)`` at epoch e yields the batches k, k+1, ... of pass e: the
    same ones a run that never stopped sees, which is how a resumed run picks up mid-epoch."""
    values = numpy.arange(40.0)
    batches = Batches(values, batch_size=8, seed=3)
    batches.epoch = 2
    whole = [b.numpy() for b in batches]
    batches.epoch = 2
    rest = [b.numpy() for b in batches.iterate(start=3)]
    assert len(rest) == 2 and all(numpy.array_equal(a, b) for a, b in zip(whole[3:], rest))
    assert batches.epoch == 3


def test_generate_draws_n_images_in_evaluation_mode_and_leaves_training_mode():
    """generate gives n images in batches (the last one shorter), equal to G(z) in evaluation
    mode on the same z, and G is back in training mode afterwards."""
    from minigan.training import evaluating, generate
    G = models.dcgan28_generator(z_dim=8, width=4)
    minigan.manual_seed(3)
    images = generate(G, 7, 8, batch=3)
    assert images.shape == (7, 1, 28, 28) and G.training
    minigan.manual_seed(3)
    with evaluating(G):
        expected = numpy.concatenate([G(minigan.randn(n, 8)).numpy() for n in (3, 3, 1)])
    numpy.testing.assert_array_equal(images, expected)


def test_image_scores_of_the_reference_images_themselves():
    """Images scored against their own features: FID 0 (to round-off), precision and recall
    1. A second draw of the same noise scores a small FID; a constant image, ten times as
    large, and recall 0 (one point covers none of the reference)."""
    from minigan.metrics import features
    minigan.manual_seed(0)
    network = features.FeatureClassifier()
    images = numpy.random.default_rng(0).uniform(-1, 1, (300, 1, 28, 28)).astype(numpy.float32)
    reference = features.predict(network, images)[0]
    same = features.image_scores(network, images, reference)
    assert abs(same["fid"]) < 1e-6 and same["precision"] == same["recall"] == 1.0
    other = features.image_scores(network, numpy.random.default_rng(1).uniform(
        -1, 1, images.shape).astype(numpy.float32), reference)
    constant = features.image_scores(network, numpy.zeros_like(images), reference)
    assert constant["fid"] > 10 * other["fid"] > 0 and constant["recall"] == 0.0
