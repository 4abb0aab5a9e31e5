"""What went wrong in a training run: ``python -m minigan diagnose RUN_FOLDER``.

    from minigan.diagnose import diagnose, format_report, Finding
    findings = diagnose("runs/06_dcgan/20261203-101500")   # [] for a healthy run
    print(format_report("runs/06_dcgan/20261203-101500", findings))

``diagnose`` reads a run folder as ``minigan.experiment.Run`` and ``minigan.training.Trainer``
write it and returns a list of :class:`Finding` ``(problem, evidence, advice)``: the
problem's name, the numbers and steps that show it, and one line of what to try. Every
input is optional; what is absent cannot be checked, and ``format_report`` says so.

* ``config.json``: the learning rates (``lr``, ``lr_g``, ``lr_d``; chapter 09's ``gp_lr``
  and ``clip_lr``; chapter 04's ``unrolled_lr_d``) and the batch size (``batch_size``, or
  ``batch`` as the chapters call it); ``steps``, the length the run was asked to have.
* ``metrics.csv``: one row per logged step. Columns read (other spellings in brackets):
  ``step``; ``loss_d`` (``d_loss``); ``loss_g`` (``g_loss``; ``loss_gan``, G's adversarial
  part in chapters 11 and 12, is read first where both are logged); ``grad_norm_g`` and
  ``grad_norm_d``, the L2 norm of the gradient of all of G's (D's) parameters
  (:func:`gradient_norm` computes it); ``d_real`` and ``d_fake``, D's mean probability of
  "real" on real and on generated samples. Chapters 04, 09 and 10 also write their
  measurements here (``modes``, ``fid``, ``recall``...), one block of rows per (dataset,
  method, seed): each block is diagnosed as a run of its own, named in the evidence.
* ``evaluations.csv``: the Trainer's measurements of G, one row per evaluation: ``fid``
  (``FID``; chapter 11's ``pix2pix fid``: the first column whose name ends in "fid"),
  ``precision``, ``recall``, ``diversity`` (``pairwise distance``; see
  :func:`sample_diversity`) and ``real_diversity``, the same measure on real data.
  Without the file, the evaluations saved in ``latest.ckpt`` are read.
* ``latest.ckpt``: the step it holds, its evaluations, and whether its weights are finite.

The problems, each with its threshold and why (``tail`` is the last quarter of a run's
logged rows, ``head`` the first quarter; medians, so one odd batch does not decide):

``"nan"``
    A NaN or infinity in a loss (any column named "...loss..."), a gradient norm, d_real,
    d_fake or a measurement of G (FID, precision, recall, diversity), in a column that
    also holds finite values (one NaN in every row of a block is a measurement that block
    did not make: chapter 09 writes the swiss roll's distance as NaN on the ring); or in
    the checkpoint's weights. Named with the first step. Other columns are not read for
    it: a chapter's own measure may be undefined at some steps (chapter 04's reverse KL).
    The Trainer stops a run at its first non-finite loss before logging it, so a run can
    show its divergence only as an early stop: fewer steps logged than config.json's
    ``steps``, no results.json or summary.md, and the last logged loss above ``EXPLODED``
    (1e3: a cross-entropy of 1e3 is a probability of e^-1000, beyond float32) or
    ``EXPLODED_GROWTH`` (10) times its head. (A run stopped by hand also ends early, but
    rarely with its loss ten times what it started at.)
``"discriminator wins"``
    D's cross-entropy loss in the tail under ``D_LOSS_NEAR_ZERO`` (0.05; it is log 4 = 1.39
    when D cannot tell, and 0.05 leaves under 2.5% of D's probability on the wrong side)
    and, where logged, d_real above 0.95 and d_fake below 0.05; and G's side giving up:
    G's gradient norm in the tail under ``GRAD_VANISHED`` (1/100) of its peak; or G's
    non-saturating loss -log D(G(z)) above ``G_LOSS_GIVEN_UP`` (3: D(G(z)) < 0.05) in the
    tail; or G's saturating loss log(1 - D(G(z))) (never positive) within
    ``G_SATURATED`` (0.05) of 0, where its gradient, scaled by D(G(z)), vanishes (the
    saturation Goodfellow et al. 2014 warn of). Without G's columns, D's side alone names
    it; without D's, G's loss above ``G_LOSS_UNBOUNDED`` (10: D(G(z)) < 5e-5) and rising
    does. Skipped for a D loss that goes negative (a Wasserstein critic, whose loss near 0
    means the opposite: a critic that cannot tell).
``"mode collapse"``
    Recall at the last evaluation under ``RECALL_FALL`` (half) of its best, the best at
    least ``RECALL_MIN_BEST`` (0.1, so noise near 0 is no fall), while precision holds: at
    least ``PRECISION_HOLDS`` (0.8) of its value at recall's best, or ``PRECISION_GOOD``
    (0.5). G still makes realistic samples, of fewer kinds. Or sample diversity at the
    last evaluation under ``DIVERSITY_OF_REAL`` (a quarter) of the real data's
    (``real_diversity``), or under ``DIVERSITY_FALL`` (half) of its own best after the first
    evaluation (an untrained G's spread says nothing); or chapter 04 and 09's ``modes``
    under half their best. Needs two evaluations. Recall near 0 alone is not enough: an
    untrained DCGAN scores precision 1.0 and recall 0.0 at step 0 (chapter 06).
``"oscillation"``
    Over the last half of the rows, a series (d_real, d_fake, loss_d, loss_g) with its
    straight-line trend taken out swings from above +band to below -band, or back, at
    least ``OSCILLATION_SWINGS`` (4) times, ``OSCILLATION_LATE_SWINGS`` (2) of them in the
    last quarter: it is not settling. The band is ``PROBABILITY_BAND`` (0.25) for D's mean
    outputs, D's verdict going from under 0.25 to over 0.75 around its trend; for losses,
    ``LOSS_BAND`` (1) times the series' median size (at least 0.1): the loss doubling and
    dropping to nothing. FID, over the evaluations, the same with a band of ``FID_SWING``
    (a tenth) of its first value, the untrained G's, with ``FID_MIN_EVALUATIONS`` (6) or
    more evaluations in the last half; not a share of its current value, because near its
    floor FID from a few hundred samples halves and doubles by sampling alone (a healthy
    toy run: 0.0024, 0.021, 0.0096 after 0.90 at step 0). Rows are not smoothed (a game
    that flips every few steps would be smoothed away); the two-sided band is what keeps
    batch noise out: it must cross the whole band, not graze one side.
``"learning rate"``
    A learning rate outside ``LR_RANGE`` = (5e-6, 2e-3): the rates that worked in
    chapters 04-13 span 1e-5 (13's mapping network, lr / 100) and 5e-5 (09 and 10's
    RMSprop for the clipped critic) to 1e-3 (04's toy GANs, 08's G, 13), with 2e-4 for
    the DCGAN family (06, 07, 10, 11, 12); a factor 2 beyond either end is allowed
    before naming it.
``"batch size"``
    A batch outside ``BATCH_RANGE`` = (8, 512): the chapters used 16 (12) to 256 (09's
    toy data), 64 for most; again a factor 2 either side. Batch norm's statistics over
    fewer than 8 samples are too noisy to train on.
``"no progress"``
    FID at its best after the first evaluation lower than at the first by less than
    ``MIN_PROGRESS`` (10%). The image chapters' default runs cut FID from about 940 at
    step 0 by 46% (chapter 10's WGAN-GP, 508 on its 90-second budget) to 98% (chapter 07,
    15.5), so a run that cannot gain a tenth is not learning. Needs two evaluations.

Chapters log what these checks read with two functions, called only at logging steps
(each costs a copy to the host): :func:`gradient_norm` and :func:`sample_diversity`.
"""
import csv
import dataclasses
import json
import math
import pathlib

