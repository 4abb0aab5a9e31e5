"""Each kernel of the DCGAN-28 step alone, forward and backward, in paired rounds.

    python benchmarks/kernels.py                          # batch 64 and 128, against PyTorch
    python benchmarks/kernels.py --baseline HEAD          # also against minigan.ops at HEAD
    python benchmarks/kernels.py --batch 64 --only conv   # the rows whose name has "conv"
    python benchmarks/kernels.py --step --baseline HEAD   # and the whole training step

``run.py`` times layers as modules (forward + backward together); this script splits
each one into the Functions of ``minigan.ops`` that the step calls, at the shapes and
in the memory layout the step gives them, so that a change to one kernel can be
measured by itself. Every row is timed in paired rounds in this one process (the
order rotating between rounds), so a slow spell of a shared machine hits all sides:

* **minigan**: ``minigan.ops`` as it is in the working tree;
* **baseline** (``--baseline REV``): the files conv.py, normalization.py,
  elementwise.py and linalg.py of ``minigan/ops`` as committed at REV, loaded beside
  the current ones, so old and new run on the same inputs in the same rounds;
* **torch**: the same operation in PyTorch (``torch.nn.functional``), when installed.

"fwd" rows time the forward alone; "bwd" rows time ``out.backward(g)`` alone (the
forward is run untimed before each round), which includes every Function the
backward calls: a convolution's backward is a transposed convolution plus a
weight-gradient product. ``x/step`` is how often one training step makes the call,
so ``x/step * time`` adds up to most of a step (the rest is the losses, Adam and
the glue, which the ``--step`` row shows).

With ``--step`` the baseline's step patches the baseline kernels into
``minigan.nn.functional`` for its turn and restores the current ones after it.
"""
import argparse
import os
import subprocess
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OPS_FILES = ("conv", "normalization", "elementwise", "linalg")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--baseline", metavar="REV",
                        help="also time minigan/ops/{conv,normalization,elementwise,linalg}.py "
                             "as committed at REV (e.g. HEAD)")
    parser.add_argument("--only", metavar="TEXT", help="only the rows whose name contains TEXT")
    parser.add_argument("--step", action="store_true", help="also time the whole training step")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    return parser.parse_args(argv)


def load_baseline(rev):
    """The ops modules as committed at ``rev``, as fresh module objects beside the current ones."""
    modules = {}
    for name in OPS_FILES:
        source = subprocess.run(["git", "show", f"{rev}:minigan/ops/{name}.py"], cwd=ROOT,
                                check=True, capture_output=True, text=True).stdout
        module = types.ModuleType(f"baseline_{name}")
        module.__file__ = f"{rev}:minigan/ops/{name}.py"
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        modules[name] = module
    return modules


class Ops:
    """One implementation of the kernels: the four ops modules, and the layout it keeps.

    ``channels_last`` says how the step hands this implementation its activations and
    upstream gradients: the current convolutions return channels-last views, which
    the elementwise operations and batch norm keep, so their next consumer gets them
    that way; the baseline's are plain (N, C, H, W) arrays.
    """

    def __init__(self, label, modules):
        self.label = label
        self.conv, self.norm = modules["conv"], modules["normalization"]
        self.elementwise, self.linalg = modules["elementwise"], modules["linalg"]
        self.channels_last = _returns_channels_last(self.conv)


def _returns_channels_last(conv):
    """Whether ``conv``'s Conv2d hands back channels-last views, asked of a small
    convolution's result: what the timings depend on is the layout of the result, which no
    helper's name at some revision says for certain."""
    import numpy
    from minigan.autograd import Tensor
    x = Tensor(numpy.ones((2, 3, 4, 4), numpy.float32))
    weight = Tensor(numpy.ones((5, 3, 1, 1), numpy.float32))
    y = conv.Conv2d.apply(x, weight, stride=(1, 1), padding=(0, 0)).data
    return not y.flags.c_contiguous and y.transpose(0, 2, 3, 1).flags.c_contiguous


