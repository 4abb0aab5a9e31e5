"""The training loop the image chapters share: progress, metrics, evaluation, checkpoints, resume.

A chapter writes what one step does and what an evaluation measures; the Trainer does the
rest::

    def step(real):                        # one D update and one G update
        ...
        return {"loss_d": loss_d, "loss_g": loss_g}    # one-element tensors (or floats)

    def evaluate(step):                    # FID and the chapter's own measures
        return {"fid": ..., "samples": G(fixed_z) as an array}

    trainer = Trainer(step, Batches(images, batch_size=64, seed=args.seed), args.steps, run,
                      G=G, D=D, opt_g=opt_g, opt_d=opt_d, spec=spec, log_every=10,
                      evaluate_fn=evaluate, evaluate_every=300, checkpoint_every=250,
                      resume=args.resume)
    evaluations = trainer.fit()            # [{"step": 0, "fid": ...}, {"step": 300, ...}, ...]

**Evaluation** runs at step 0, every ``evaluate_every`` steps and at the last step. It draws
its random numbers from a stream of its own, seeded by the run's seed and the step, and
puts the training stream back afterwards: measuring a run never changes it, and a run
resumed at an evaluation step trains exactly as one that never stopped. Each evaluation is
printed, kept in ``trainer.evaluations``, its numbers written to ``evaluations.csv``, and an
entry ``"samples"`` (images N, C, H, W in [-1, 1]) saved as ``samples_<step>.png``.

**Checkpoints.** Every ``checkpoint_every`` steps, and at the end, the whole state goes to
``<run folder>/latest.ckpt`` (see ``minigan.checkpoint``): both networks, both optimizers,
the ``extra_state`` a step also depends on (an image pool, an EMA of the weights: anything
with ``state_dict()`` and ``load_state_dict()``), minigan's random generator, the step,
where the data stood (the epoch and the batch within it), the evaluations so far, and the
chapter the run belongs to. At a step that is both, the evaluation comes first, so the
checkpoint holds it. ``resume=True`` loads it all back, so a run killed at any moment
continues from its last checkpoint exactly as if it had never stopped: the same batches,
the same random draws, the same weights and the same history, bit for bit. A checkpoint
of another chapter is refused, naming whose it is; a run resumed at its last step has
nothing left to do (``trainer.finished``).

**Copies to the host.** A step returns its losses as one-element tensors, and the Trainer
copies them to the host (``.item()``) only at the steps it logs: on a GPU each copy waits
for the device to finish, so a step that copied its losses every time would wait every
time. A step may return plain floats too (it has then copied them itself).

A loss that turns NaN or infinite stops the run with :class:`TrainingDiverged` at the
next logged step (a NaN loss makes NaN weights, which the checkpoint refuses too), before
anything is saved, so ``latest.ckpt`` stays the last good state.

Two helpers for measuring a generator: ``evaluating(G)`` (evaluation mode and no graph
inside a ``with``) and ``generate(G, n, z_dim)`` (n samples as one array).
"""
import contextlib
import csv
import math
import time

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


@contextlib.contextmanager
def own_random_stream(seed):
    """Inside the ``with``, minigan draws from a generator seeded by ``seed``; afterwards the
    stream that was running before goes on exactly where it stood::

        with own_random_stream(1234):
            noise = minigan.randn(500, 100)    # not taken from the training stream
    """
    saved = backend.get_rng_state()
    backend.manual_seed(seed)
    try:
        yield
    finally:
        backend.set_rng_state(saved)


def evaluation_seed(seed, step):
    """The seed of the evaluation at ``step`` of a run seeded ``seed``: its own, fixed number."""
    return int(numpy.random.SeedSequence([int(seed), int(step), 0x6576616C]).generate_state(1)[0])


class TrainingDiverged(RuntimeError):
    """A loss or a weight became NaN or infinite; the message names the step and the value."""


