"""The training loop the image chapters share: progress, metrics, samples, checkpoints, resume.

A chapter writes what one step does, and the Trainer does the rest::

    def step(real):                        # one D update and one G update
        ...
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    trainer = Trainer(step, Batches(images, batch_size=64, seed=args.seed), args.steps, run,
                      G=G, D=D, opt_g=opt_g, opt_d=opt_d, spec=spec,
                      log_every=50, checkpoint_every=500, resume=args.resume)
    trainer.fit()

Every ``checkpoint_every`` steps, and at the end, the whole state goes to
``<run folder>/latest.ckpt`` (see ``minigan.checkpoint``): both networks, both
optimizers, minigan's random generator, the step, and where the data stood (the
epoch and the batch within it). ``resume=True`` loads it back, so a run killed at
any moment continues from its last checkpoint exactly as if it had never stopped:
the same batches, the same random draws, the same weights, bit for bit.

A loss that turns NaN or infinite stops the run with :class:`TrainingDiverged`
before anything is saved, so ``latest.ckpt`` stays the last good state.

Two helpers for measuring a generator: ``evaluating(G)`` (evaluation mode and no graph
inside a ``with``) and ``generate(G, n, z_dim)`` (n samples as one array).
"""
import contextlib
import csv
import math

import numpy

from minigan import backend, plots
from minigan.autograd import no_grad
from minigan.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minigan.creation import randn
from minigan.progress import Progress


@contextlib.contextmanager
def evaluating(*models):
    """``models`` in evaluation mode (batch norm on its running statistics) and no graph,
    for drawing samples or measuring; then back in training mode, even if the body fails::

        with evaluating(G):
            images = G(fixed_z)
    """
    for model in models:
        model.eval()
    try:
        with no_grad():
            yield models[0] if len(models) == 1 else models
    finally:
        for model in models:
            model.train()


def generate(G, n, z_dim, batch=500):
    """``n`` images from G on fresh z ~ N(0, I), in evaluation mode and without a graph, as one
    host array (n, ...); ``batch`` z at a time, to bound the memory."""
    with evaluating(G):
        return numpy.concatenate([G(randn(min(batch, n - i), z_dim)).numpy()
                                  for i in range(0, n, batch)])


class TrainingDiverged(RuntimeError):
    """A loss or a weight became NaN or infinite; the message names the step and the value."""