# --- the rows -----------------------------------------------------------------------------
class Row:
    """One kernel at one shape: ``minigan(ops, batch)`` and ``torch(batch)`` build calls.

    A built call is ``(prepare, timed)``: ``prepare()`` runs untimed before each round
    and returns what ``timed`` takes (for a "bwd" row, the forward's output).
    """

    def __init__(self, name, per_step, minigan, torch):
        self.name, self.per_step, self.minigan, self.torch = name, per_step, minigan, torch


def _rng(seed=0):
    import numpy
    return numpy.random.default_rng(seed)


def _array(shape, channels_last, seed=0):
    """A float32 standard-normal (N, C, H, W) array, stored channels-last when asked."""
    import numpy
    rng = _rng(seed)
    if channels_last and len(shape) == 4:
        n, c, h, w = shape
        return rng.standard_normal((n, h, w, c)).astype(numpy.float32).transpose(0, 3, 1, 2)
    return rng.standard_normal(shape).astype(numpy.float32)


def _minigan_call(op, shapes, grads, out_shape, direction, layout):
    """(prepare, timed) for minigan: ``op(*tensors)`` forward, or its backward."""
    from minigan.autograd import Tensor   # not minigan.tensor: its copy would be (N, C, H, W)
    tensors = [Tensor(_array(s, layout and i == 0, seed=i), requires_grad=g)
               for i, (s, g) in enumerate(zip(shapes, grads))]
    g = Tensor(_array(out_shape, layout, seed=9))
    if direction == "fwd":
        return (lambda: None), (lambda _: op(*tensors))

    def prepare():
        for t in tensors:
            t.grad = None
        return op(*tensors)
    return prepare, (lambda out: out.backward(g))


def _torch_call(op, shapes, grads, out_shape, direction):
    import torch
    tensors = [torch.from_numpy(_array(s, False, seed=i)).requires_grad_(g)
               for i, (s, g) in enumerate(zip(shapes, grads))]
    g = torch.from_numpy(_array(out_shape, False, seed=9))
    if direction == "fwd":
        return (lambda: None), (lambda _: op(*tensors))

    def prepare():
        for t in tensors:
            t.grad = None
        return op(*tensors)
    return prepare, (lambda out: out.backward(g))