import numpy

PROBLEMS = ("nan", "discriminator wins", "mode collapse", "oscillation", "learning rate",
            "batch size", "no progress")

# The thresholds; the module's docstring says why each has its value.
EXPLODED, EXPLODED_GROWTH = 1e3, 10
D_LOSS_NEAR_ZERO = 0.05
D_REAL_SATURATED, D_FAKE_SATURATED = 0.95, 0.05
GRAD_VANISHED = 1e-2
G_LOSS_GIVEN_UP = 3.0
G_LOSS_UNBOUNDED = 10.0
G_SATURATED = 0.05
RECALL_FALL, RECALL_MIN_BEST, PRECISION_HOLDS, PRECISION_GOOD = 0.5, 0.1, 0.8, 0.5
DIVERSITY_OF_REAL, DIVERSITY_FALL = 0.25, 0.5
OSCILLATION_SWINGS, OSCILLATION_LATE_SWINGS = 4, 2
FID_MIN_EVALUATIONS, FID_SWING = 6, 0.1
PROBABILITY_BAND, LOSS_BAND, LOSS_BAND_FLOOR = 0.25, 1.0, 0.1
LR_RANGE = (5e-6, 2e-3)
BATCH_RANGE = (8, 512)
MIN_PROGRESS = 0.10

# config.json keys: the optimisers' learning rates and the batch size, as chapters name them.
LR_KEYS = ("lr", "lr_g", "lr_d", "learning_rate", "gp_lr", "clip_lr", "unrolled_lr_d")
BATCH_KEYS = ("batch_size", "batch")

# What each quantity may be called in a CSV (compared in lower case, "_" read as " ").
ALIASES = {
    "step": ("step", "generator steps", "iteration"),
    "loss_d": ("loss d", "d loss", "critic loss"),
    # G's adversarial loss first: chapter 12's loss_g adds the cycle and identity terms.
    "loss_g": ("loss gan", "loss g", "g loss"),
    "grad_norm_g": ("grad norm g", "g grad norm"),
    "grad_norm_d": ("grad norm d", "d grad norm"),
    "d_real": ("d real", "d x"),
    "d_fake": ("d fake", "d g z"),
    "fid": ("fid",),
    "precision": ("precision",),
    "recall": ("recall",),
    "diversity": ("diversity", "pairwise distance", "sample diversity"),
    "real_diversity": ("real diversity", "diversity real", "data diversity"),
    "modes": ("modes",),
}
# Measurements whose spelling may carry a prefix naming the generator ("pix2pix fid").
SUFFIXED = ("fid", "precision", "recall")
# Columns of metrics.csv that name a block of rows (one training run among several).
BLOCK_COLUMNS = ("dataset", "method", "seed", "set")