class Trainer:
    """Run ``step_fn(batch) -> {name: value}`` for ``total_steps`` steps over ``batches``.

    Args:
        step_fn: one training step on one batch; returns its losses and metrics as
            one-element tensors (copied to the host only when logged) or floats.
            It may read ``trainer.step``, the number of steps done before this one.
        batches: a ``minigan.data.Batches``; passes follow one another without end.
        total_steps: the step count to reach (a resumed run does only the rest).
        run: an ``experiment.Run``; metrics.csv, evaluations.csv, the samples and
            latest.ckpt go in its folder.
        G, D, opt_g, opt_d: the networks and their optimizers, saved in every checkpoint.
        spec: the JSON recipe of G (``minigan.models.generator_spec``), for
            ``python -m minigan sample``.
        log_every, checkpoint_every: how often to write a metrics row and the checkpoint
            (None: never; the last step always writes both).
        evaluate_fn: ``evaluate_fn(step) -> {name: number or array}``, run at step 0, every
            ``evaluate_every`` steps and at the last step, on its own random stream.
        extra_state: ``{name: object}`` whose ``state_dict()`` a step also depends on.
        resume: continue from ``<run folder>/latest.ckpt``, which must exist.
    """

    def __init__(self, step_fn, batches, total_steps, run, *, G, D, opt_g, opt_d, spec=None,
                 log_every=100, checkpoint_every=None, evaluate_fn=None, evaluate_every=None,
                 extra_state=None, resume=False, desc="train"):
        if len(batches) == 0:
            raise ValueError("Trainer: the Batches hold no batch (fewer items than batch_size?)")
        for name, value in (("total_steps", total_steps), ("log_every", log_every),
                            ("checkpoint_every", checkpoint_every),
                            ("evaluate_every", evaluate_every)):
            if value is not None and (int(value) != value or value < (0 if name == "total_steps"
                                                                      else 1)):
                raise ValueError(f"Trainer: {name} must be a whole number of steps "
                                 f"({'>= 0' if name == 'total_steps' else '>= 1, or None'}), "
                                 f"got {value!r}")
        if evaluate_every and evaluate_fn is None:
            raise ValueError("Trainer: evaluate_every needs an evaluate_fn that measures G")
        self.step_fn, self.batches, self.total_steps, self.run = step_fn, batches, total_steps, run
        self.G, self.D, self.opt_g, self.opt_d, self.spec = G, D, opt_g, opt_d, spec
        self.log_every, self.checkpoint_every, self.desc = log_every, checkpoint_every, desc
        self.evaluate_fn, self.evaluate_every = evaluate_fn, evaluate_every
        self.extra_state = dict(extra_state or {})
        self.path = run.dir / "latest.ckpt"
        self.step = 0                                  # steps done
        self.epoch, self.position = batches.epoch, 0   # the pass, and the batch in it, to draw next
        self.evaluations = []                          # every evaluation so far, in step order
        self.seconds = 0.0                             # training time in this session
        self.saved_step = None                         # the step latest.ckpt holds
        self.resumed_at = None                         # the step a resume started from
        if resume:
            self.load(self.path)
            run.keep_metrics_up_to(self.step)
            run.note_resume(self.step)

    @property
    def finished(self):
        """Whether the run was resumed with no step left to do."""
        return self.resumed_at is not None and self.step >= self.total_steps

    def fit(self):
        """Train until ``total_steps``, evaluating on schedule; return the evaluations."""
        if self.finished:
            return self.evaluations
        self._evaluate_if_due()   # step 0; or a resumed step whose evaluation is missing
        resumed = self.resumed_at is not None and self.step == self.resumed_at
        bar = Progress(self.total_steps - self.step, desc=self.desc + (
            f" (resumed at step {self.step})" if resumed else ""))
        batches = self._endless_batches()
        try:
            while self.step < self.total_steps:
                started = time.perf_counter()
                values = self.step_fn(next(batches))
                self.step += 1
                self.seconds += time.perf_counter() - started
                last = self.step == self.total_steps
                if _every(self.step, self.log_every) or last:
                    values = {name: _plain(value) for name, value in values.items()}
                    # logged first, NaN or not: `python -m minigan diagnose` then finds the
                    # step and the value in metrics.csv, where a run that stops finds nothing
                    self.run.log(step=self.step, **values)
                    self._check_finite(values)
                    bar.update(**values)
                else:
                    bar.update()
                self._evaluate_if_due()
                if _every(self.step, self.checkpoint_every) or last:
                    self.save()
        finally:
            bar.close()
        return self.evaluations

    def _evaluate_if_due(self):
        due = self.step == 0 or _every(self.step, self.evaluate_every) or \
            self.step == self.total_steps
        done = self.evaluations and self.evaluations[-1]["step"] == self.step
        if self.evaluate_fn is None or not due or done:
            return
        with own_random_stream(evaluation_seed(self.run.config.get("seed", 0), self.step)):
            result = {"step": self.step, **self.evaluate_fn(self.step)}
        self.evaluations.append(result)
        numbers = {k: v for k, v in result.items() if _is_number(v)}
        print(f"step {self.step}: " + ", ".join(f"{k} {v:.4g}" for k, v in numbers.items()
                                                if k != "step"), flush=True)
        self._write_evaluations()
        if "samples" in result:
            save_image_grid(self.run.dir / f"samples_{self.step:06d}.png", result["samples"])

    def _write_evaluations(self):
        """evaluations.csv: one row per evaluation, its numbers (the history, written whole)."""
        columns = [k for k in self.evaluations[0] if _is_number(self.evaluations[0][k])]
        with open(self.run.dir / "evaluations.csv", "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for row in self.evaluations:
                writer.writerow({k: _plain(row[k]) for k in columns if k in row})

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
        save_checkpoint(self.path, chapter=self.run.chapter, step=self.step,
                        rng=backend.get_rng_state(), spec=self.spec,
                        data={"epoch": self.epoch, "position": self.position},
                        G=G, D=D, opt_g=self.opt_g.state_dict(), opt_d=self.opt_d.state_dict(),
                        extra={name: thing.state_dict()
                               for name, thing in self.extra_state.items()},
                        evaluations=self.evaluations)
        self.saved_step = self.step

    def load(self, path):
        """Restore everything :meth:`save` wrote from ``path``."""
        parts = load_checkpoint(path)
        missing = [k for k in ("step", "data", "rng", "G", "D", "opt_g", "opt_d") if k not in parts]
        if missing:
            raise CheckpointError(f"{path} is not a Trainer checkpoint: it has no {missing}")
        if parts.get("chapter", self.run.chapter) != self.run.chapter:
            raise CheckpointError(f"{path} is a checkpoint of {parts['chapter']}, not of "
                                  f"{self.run.chapter}: resume it with that chapter's script")
        missing = sorted(set(self.extra_state) - set(parts.get("extra", {})))
        if missing:
            raise CheckpointError(f"{path} holds no state for {missing}, which this run's "
                                  f"steps depend on")
        self.G.load_state_dict(parts["G"])
        self.D.load_state_dict(parts["D"])
        self.opt_g.load_state_dict(parts["opt_g"])
        self.opt_d.load_state_dict(parts["opt_d"])
        for name, thing in self.extra_state.items():
            thing.load_state_dict(parts["extra"][name])
        backend.set_rng_state(parts["rng"])
        self.step = self.saved_step = self.resumed_at = parts["step"]
        self.epoch, self.position = parts["data"]["epoch"], parts["data"]["position"]
        self.evaluations = list(parts.get("evaluations", []))

    def _check_finite(self, values):
        for name, value in values.items():
            if not math.isfinite(float(value)):
                self._diverged(f"{name} = {float(value)}")

    def _diverged(self, what):
        kept = (f"{self.path} holds the last good state (step {self.saved_step})"
                if self.saved_step is not None else "no checkpoint had been written yet")
        raise TrainingDiverged(f"training diverged at step {self.step}: {what}; {kept}")


def _is_number(value):
    return isinstance(_plain(value), (int, float)) and not isinstance(_plain(value), bool)


def _plain(value):
    """A one-element tensor or array as a Python number (a copy to the host); else as it is."""
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        return value.item()
    return value


def _every(step, period):
    return bool(period) and step % period == 0


def save_image_grid(path, images, columns=8, value_range=(-1.0, 1.0)):
    """Write images (N, C, H, W) as one PNG grid, one pixel per pixel (``plots.image_grid``)."""
    import matplotlib.pyplot as plt
    grid = plots.image_grid(images, columns=columns, value_range=value_range)
    plt.imsave(path, grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1)
    return path