def rows():
    """The kernels of the step, in the step's order, with how often a step calls each."""
    table = []

    def add(name, per_step, shapes, grads, out_shape, minigan_op, torch_op):
        for direction in ("fwd", "bwd"):
            table.append(Row(
                f"{name} {direction}", per_step,
                lambda ops, b, d=direction: _minigan_call(
                    minigan_op(ops), shapes(b), grads, out_shape(b), d, ops.channels_last),
                lambda b, d=direction: _torch_call(torch_op(), shapes(b), grads, out_shape(b), d)))

    def tf():
        import torch.nn.functional as F
        return F

    def conv(stride, padding):
        return lambda ops: (lambda x, w: ops.conv.Conv2d.apply(
            x, w, stride=(stride,) * 2, padding=(padding,) * 2))

    def conv_t(stride, padding):
        return lambda ops: (lambda y, w: ops.conv.ConvTranspose2d.apply(
            y, w, stride=(stride,) * 2, padding=(padding,) * 2, output_padding=(0, 0)))

    def batch_norm(ops):
        def op(x, weight, bias):
            import numpy
            c = x.shape[1]
            return ops.norm.BatchNormTraining.apply(
                x, weight, bias, eps=1e-5, momentum=0.1,
                running_mean=numpy.zeros(c, numpy.float32),
                running_var=numpy.ones(c, numpy.float32))
        return op

    def torch_batch_norm():
        import torch
        return lambda x, w, b: tf().batch_norm(x, torch.zeros(x.shape[1]), torch.ones(x.shape[1]),
                                               w, b, training=True)

    add("G ConvT2d(100,256,7,1,0)", 1, lambda b: [(b, 100, 1, 1), (100, 256, 7, 7)], (False, True),
        lambda b: (b, 256, 7, 7), conv_t(1, 0), lambda: lambda y, w: tf().conv_transpose2d(y, w))
    add("G BatchNorm 256x7x7", 1, lambda b: [(b, 256, 7, 7), (256,), (256,)], (True, True, True),
        lambda b: (b, 256, 7, 7), batch_norm, torch_batch_norm)
    add("G ReLU 256x7x7", 1, lambda b: [(b, 256, 7, 7)], (True,), lambda b: (b, 256, 7, 7),
        lambda ops: ops.elementwise.relu, lambda: tf().relu)
    add("G ConvT2d(256,128,4,2,1)", 1, lambda b: [(b, 256, 7, 7), (256, 128, 4, 4)], (True, True),
        lambda b: (b, 128, 14, 14), conv_t(2, 1),
        lambda: lambda y, w: tf().conv_transpose2d(y, w, stride=2, padding=1))
    add("G BatchNorm 128x14x14", 1, lambda b: [(b, 128, 14, 14), (128,), (128,)],
        (True, True, True), lambda b: (b, 128, 14, 14), batch_norm, torch_batch_norm)
    add("G ReLU 128x14x14", 1, lambda b: [(b, 128, 14, 14)], (True,), lambda b: (b, 128, 14, 14),
        lambda ops: ops.elementwise.relu, lambda: tf().relu)
    add("G ConvT2d(128,1,4,2,1)", 1, lambda b: [(b, 128, 14, 14), (128, 1, 4, 4)], (True, True),
        lambda b: (b, 1, 28, 28), conv_t(2, 1),
        lambda: lambda y, w: tf().conv_transpose2d(y, w, stride=2, padding=1))
    add("G Tanh 1x28x28", 1, lambda b: [(b, 1, 28, 28)], (True,), lambda b: (b, 1, 28, 28),
        lambda ops: ops.elementwise.tanh, lambda: __import__("torch").tanh)
    # D's first input is an image (no gradient) in two of its three passes
    add("D Conv2d(1,64,4,2,1)", 3, lambda b: [(b, 1, 28, 28), (64, 1, 4, 4)], (False, True),
        lambda b: (b, 64, 14, 14), conv(2, 1),
        lambda: lambda x, w: tf().conv2d(x, w, stride=2, padding=1))
    add("D LeakyReLU 64x14x14", 3, lambda b: [(b, 64, 14, 14)], (True,), lambda b: (b, 64, 14, 14),
        lambda ops: (lambda x: ops.elementwise.leaky_relu(x, 0.2)),
        lambda: lambda x: tf().leaky_relu(x, 0.2))
    add("D Conv2d(64,128,4,2,1)", 3, lambda b: [(b, 64, 14, 14), (128, 64, 4, 4)], (True, True),
        lambda b: (b, 128, 7, 7), conv(2, 1),
        lambda: lambda x, w: tf().conv2d(x, w, stride=2, padding=1))
    add("D BatchNorm 128x7x7", 3, lambda b: [(b, 128, 7, 7), (128,), (128,)], (True, True, True),
        lambda b: (b, 128, 7, 7), batch_norm, torch_batch_norm)
    add("D LeakyReLU 128x7x7", 3, lambda b: [(b, 128, 7, 7)], (True,), lambda b: (b, 128, 7, 7),
        lambda ops: (lambda x: ops.elementwise.leaky_relu(x, 0.2)),
        lambda: lambda x: tf().leaky_relu(x, 0.2))
    add("D Linear(6272,1)", 3, lambda b: [(b, 6272), (1, 6272)], (True, True), lambda b: (b, 1),
        lambda ops: (lambda x, w: ops.linalg.matmul(x, w.T)), lambda: lambda x, w: x @ w.T)
    return table


# --- timing -------------------------------------------------------------------------------
def paired(calls, rounds, warmup):
    """name -> (prepare, timed): the median seconds of ``timed`` per name, rounds interleaved."""
    import numpy
    names = list(calls)
    for _ in range(warmup):
        for name in names:
            prepare, timed = calls[name]
            timed(prepare())
    times = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        order = names[k:] + names[:k]
        for name in (order if r % 2 == 0 else order[::-1]):
            prepare, timed = calls[name]
            state = prepare()
            start = time.perf_counter()
            timed(state)
            times[name].append(time.perf_counter() - start)
    return {name: float(numpy.median(t)) for name, t in times.items()}