ADVICE = {
    "nan": "lower the learning rate (10x), and look at the first step named: a log of 0, "
           "a division by a tiny norm or float32 overflow in a loss is the usual cause",
    "discriminator wins": "weaken D or help G: fewer D steps per G step, a lower lr_d than "
                          "lr_g (TTUR), the non-saturating G loss, label smoothing, or a "
                          "gradient penalty (R1, chapter 13)",
    "mode collapse": "add what rewards variety: minibatch discrimination or PacGAN's packing "
                     "(chapter 04), or a lower lr_g; the samples_<step>.png grids show when "
                     "the variety went",
    "oscillation": "damp the game: alternating rather than simultaneous steps, lower "
                   "learning rates, Adam's beta1 0.5 or 0, a zero-centred gradient penalty "
                   "(R1), or averaged G weights (EMA)",
    "learning rate": "use Adam with lr between 1e-5 and 1e-3 (2e-4 and betas (0.5, 0.999) "
                     "for a DCGAN, chapter 06)",
    "batch size": "use a batch between 16 and 256 (64 for the image chapters)",
    "no progress": "check that G's optimiser holds G's parameters and steps, that the "
                   "learning rate is not tiny, and that D is learning (its loss should "
                   "fall from log 4 = 1.39)",
}


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing that went wrong: ``problem`` (one of ``PROBLEMS``), ``evidence`` (the numbers
    and steps that show it, in a sentence) and ``advice`` (one line of what to try)."""
    problem: str
    evidence: str
    advice: str

    def __post_init__(self):
        if self.problem not in PROBLEMS:
            raise ValueError(f"Finding: problem must be one of {PROBLEMS}, got {self.problem!r}")


class RunFolderError(Exception):
    """A run folder that cannot be read (missing, a file, unreadable): one sentence."""


# --- what chapters log ---------------------------------------------------------------------
def gradient_norm(module):
    """The L2 norm of the gradient of all of ``module``'s parameters, as a host float:

        ||grad|| = sqrt( sum over parameters p of sum(p.grad ** 2) )

    Parameters without a gradient (``p.grad is None``) count as 0. Call it after
    ``backward()`` and before ``zero_grad()``, and only at the steps you log: it copies one
    number to the host. ``diagnose`` reads it as ``grad_norm_g`` / ``grad_norm_d``. The
    Trainer refuses a NaN placeholder, so a step adds the key only when it logs::

        loss_g.backward()
        values = {"loss_d": loss_d.item(), "loss_g": loss_g.item()}
        if (trainer.step + 1) % log_every == 0 or trainer.step + 1 == total_steps:
            values["grad_norm_g"] = diagnose.gradient_norm(G)
        opt_g.step()
    """
    from minigan import backend
    from minigan.autograd import Tensor
    parameters = list(module.parameters())
    if not parameters:
        raise ValueError(f"gradient_norm: {type(module).__name__} has no parameters")
    total = None
    for parameter in parameters:
        if parameter.grad is None:
            continue
        grad = parameter.grad.data if isinstance(parameter.grad, Tensor) else parameter.grad
        square = (grad.astype("float64") ** 2).sum()   # float64: no overflow of a float32 sum
        total = square if total is None else total + square
    if total is None:
        return 0.0
    return float(math.sqrt(float(backend.to_numpy(total))))


def sample_diversity(samples, pairs=2000, seed=0):
    """The mean Euclidean distance between two samples drawn at random, over ``pairs`` pairs:

        diversity = mean_i || x_a(i) - x_b(i) ||,   a(i) != b(i)

    ``samples`` (N, ...) with N >= 2, flattened per sample; a Tensor, or a host or device
    array (one copy to the host). A G that ignores z scores 0; the same measure on real
    data, logged as ``real_diversity``, is the yardstick.
    The pairs come from a generator seeded by ``seed``, not from minigan's stream.
    """
    from minigan import backend
    from minigan.autograd import Tensor
    if isinstance(samples, Tensor):
        samples = samples.data
    x = numpy.asarray(backend.to_numpy(samples), dtype=numpy.float64)
    if x.ndim < 1 or len(x) < 2:
        raise ValueError(f"sample_diversity: needs at least 2 samples (N, ...), got shape "
                         f"{x.shape}")
    x = x.reshape(len(x), -1)
    rng = numpy.random.default_rng(seed)
    a = rng.integers(0, len(x), pairs)
    b = (a + rng.integers(1, len(x), pairs)) % len(x)   # never a sample with itself
    return float(numpy.linalg.norm(x[a] - x[b], axis=1).mean())


# --- reading a run folder ------------------------------------------------------------------
def _normal(name):
    return " ".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


def _read_csv(path):
    """(columns, rows as dicts) of a CSV, or (None, None) if the file is absent."""
    if not path.is_file():
        return None, None
    try:
        with open(path, newline="") as file:
            reader = csv.DictReader(file)
            rows = list(reader)
            return list(reader.fieldnames or []), rows
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RunFolderError(f"cannot read {path}: {error}") from error


def _number(text):
    """A CSV cell as a float: None for a blank cell or text, nan/inf as they are."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _find_column(columns, quantity):
    """The column of ``columns`` that holds ``quantity`` (a key of ALIASES), or None."""
    normal = {_normal(c): c for c in columns}
    for alias in ALIASES[quantity]:
        if alias in normal:
            return normal[alias]
    if quantity in SUFFIXED:
        for column in columns:
            if _normal(column).endswith(" " + quantity):
                return column
    return None