class Trainer:
    """Run ``step_fn(batch) -> {name: float}`` for ``total_steps`` steps over ``batches``.

    Args:
        step_fn: one training step on one batch; returns its losses and metrics as floats.
            It may read ``trainer.step``, the number of steps done before this one.
        batches: a ``minigan.data.Batches``; passes follow one another without end.
        total_steps: the step count to reach (a resumed run does only the rest).
        run: an ``experiment.Run``; metrics.csv, the samples and latest.ckpt go in its folder.
        G, D, opt_g, opt_d: the networks and their optimizers, saved in every checkpoint.
        spec: the JSON recipe of G (``minigan.models.generator_spec``), for
            ``python -m minigan sample``.
        log_every, sample_every, checkpoint_every: how often to write a metrics row, a
            sample grid ``samples_<step>.png`` and the checkpoint (None: never; the
            last step always writes a row and a checkpoint).
        sample_fn: ``sample_fn(step) -> images (N, C, H, W) in [-1, 1]``; use a fixed z
            so that the grids show one set of samples changing over training.
        resume: continue from ``<run folder>/latest.ckpt``, which must exist.
    """

    def __init__(self, step_fn, batches, total_steps, run, *, G, D, opt_g, opt_d, spec=None,
                 log_every=100, sample_every=None, sample_fn=None, checkpoint_every=None,
                 resume=False, desc="train"):
        if len(batches) == 0:
            raise ValueError("Trainer: the Batches hold no batch (fewer items than batch_size?)")
        if sample_every and sample_fn is None:
            raise ValueError("Trainer: sample_every needs a sample_fn that returns images")
        self.step_fn, self.batches, self.total_steps, self.run = step_fn, batches, total_steps, run
        self.G, self.D, self.opt_g, self.opt_d, self.spec = G, D, opt_g, opt_d, spec
        self.log_every, self.sample_every = log_every, sample_every
        self.sample_fn, self.checkpoint_every, self.desc = sample_fn, checkpoint_every, desc
        self.path = run.dir / "latest.ckpt"
        self.step = 0                                  # steps done
        self.epoch, self.position = batches.epoch, 0   # the pass, and the batch in it, to draw next
        self.saved_step = None                         # the step latest.ckpt holds
        self.resumed_at = None                         # the step a resume started from
        if resume:
            self.load(self.path)
            self._keep_metrics_up_to_step()

    def fit(self):
        """Train until ``total_steps``; return the last step's values."""
        resumed = self.resumed_at is not None and self.step == self.resumed_at
        bar = Progress(self.total_steps - self.step, desc=self.desc + (
            f" (resumed at step {self.step})" if resumed else ""))
        batches, values = self._endless_batches(), {}
        try:
            while self.step < self.total_steps:
                values = self.step_fn(next(batches))
                self.step += 1
                self._check_finite(values)
                bar.update(**values)
                last = self.step == self.total_steps
                if _every(self.step, self.log_every) or last:
                    self.run.log(step=self.step, **values)
                if _every(self.step, self.sample_every):
                    save_image_grid(self.run.dir / f"samples_{self.step:06d}.png",
                                    self.sample_fn(self.step))
                if _every(self.step, self.checkpoint_every) or last:
                    self.save()
        finally:
            bar.close()
        return values

    def _endless_batches(self):
        """Batches pass after pass, keeping ``(epoch, position)`` of the next batch up to date."""
        while True:
            self.batches.epoch = self.epoch   # the pass's order is drawn from (seed, epoch)
            for batch in self.batches.iterate(start=self.position):
                self.position += 1
                yield batch
            self.epoch, self.position = self.epoch + 1, 0

    # --- checkpoints ----------------------------------------------------------------------
    def save(self):
        """Write the whole training state to latest.ckpt (atomically; never a non-finite one)."""
        G, D = self.G.state_dict(), self.D.state_dict()
        for net, state in (("G", G), ("D", D)):
            for name, array in state.items():
                if not numpy.isfinite(array).all():
                    self._diverged(f"{net}'s {name!r} holds NaN or inf")
        save_checkpoint(self.path, step=self.step, rng=backend.get_rng_state(), spec=self.spec,
                        data={"epoch": self.epoch, "position": self.position},
                        G=G, D=D, opt_g=self.opt_g.state_dict(), opt_d=self.opt_d.state_dict())
        self.saved_step = self.step

    def load(self, path):
        """Restore networks, optimizers, random generator, step and data position from ``path``."""
        parts = load_checkpoint(path)
        missing = [k for k in ("step", "data", "rng", "G", "D", "opt_g", "opt_d") if k not in parts]
        if missing:
            raise CheckpointError(f"{path} is not a Trainer checkpoint: it has no {missing}")
        self.G.load_state_dict(parts["G"])
        self.D.load_state_dict(parts["D"])
        self.opt_g.load_state_dict(parts["opt_g"])
        self.opt_d.load_state_dict(parts["opt_d"])
        backend.set_rng_state(parts["rng"])
        self.step = self.saved_step = self.resumed_at = parts["step"]
        self.epoch, self.position = parts["data"]["epoch"], parts["data"]["position"]

    def _check_finite(self, values):
        for name, value in values.items():
            if not math.isfinite(float(value)):
                self._diverged(f"{name} = {float(value)}")

    def _diverged(self, what):
        kept = (f"{self.path} holds the last good state (step {self.saved_step})"
                if self.saved_step is not None else "no checkpoint had been written yet")
        raise TrainingDiverged(f"training diverged at step {self.step}: {what}; {kept}")

    def _keep_metrics_up_to_step(self):
        # Run.log starts metrics.csv afresh, so write back the rows up to the checkpoint;
        # the rows after it are written again, with the same values, as the run redoes them.
        path = self.run.dir / "metrics.csv"
        if path.exists():
            with open(path, newline="") as file:
                rows = [row for row in csv.DictReader(file) if int(row["step"]) <= self.step]
            for row in rows:
                self.run.log(**row)


def _every(step, period):
    return bool(period) and step % period == 0


def save_image_grid(path, images, columns=8, value_range=(-1.0, 1.0)):
    """Write images (N, C, H, W) as one PNG grid, one pixel per pixel (``plots.image_grid``)."""
    import matplotlib.pyplot as plt
    grid = plots.image_grid(images, columns=columns, value_range=value_range)
    plt.imsave(path, grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1)
    return path