def step_calls(implementations, batch, use_torch):
    """(prepare, timed) for one training step per implementation (and PyTorch)."""
    import frameworks
    from minigan.nn import functional
    calls = {}
    for ops in implementations:
        training = frameworks.Training(frameworks.Minigan(), batch)
        patch = {"conv_ops": ops.conv, "BatchNormTraining": ops.norm.BatchNormTraining,
                 "leaky_relu": ops.elementwise.leaky_relu, "relu": ops.elementwise.relu,
                 "tanh": ops.elementwise.tanh, "matmul": ops.linalg.matmul}
        patch = {name: value for name, value in patch.items() if hasattr(functional, name)}
        current = {name: getattr(functional, name) for name in patch}

        def timed(_, training=training, patch=patch, current=current):
            vars(functional).update(patch)
            try:
                training.step()
            finally:
                vars(functional).update(current)
        calls[ops.label] = ((lambda: None), timed)
    if use_torch:
        training = frameworks.Training(frameworks.Torch(threads=None), batch)
        calls["torch"] = ((lambda: None), lambda _, training=training: training.step())
    return calls


def main(argv=None):
    args = parse_args(argv)
    sys.path[:0] = [HERE, ROOT]
    import run
    run.configure_threads(args.threads)
    import minigan  # noqa: F401  (numpy after the thread variables)
    from minigan.ops import conv, elementwise, linalg, normalization
    implementations = [Ops("minigan", {"conv": conv, "normalization": normalization,
                                       "elementwise": elementwise, "linalg": linalg})]
    if args.baseline:
        try:
            implementations.append(Ops(f"baseline({args.baseline})",
                                       load_baseline(args.baseline)))
        except TypeError as error:   # ops from before 6f461b6 took their settings otherwise
            print(f"kernels.py: the ops at {args.baseline} cannot be called as this revision "
                  f"calls them ({error}); choose a later --baseline", file=sys.stderr)
            return 2
    use_torch = not args.no_torch
    if use_torch:
        try:
            import torch
            torch.set_num_threads(args.threads)
        except ImportError:
            use_torch = False
            print("PyTorch is not installed: no torch column.")
    table = [row for row in rows() if not args.only or args.only.lower() in row.name.lower()]
    labels = [ops.label for ops in implementations] + (["torch"] if use_torch else [])
    print(f"{args.rounds} paired rounds, {args.threads} threads; medians in ms")
    for batch in args.batch:
        print(f"\nbatch {batch}")
        header = f"{'kernel':34s} {'x/step':>6s}" + "".join(f"{label:>16s}" for label in labels)
        ratios = [f"mg/{label.split('(')[0]}" for label in labels[1:]]
        print(header + "".join(f"{r:>13s}" for r in ratios))
        totals = dict.fromkeys(labels, 0.0)
        for row in table:
            calls = {ops.label: row.minigan(ops, batch) for ops in implementations}
            if use_torch:
                calls["torch"] = row.torch(batch)
            medians = paired(calls, args.rounds, args.warmup)
            for label in labels:
                totals[label] += row.per_step * medians[label]
            line = f"{row.name:34s} {row.per_step:6d}" + "".join(
                f"{medians[label] * 1e3:16.2f}" for label in labels)
            print(line + "".join(f"{medians['minigan'] / medians[label]:12.2f}x"
                                 for label in labels[1:]), flush=True)
        if table:
            print(f"{'sum of x/step * time':41s}" + "".join(f"{totals[label] * 1e3:16.1f}"
                                                           for label in labels)
                  + "".join(f"{totals['minigan'] / totals[label]:12.2f}x" for label in labels[1:]))
        if args.step:
            medians = paired(step_calls(implementations, batch, use_torch), args.rounds,
                             args.warmup)
            print(f"{'training step':41s}" + "".join(f"{medians[label] * 1e3:16.1f}"
                                                    for label in labels)
                  + "".join(f"{medians['minigan'] / medians[label]:12.2f}x"
                            for label in labels[1:]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