@dataclasses.dataclass
class _Series:
    """One run's columns: steps, and each quantity found as a float array (nan where blank)."""
    label: str
    steps: numpy.ndarray
    values: dict
    names: dict            # quantity -> the column's own name
    raw: dict              # every numeric column -> array (for the NaN check)
    blank: dict            # every numeric column -> mask of blank cells


def _series(columns, rows, label):
    step_column = _find_column(columns, "step")
    steps = numpy.array([_number(r.get(step_column)) if step_column else None for r in rows],
                        dtype=float) if rows else numpy.zeros(0)
    if step_column is None or numpy.isnan(steps).all():
        steps = numpy.arange(len(rows), dtype=float)
    raw, blank = {}, {}
    for column in columns:
        cells = [_number(r.get(column)) for r in rows]
        texts = [r.get(column) for r in rows]
        if any(c is None and t not in (None, "") for c, t in zip(cells, texts)):
            continue   # a column of text (a dataset's name)
        raw[column] = numpy.array([numpy.nan if c is None else c for c in cells], dtype=float)
        blank[column] = numpy.array([c is None for c in cells])
    values, names = {}, {}
    for quantity in ALIASES:
        if quantity == "step":
            continue
        column = _find_column([c for c in columns if c in raw], quantity)
        if column is not None:
            values[quantity], names[quantity] = raw[column], column
    return _Series(label, steps, values, names, raw, blank)


def _blocks(columns, rows):
    """metrics.csv split into the runs it holds: rows with equal dataset / method / seed."""
    keys = [c for c in columns if _normal(c) in BLOCK_COLUMNS]
    if not keys or not rows:
        return [("", rows)]
    order = {}
    for row in rows:
        order.setdefault(tuple(row.get(k, "") for k in keys), []).append(row)
    return [(", ".join(f"{k} {v}" for k, v in zip(keys, key)), block)
            for key, block in order.items()]


@dataclasses.dataclass
class _Folder:
    path: pathlib.Path
    config: dict
    metrics: list          # [_Series], one per block
    evaluations: object    # _Series or None
    checkpoint: dict       # {"step", "not_finite": [weights], "evaluations": [...]} or None
    finished: bool
    read: list             # what was read, for the report
    missing: list          # what was absent


def _count(n, thing):
    return f"{n} {thing}" + ("" if n == 1 else "s")


def _read_folder(run_dir):
    path = pathlib.Path(run_dir)
    if not path.exists():
        raise RunFolderError(f"{path}: no such run folder")
    if not path.is_dir():
        raise RunFolderError(f"{path} is a file, not a run folder")
    read, missing = [], []
    config = {}
    config_path = path / "config.json"
    if config_path.is_file():
        try:
            config = json.loads(config_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RunFolderError(f"cannot read {config_path}: {error}") from error
        if not isinstance(config, dict):
            raise RunFolderError(f"{config_path} holds no settings (a JSON object)")
        read.append("config.json")
    else:
        missing.append("config.json")

    columns, rows = _read_csv(path / "metrics.csv")
    metrics = []
    if columns is None:
        missing.append("metrics.csv")
    else:
        read.append(f"metrics.csv ({_count(len(rows), 'row')})")
        metrics = [_series(columns, block, label) for label, block in _blocks(columns, rows)]

    columns, rows = _read_csv(path / "evaluations.csv")
    evaluations = None
    if columns is not None:
        read.append(f"evaluations.csv ({_count(len(rows), 'row')})")
        evaluations = _series(columns, rows, "")

    checkpoint = None
    ckpt_path = path / "latest.ckpt"
    if ckpt_path.is_file():
        checkpoint = _read_checkpoint(ckpt_path)
        read.append(f"latest.ckpt (step {checkpoint['step']})")
        if evaluations is None and checkpoint["evaluations"]:
            evaluations = _evaluations_from(checkpoint["evaluations"])
            read.append(f"its {_count(len(evaluations.steps), 'evaluation')} (no "
                        f"evaluations.csv)")
    if evaluations is None:
        missing.append("evaluations.csv")
    if checkpoint is None:
        missing.append("latest.ckpt")
    if not read:
        raise RunFolderError(f"{path} holds no run: none of config.json, metrics.csv, "
                             f"evaluations.csv, latest.ckpt")
    finished = (path / "results.json").is_file() or (path / "summary.md").is_file()
    return _Folder(path, config, metrics, evaluations, checkpoint, finished, read, missing)


def _read_checkpoint(ckpt_path):
    from minigan.checkpoint import CheckpointError, load_checkpoint
    try:
        parts = load_checkpoint(ckpt_path)
    except (CheckpointError, OSError) as error:
        raise RunFolderError(f"cannot read {ckpt_path}: {error}") from error
    not_finite = []
    for net in ("G", "D"):
        weights = parts.get(net)
        for name, array in (weights.items() if isinstance(weights, dict) else ()):
            if isinstance(array, numpy.ndarray) and array.dtype.kind == "f" \
                    and not numpy.isfinite(array).all():
                not_finite.append(f"{net}'s {name}")
    evaluations = parts.get("evaluations")
    evaluations = [e for e in evaluations if isinstance(e, dict)] \
        if isinstance(evaluations, list) else []
    return {"step": parts.get("step"), "not_finite": not_finite, "evaluations": evaluations}


def _evaluations_from(history):
    """The checkpoint's evaluations as a _Series: their numbers only."""
    columns = []
    for entry in history:
        for key, value in entry.items():
            if key not in columns and isinstance(value, (int, float)) \
                    and not isinstance(value, bool):
                columns.append(key)
    rows = [{k: str(entry.get(k, "")) for k in columns} for entry in history]
    return _series(columns, rows, "")


# --- the checks ----------------------------------------------------------------------------
def _where(label):
    return f"[{label}] " if label else ""


def _fmt(value):
    return f"{value:.3g}"


def _finite(values):
    return values[numpy.isfinite(values)]


def _quarters(n):
    """Row ranges of the first and last quarter (at least one row each)."""
    q = max(n // 4, 1)
    return slice(0, q), slice(n - q, n)


def _watched(series, column):
    """Whether a NaN in ``column`` means divergence: a loss, a gradient norm, D's outputs, or
    a measurement of G (FID, precision, recall, diversity). A chapter's other measurements
    may be undefined on some steps (chapter 04's reverse KL with a mode empty) and are not
    read."""
    if "loss" in _normal(column):
        return True
    return column in series.names.values() and column != series.names.get("modes")


def _check_nan(series, what):
    """The first non-finite value of a watched column that also holds finite ones."""
    first = None
    for column, values in series.raw.items():
        if not _watched(series, column):
            continue
        bad = ~numpy.isfinite(values) & ~series.blank[column]
        if not bad.any():
            continue
        infinite = numpy.isinf(values).any()
        if not infinite and not numpy.isfinite(values).any():
            continue   # never measured in this block
        row = int(numpy.argmax(bad))
        if first is None or series.steps[row] < first[0]:
            first = (series.steps[row], column, values[row])
    if first is None:
        return None
    step, column, value = first
    return Finding("nan", f"{_where(series.label)}{what}: {column} = {value} at step "
                          f"{step:g}, the first non-finite value", ADVICE["nan"])


def _stopped_early(folder, series):
    """(the last logged step, the steps asked for) of a run that ended before its steps
    without results.json or summary.md; None for one that finished or may still run."""
    asked = folder.config.get("steps")
    if folder.finished or isinstance(asked, bool) or not isinstance(asked, (int, float)) \
            or not len(series.steps) or series.steps[-1] >= asked:
        return None
    return series.steps[-1], asked


def _check_early_stop(folder, series):
    """A run that stopped with its losses exploding: fewer steps than asked, no results, and
    no NaN row (the Trainer logs the row of the NaN that stops it; an older run, or one killed
    while its losses grew, has none)."""
    stopped = _stopped_early(folder, series)
    if stopped is None:
        return None
    last_step, asked = stopped
    for quantity in ("loss_d", "loss_g"):
        values = series.values.get(quantity)
        if values is None:
            continue
        finite = _finite(values)
        if not len(finite):
            continue
        head = numpy.median(numpy.abs(finite[_quarters(len(finite))[0]]))
        last = abs(finite[-1])
        if last > EXPLODED or (len(finite) >= 4 and last > EXPLODED_GROWTH * max(head, 1e-3)):
            return Finding("nan", f"{_where(series.label)}the run stopped at step {last_step:g} "
                                  f"of {asked:g} without results.json, with "
                                  f"{series.names[quantity]} grown from {_fmt(head)} to "
                                  f"{_fmt(last)}: the Trainer stops a run at its first NaN or "
                                  f"infinite loss (it logs that row; a run that stopped "
                                  f"without it died otherwise)", ADVICE["nan"])
    return None


def _check_discriminator(series):
    n = len(series.steps)
    if n == 0:
        return None, []
    head, tail = _quarters(n)
    values = series.values
    median = {k: float(numpy.nanmedian(v[tail])) if numpy.isfinite(v[tail]).any() else None
              for k, v in values.items()}
    head_median = {k: float(numpy.nanmedian(v[head])) if numpy.isfinite(v[head]).any()
                   else None for k, v in values.items()}
    unchecked = []
    d_evidence, d_known = [], False
    loss_d = values.get("loss_d")
    if loss_d is not None and median["loss_d"] is not None:
        if numpy.nanmin(loss_d) < 0:
            unchecked.append("D's loss goes negative (a Wasserstein critic?): its size says "
                             "nothing about who wins")
        else:
            d_known = True
            if median["loss_d"] < D_LOSS_NEAR_ZERO:
                d_evidence.append(f"loss_d {_fmt(median['loss_d'])}")
            else:
                d_evidence = None
    if d_evidence is not None and median.get("d_real") is not None \
            and median.get("d_fake") is not None:
        d_known = True
        if median["d_real"] > D_REAL_SATURATED and median["d_fake"] < D_FAKE_SATURATED:
            d_evidence.append(f"d_real {_fmt(median['d_real'])}, d_fake "
                              f"{_fmt(median['d_fake'])}")
        else:
            d_evidence = None

    g_evidence, g_known = [], False
    grad = values.get("grad_norm_g")
    if grad is not None and median["grad_norm_g"] is not None:
        g_known = True
        peak_row = int(numpy.nanargmax(grad))
        if median["grad_norm_g"] < GRAD_VANISHED * grad[peak_row]:
            g_evidence.append(f"G's gradient norm {_fmt(median['grad_norm_g'])}, down from "
                              f"{_fmt(grad[peak_row])} at step {series.steps[peak_row]:g}")
    loss_g = values.get("loss_g")
    rising = loss_g is not None and median["loss_g"] is not None \
        and head_median["loss_g"] is not None and median["loss_g"] > head_median["loss_g"]
    if loss_g is not None and median["loss_g"] is not None:
        g_known = True
        if median["loss_g"] > G_LOSS_GIVEN_UP:
            g_evidence.append(f"G's loss {_fmt(median['loss_g'])} (from "
                              f"{_fmt(head_median['loss_g'])} in the first quarter)")
        elif numpy.nanmax(loss_g) <= 0 and -median["loss_g"] < G_SATURATED:
            g_evidence.append(f"G's minimax loss log(1 - D(G(z))) flat at "
                              f"{_fmt(median['loss_g'])} (its gradient is scaled by D(G(z)))")
    if not g_known:
        unchecked.append("G's side (no grad_norm_g or loss_g)")

    span = f"steps {series.steps[tail][0]:g}-{series.steps[tail][-1]:g}"
    if d_known and d_evidence and (g_evidence or not g_known):
        evidence = (f"{_where(series.label)}over {span} (the last quarter, medians): "
                    + "; ".join(d_evidence + g_evidence))
        return Finding("discriminator wins", evidence, ADVICE["discriminator wins"]), unchecked
    critic = loss_d is not None and numpy.nanmin(loss_d) < 0
    if not d_known and not critic and rising and median["loss_g"] > G_LOSS_UNBOUNDED:
        evidence = (f"{_where(series.label)}G's loss rose from {_fmt(head_median['loss_g'])} "
                    f"to {_fmt(median['loss_g'])} over {span} (no D columns logged)")
        return Finding("discriminator wins", evidence, ADVICE["discriminator wins"]), unchecked
    if not d_known:
        unchecked.append("D's side (no loss_d, or d_real and d_fake)")
    return None, unchecked


def _check_collapse(series):
    """Mode collapse from recall, diversity or modes in ``series`` (evaluations, or a block)."""
    values, steps, where = series.values, series.steps, _where(series.label)
    if len(steps) < 2:
        return None   # one measurement, of an untrained G perhaps: nothing has fallen
    evidence = []
    recall, precision = values.get("recall"), values.get("precision")
    if recall is not None and numpy.isfinite(recall).any():
        ok = numpy.isfinite(recall)
        best_row = int(numpy.nanargmax(recall))
        best, last_row = recall[best_row], int(numpy.flatnonzero(ok)[-1])
        last = recall[last_row]
        holds, precision_text = True, ""
        if precision is not None and numpy.isfinite(precision[last_row]):
            at_best = precision[best_row]
            holds = precision[last_row] >= PRECISION_GOOD or (
                numpy.isfinite(at_best) and at_best > 0
                and precision[last_row] >= PRECISION_HOLDS * at_best)
            precision_text = (f" while precision went {_fmt(at_best)} -> "
                              f"{_fmt(precision[last_row])}")
        if best >= RECALL_MIN_BEST and last < RECALL_FALL * best and holds:
            evidence.append(f"recall fell from {_fmt(best)} (step {steps[best_row]:g}) to "
                            f"{_fmt(last)} (step {steps[last_row]:g}){precision_text}")
    diversity, real = values.get("diversity"), values.get("real_diversity")
    if diversity is not None and numpy.isfinite(diversity).any():
        last_row = int(numpy.flatnonzero(numpy.isfinite(diversity))[-1])
        last = diversity[last_row]
        real_last = real[last_row] if real is not None else numpy.nan
        later = diversity[(steps > steps.min()) & numpy.isfinite(diversity)]
        if numpy.isfinite(real_last) and last < DIVERSITY_OF_REAL * real_last:
            evidence.append(f"sample diversity {_fmt(last)} at step {steps[last_row]:g}, "
                            f"{last / real_last:.0%} of the real data's {_fmt(real_last)}")
        elif len(later) and last < DIVERSITY_FALL * later.max():
            evidence.append(f"sample diversity fell from {_fmt(later.max())} to {_fmt(last)} "
                            f"(step {steps[last_row]:g})")
    modes = values.get("modes")
    if modes is not None and numpy.isfinite(modes).any():
        later = modes[(steps > steps.min()) & numpy.isfinite(modes)]
        last = modes[numpy.isfinite(modes)][-1]
        if len(later) and later.max() >= 2 and last < DIVERSITY_FALL * later.max():
            evidence.append(f"modes covered fell from {_fmt(later.max())} to {_fmt(last)}")
    if evidence:
        return Finding("mode collapse", where + "; ".join(evidence), ADVICE["mode collapse"])
    return None


def _swings(values, band):
    """(swings in all of ``values``, swings in its second half): crossings from above +band to
    below -band or back, of the series with its straight-line trend taken out."""
    values = values[numpy.isfinite(values)]
    if len(values) < 6:
        return 0, 0
    x = numpy.arange(len(values))
    slope, intercept = numpy.polyfit(x, values, 1)
    detrended = values - (slope * x + intercept)
    state, swings, late = 0, 0, 0
    for i, v in enumerate(detrended):
        side = 1 if v > band else -1 if v < -band else 0
        if side and side != state:
            if state:
                swings += 1
                late += i >= len(detrended) // 2
            state = side
    return swings, late


def _check_oscillation(series):
    n = len(series.steps)
    half = slice(n // 2, n)
    found = []
    for quantity in ("d_real", "d_fake", "loss_d", "loss_g"):
        values = series.values.get(quantity)
        if values is None:
            continue
        part = values[half]
        finite = _finite(part)
        if not len(finite):
            continue
        if quantity.startswith("d_"):
            band = PROBABILITY_BAND
        else:
            band = max(LOSS_BAND * float(numpy.median(numpy.abs(finite))), LOSS_BAND_FLOOR)
        swings, late = _swings(part, band)
        if swings >= OSCILLATION_SWINGS and late >= OSCILLATION_LATE_SWINGS:
            found.append(f"{series.names[quantity]} swung beyond +-{_fmt(band)} around its "
                         f"trend {swings} times over steps {series.steps[half][0]:g}-"
                         f"{series.steps[-1]:g} ({late} in the last quarter)")
    return found


def _check_fid_oscillation(series):
    fid = series.values.get("fid")
    if fid is None:
        return []
    finite = fid[numpy.isfinite(fid)]
    half = finite[len(finite) // 2:]
    if len(half) < FID_MIN_EVALUATIONS or finite[0] <= 0:
        return []
    band = FID_SWING * finite[0]
    swings, late = _swings(half, band)
    if swings >= OSCILLATION_SWINGS and late >= OSCILLATION_LATE_SWINGS:
        return [f"{series.names['fid']} swung beyond +-{_fmt(band)} (a tenth of its first value, "
                f"{_fmt(finite[0])}) around its trend {swings} times over the last {len(half)} "
                f"of {len(finite)} evaluations"]
    return []


def _check_progress(series):
    fid = series.values.get("fid")
    if fid is None:
        return None
    ok = numpy.isfinite(fid)
    if ok.sum() < 2:
        return None
    rows = numpy.flatnonzero(ok)
    first = fid[rows[0]]
    later = fid[rows[1:]]
    best_row = rows[1:][int(numpy.argmin(later))]
    if first > 0 and (first - fid[best_row]) / first < MIN_PROGRESS:
        where = f"{_where(series.label)}{series.names['fid']} {_fmt(first)} at step " \
                f"{series.steps[rows[0]]:g}"
        best = f"{_fmt(fid[best_row])} (step {series.steps[best_row]:g})"
        if fid[best_row] >= first:
            evidence = f"{where}, and never lower after it: at best {best}"
        else:
            evidence = (f"{where}, at best {best}: {(first - fid[best_row]) / first:.1%} lower, "
                        f"under the {MIN_PROGRESS:.0%} a learning run gains")
        return Finding("no progress", evidence, ADVICE["no progress"])
    return None


def _check_config(config):
    findings = []
    low, high = LR_RANGE
    rates = {k: config[k] for k in LR_KEYS
             if isinstance(config.get(k), (int, float)) and not isinstance(config.get(k), bool)}
    bad = {k: v for k, v in rates.items() if not low <= v <= high}
    if bad:
        listed = ", ".join(f"{k} = {v:g}" for k, v in bad.items())
        findings.append(Finding(
            "learning rate", f"config.json: {listed}, outside {low:g}..{high:g} (the chapters' "
                             f"learning rates, 1e-5 to 1e-3, with a factor 2 either side)",
            ADVICE["learning rate"]))
    low, high = BATCH_RANGE
    for key in BATCH_KEYS:
        value = config.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not low <= value <= high:
                findings.append(Finding(
                    "batch size", f"config.json: {key} = {value:g}, outside {low}..{high} (the "
                                  f"chapters' batches, 16 to 256, with a factor 2 either side)",
                    ADVICE["batch size"]))
            break
    return findings, rates, [config[k] for k in BATCH_KEYS if k in config][:1]


def _examine(run_dir):
    """(findings, lines on what was read, lines on what could not be checked)."""
    folder = _read_folder(run_dir)
    findings, unchecked = [], []
    if folder.config:
        config_findings, rates, batch = _check_config(folder.config)
        findings += config_findings
        if not rates:
            unchecked.append("the learning rate (config.json names none of "
                             + ", ".join(LR_KEYS) + ")")
        if not batch:
            unchecked.append("the batch size (config.json has no batch_size or batch)")
    else:
        unchecked.append("the learning rate and batch size (no config.json)")

    if folder.checkpoint and folder.checkpoint["not_finite"]:
        findings.append(Finding("nan", f"latest.ckpt (step {folder.checkpoint['step']}): "
                                       f"non-finite weights in "
                                       f"{', '.join(folder.checkpoint['not_finite'][:3])}",
                                ADVICE["nan"]))

    blocks = [s for s in folder.metrics if len(s.steps)]
    if folder.metrics and not blocks:
        unchecked.append("the training's course (metrics.csv holds no rows)")
    elif not folder.metrics:
        unchecked.append("NaN, D's and G's balance and oscillation in training (no "
                         "metrics.csv)")
    for series in blocks:
        nan = _check_nan(series, "metrics.csv") or _check_early_stop(folder, series)
        if nan:
            findings.append(nan)
        elif _stopped_early(folder, series):
            last_step, asked = _stopped_early(folder, series)
            unchecked.append(f"{_where(series.label)}whether it diverged: its log ends at "
                             f"step {last_step:g} of {asked:g}, without results.json and with "
                             f"its last losses not exploding (still running, stopped by hand, "
                             f"or stopped by a NaN, which the Trainer does not log)")
        if len(series.steps) < 4:
            unchecked.append(f"{_where(series.label)}D against G and oscillation (metrics.csv "
                             f"has {_count(len(series.steps), 'row')}; 4 or more needed)")
            continue
        if any(q in series.values for q in ("d_real", "d_fake", "loss_d", "loss_g")):
            winner, notes = _check_discriminator(series)
            if winner:
                findings.append(winner)
            unchecked += [_where(series.label) + note for note in notes]
            swings = _check_oscillation(series)
            if swings:
                findings.append(Finding("oscillation", _where(series.label) + "; ".join(swings),
                                        ADVICE["oscillation"]))
        else:
            unchecked.append(f"{_where(series.label)}D against G and oscillation (metrics.csv "
                             f"logs none of loss_d, loss_g, d_real, d_fake)")
        collapse = _check_collapse(series)
        if collapse:
            findings.append(collapse)
        progress = _check_progress(series)
        if progress:
            findings.append(progress)

    evaluations = folder.evaluations
    if evaluations is not None and len(evaluations.steps):
        nan = _check_nan(evaluations, "evaluations")
        if nan:
            findings.append(nan)
        collapse = _check_collapse(evaluations)
        if collapse:
            findings.append(collapse)
        swings = _check_fid_oscillation(evaluations)
        if swings:
            findings.append(Finding("oscillation", "; ".join(swings), ADVICE["oscillation"]))
        progress = _check_progress(evaluations)
        if progress:
            findings.append(progress)
    has = lambda q: (evaluations is not None and q in evaluations.values) or any(  # noqa: E731
        q in s.values for s in blocks)
    if not has("fid"):
        unchecked.append("progress (no FID measured)")
    elif evaluations is not None and numpy.isfinite(evaluations.values.get(
            "fid", numpy.zeros(0))).sum() == 1:
        unchecked.append("progress (one FID only)")
    if not (has("recall") or has("diversity") or has("modes")):
        unchecked.append("mode collapse (no recall, diversity or modes measured)")
    return _merge(findings), folder.read + [f"absent: {', '.join(folder.missing)}"
                                            if folder.missing else ""], _group(unchecked,
                                                                               blocks)


def _group(notes, blocks):
    """Notes that several blocks share, said once: "... (every block)" or "... ([a], [b])"."""
    labels = {}
    for note in notes:
        label, _, text = note[1:].partition("] ") if note.startswith("[") else ("", "", note)
        labels.setdefault(text, [])
        if label and label not in labels[text]:
            labels[text].append(label)
    grouped = []
    for text, where in labels.items():
        if len(blocks) > 1 and len(where) == len(blocks):
            grouped.append(f"{text} (every block)")
        elif where:
            grouped.append(f"{text} ({'; '.join(where)})")
        else:
            grouped.append(text)
    return grouped


def _merge(findings):
    """One finding per problem and block, in the order of PROBLEMS."""
    merged = {}
    for finding in findings:
        key = (finding.problem, finding.evidence.split("] ")[0] if finding.evidence.startswith(
            "[") else "")
        if key in merged:
            old = merged[key]
            merged[key] = Finding(old.problem, old.evidence + "; " + finding.evidence,
                                  old.advice)
        else:
            merged[key] = finding
    return sorted(merged.values(), key=lambda f: PROBLEMS.index(f.problem))


def diagnose(run_dir):
    """The problems of the run in ``run_dir``, as a list of :class:`Finding`; [] if none.

    Raises RunFolderError (one sentence) for a folder that does not exist, is a file, or
    holds a file that cannot be read (config.json that is not JSON, a damaged checkpoint).
    """
    return _examine(run_dir)[0]


def format_report(run_dir, findings):
    """The text ``python -m minigan diagnose`` prints: what was read, each finding with its
    evidence and advice, and what could not be checked (it reads the folder again for that)."""
    _, read, unchecked = _examine(run_dir)
    lines = [f"run: {run_dir}", "read: " + "; ".join(r for r in read if r)]
    if findings:
        lines.append(f"{len(findings)} problem(s):")
        for number, finding in enumerate(findings, 1):
            lines += [f"{number}. {finding.problem}: {finding.evidence}",
                      f"   advice: {finding.advice}"]
    else:
        lines.append("no problem found")
    if unchecked:
        lines.append("not checked: " + "; ".join(unchecked))
    return "\n".join(lines)
