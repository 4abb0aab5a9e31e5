"""Where a training step's time goes, op by op, and what its matrix products alone cost.

    python benchmarks/profile_ops.py                        # every workload, 2 threads
    python benchmarks/profile_ops.py --threads 1 --workloads toy unrolled

For each workload (the DCGAN at batch 64 and 128, and those of ``workloads.py``):

1. **The step**, minigan's and PyTorch's, medians of paired rounds as in ``run.py``.
2. **By op.** Every ``Function``'s forward and backward, the convolution helpers
   (im2col, col2im) and the optimizer's per-parameter ``update`` are timed *exclusively*:
   an op's time leaves out the ops it calls (a backward that builds a graph calls ops). Per step,
   the mean over ``--steps`` steps. What the ops leave of those steps' wall time (less
   what the timers themselves cost, measured on a function doing nothing) is "engine and
   glue": ``Function.apply``'s bookkeeping, the backward walk, the modules' Python.
3. **The physical limit.** One step runs on the strict array module of the tests
   (``tests/strict_array.py``), which sees every matrix product, whether written
   ``xp.matmul(a, b)`` or ``a @ b``; each one's operand shapes and memory layouts are
   recorded. Then the same products are timed alone, with NumPy and with PyTorch, on
   operands of those shapes and layouts. The NumPy sum is a floor that no rewriting of
   minigan's Python can get under while its products go to NumPy's BLAS; set beside
   PyTorch's whole step, it says how close to PyTorch a NumPy step can come. Each
   product is also computed in two halves of its rows, as ``backend.in_parts`` splits
   minigan's copies over threads, and compared with the whole: where the halves give
   other bits, splitting it would make results depend on the thread count.
4. **The cost of the calls** (the MLP workloads: MLP, toy, unrolled). The same step with
   every hidden layer three units wide at batch 5 (``workloads.narrow``): the same
   graph, operation for operation, with next to no arithmetic. Its time, on both sides, is
   what the operations cost as calls; the full step less it is the arithmetic.

Both sides use ``--threads`` threads; the variables are set before NumPy is imported (see
``run.py``). Quote figures from a quiet machine: the header says how busy it was.
"""
import argparse
import collections
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (thread settings and import paths; imports no numpy)

WORKLOAD_NAMES = ["dcgan", "mlp", "toy", "unrolled", "wgan_gp"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=WORKLOAD_NAMES,
                        choices=WORKLOAD_NAMES)
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 128],
                        help="the DCGAN's batch sizes (default: 64 128)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=20,
                        help="paired rounds for the two steps (default: 20)")
    parser.add_argument("--steps", type=int, default=20,
                        help="timed steps for the op profile (default: 20)")
    parser.add_argument("--repeats", type=int, default=15,
                        help="timings of each matrix product alone; the median counts "
                             "(default: 15)")
    parser.add_argument("--top", type=int, default=12, help="ops listed per workload")
    args = parser.parse_args(argv)
    if min(args.threads, args.rounds, args.steps, args.repeats, args.top) < 1:
        parser.error("--threads, --rounds, --steps, --repeats and --top must be >= 1")
    return args


# --- the cases: a step of each workload, on a framework ----------------------------------
def cases(args):
    """(label, make, make_narrow) triples: ``make(fw)`` builds the workload on ``fw`` and
    returns its step; ``make_narrow`` likewise narrowed, or is None (section 4)."""
    from frameworks import Training
    from workloads import MLP_WORKLOADS, WORKLOADS, Step, narrow
    out = []
    if "dcgan" in args.workloads:
        for batch in args.batch:
            out.append((f"DCGAN-28 step, batch {batch}",
                        lambda fw, batch=batch: Training(fw, batch).step, None))
    for name in args.workloads:
        if name != "dcgan":
            workload = WORKLOADS[name]
            small = narrow(workload) if name in MLP_WORKLOADS else None
            out.append((f"{workload.title.split(' (')[0]}, batch {workload.batch}",
                        lambda fw, w=workload: Step(fw, w, w.batch).step,
                        (lambda fw, w=small: Step(fw, w, w.batch).step) if small else None))
    return out


# --- 2. op by op ---------------------------------------------------------------------------
class ExclusiveClock:
    """Wraps functions so each call's time, minus the wrapped calls inside it, adds up under
    its label: nested ops are not counted twice."""

    def __init__(self):
        self.seconds = collections.defaultdict(float)
        self.calls = collections.Counter()
        self._inner = []   # per open call: the time its wrapped callees took

    def wrap(self, label, function):
        clock = self

        def timed(*args, **kwargs):
            clock._inner.append(0.0)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                inner = clock._inner.pop()
                clock.seconds[label] += elapsed - inner
                clock.calls[label] += 1
                if clock._inner:
                    clock._inner[-1] += elapsed
        return timed


def instrument(clock):
    """Wrap every op's forward and backward, the convolution helpers and optimizer steps.
    Returns a function that takes the wrappers off again."""
    from minigan import autograd, optim
    from minigan.ops import conv
    undo = []

    def replace(owner, name, label):
        original = owner.__dict__[name]
        setattr(owner, name, clock.wrap(label, original))
        undo.append((owner, name, original))

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in set(subclasses(autograd.Function)):
        for method in ("forward", "backward"):
            if method in cls.__dict__:
                replace(cls, method, f"{cls.__name__} {method}")
    for helper in ("im2col_channels_last", "col2im", "channels_last"):
        replace(conv, helper, f"conv helper {helper}")
    for cls in {optim.Optimizer} | set(subclasses(optim.Optimizer)):
        for method in ("update", "zero_grad"):   # each parameter's update; clearing grads
            if method in cls.__dict__:
                replace(cls, method, f"optimizer {cls.__name__}.{method}")

    def remove():
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)
    return remove


def wrapper_cost(calls=20_000):
    """Seconds one ExclusiveClock wrapper adds to a call (timed on a function doing nothing)."""
    def nothing():
        return None
    wrapped = ExclusiveClock().wrap("nothing", nothing)
    start = time.perf_counter()
    for _ in range(calls):
        wrapped()
    middle = time.perf_counter()
    for _ in range(calls):
        nothing()
    return max((middle - start) - (time.perf_counter() - middle), 0.0) / calls


def profile_ops(step, steps):
    """Per step, over ``steps`` steps after two warm-ups: the mean seconds of each op label,
    its calls, and the seconds left for the engine and glue (the timed steps' wall time
    minus the ops and minus what the timers themselves cost)."""
    clock = ExclusiveClock()
    for _ in range(2):
        step()
    remove = instrument(clock)
    try:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall = time.perf_counter() - start
    finally:
        remove()
    ops = {label: seconds / steps for label, seconds in clock.seconds.items()}
    calls = {label: count // steps for label, count in clock.calls.items()}
    timers = wrapper_cost() * sum(clock.calls.values()) / steps
    return ops, calls, wall / steps - sum(ops.values()) - timers


# --- 3. the matrix products alone ------------------------------------------------------------
def layout(array):
    """'C' (row-major), 'F' (a transposed row-major array) or 'strided' (anything else)."""
    if array.flags.c_contiguous:
        return "C"
    if array.ndim == 2 and array.flags.f_contiguous:
        return "F"
    return "strided"


def record_products(make_step):
    """The matrix products of one step (after a warm-up step): a Counter of
    ((shape_a, layout_a), (shape_b, layout_b), dtype) -> times per step."""
    import numpy
    sys.path.insert(0, os.path.dirname(HERE))
    from minigan import backend
    from tests import strict_array
    from frameworks import Minigan

    products = collections.Counter()
    recording = [False]

    def note(a, b):
        if recording[0]:
            products[((a.shape, layout(a)), (b.shape, layout(b)), str(a.dtype))] += 1

    original_ufunc = strict_array.StrictArray.__array_ufunc__
    original_matmul = numpy.matmul

    def array_ufunc(self, ufunc, method, *inputs, **kwargs):   # a @ b
        if ufunc is original_matmul and method == "__call__":
            note(*[strict_array._unwrap(x) for x in inputs[:2]])
        return original_ufunc(self, ufunc, method, *inputs, **kwargs)

    def matmul(a, b, *args, **kwargs):                          # xp.matmul(a, b)
        note(a, b)
        return original_matmul(a, b, *args, **kwargs)

    backend.register_device("strict", strict_array)
    backend.set_device("strict")
    strict_array.StrictArray.__array_ufunc__ = array_ufunc
    numpy.matmul = matmul
    try:
        step = make_step(Minigan())
        step()
        recording[0] = True
        step()
    finally:
        recording[0] = False
        numpy.matmul = original_matmul
        strict_array.StrictArray.__array_ufunc__ = original_ufunc
        backend.set_device("cpu")
    return products


def operand(numpy, shape, kind, dtype):
    """An array of ``shape`` laid out as ``kind`` says (see :func:`layout`)."""
    rng = numpy.random.default_rng(0)
    if kind == "F":
        return rng.standard_normal(shape[::-1]).astype(dtype).T
    return rng.standard_normal(shape).astype(dtype)


def products_alone(products, repeats, torch):
    """Seconds per step of the recorded products timed alone: (NumPy's, PyTorch's or None)."""
    import numpy
    totals = {"numpy": 0.0, "torch": 0.0 if torch is not None else None}
    for ((shape_a, kind_a), (shape_b, kind_b), dtype), count in products.items():
        a, b = operand(numpy, shape_a, kind_a, dtype), operand(numpy, shape_b, kind_b, dtype)
        sides = {"numpy": lambda: numpy.matmul(a, b)}
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)   # same strides: same layout
            sides["torch"] = lambda: torch.matmul(ta, tb)
        for name, call in sides.items():
            call()
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                call()
                seconds.append(time.perf_counter() - start)
            totals[name] += count * statistics.median(seconds)
    return totals


def split_changes_bits(products):
    """(products whose two row halves, multiplied apart, give other bits than the whole,
    products compared): recorded 2-D products with at least two rows, on NumPy's BLAS."""
    import numpy
    differ = compared = 0
    for ((shape_a, kind_a), (shape_b, kind_b), dtype) in products:
        if len(shape_a) != 2 or len(shape_b) != 2 or shape_a[0] < 2:
            continue
        a, b = operand(numpy, shape_a, kind_a, dtype), operand(numpy, shape_b, kind_b, dtype)
        half = shape_a[0] // 2
        halves = numpy.concatenate([a[:half] @ b, a[half:] @ b])
        compared += 1
        differ += not numpy.array_equal(a @ b, halves)
    return differ, compared


# --- the report ------------------------------------------------------------------------------
def report(label, step_ms, ops, calls, glue, products, alone, calls_ms, args,
           out=sys.stdout):
    mg_ms, th_ms = step_ms.get("minigan"), step_ms.get("torch")
    print(f"\n{label} ({args.threads} thread(s))", file=out)
    line = f"  step: minigan {mg_ms:.2f} ms"
    if th_ms:
        line += f", PyTorch {th_ms:.2f} ms ({mg_ms / th_ms:.2f}x)"
    print(line, file=out)
    n_products = sum(products.values())
    np_ms = 1e3 * alone["numpy"]
    line = (f"  its {n_products} matrix products alone: NumPy {np_ms:.2f} ms "
            f"({100 * np_ms / mg_ms:.0f}% of minigan's step)")
    if alone["torch"] is not None:
        line += f", PyTorch {1e3 * alone['torch']:.2f} ms"
    print(line, file=out)
    if th_ms:
        print(f"  the floor with NumPy's BLAS: {np_ms / th_ms:.2f}x PyTorch's step "
              f"(the products alone, nothing else)", file=out)
    differ, compared = split_changes_bits(products)
    print(f"  split in two by rows: {differ} of {compared} product shapes give other bits "
          f"than the whole", file=out)
    op_ms = {name: 1e3 * s for name, s in ops.items()}
    total = sum(op_ms.values())
    print(f"  by op, ms per step (exclusive; {sum(calls.values())} timed calls per step):",
          file=out)
    for name in sorted(op_ms, key=op_ms.get, reverse=True)[:args.top]:
        print(f"    {name:44}{op_ms[name]:8.2f}  {100 * op_ms[name] / mg_ms:5.1f}%"
              f"  x{calls[name]}", file=out)
    rest = sorted(op_ms, key=op_ms.get, reverse=True)[args.top:]
    if rest:
        print(f"    {'(' + str(len(rest)) + ' more ops)':44}"
              f"{sum(op_ms[n] for n in rest):8.2f}", file=out)
    print(f"    {'engine and glue (the rest of the step)':44}{1e3 * glue:8.2f}  "
          f"{100e3 * glue / mg_ms:5.1f}%", file=out)
    print(f"  (shares of the untimed step; the timed steps took "
          f"{total + 1e3 * glue:.2f} ms of op and engine time)", file=out)
    if calls_ms:
        print("  the same graph three units wide, batch 5 (the operations as calls), and the "
              "full step less it (the arithmetic):", file=out)
        for name, ms in calls_ms.items():
            print(f"    {name:8} calls {ms:6.2f} ms, arithmetic {step_ms[name] - ms:6.2f} ms",
                  file=out)


def main(argv=None):
    args = parse_args(argv)
    run.configure_threads(args.threads)
    run.import_paths()
    import bench
    from frameworks import Minigan, Torch
    try:
        import torch
    except ImportError:
        torch = None
    frameworks = {"minigan": Minigan("cpu", args.threads)}
    if torch is not None:
        frameworks["torch"] = Torch("cpu", args.threads)
    load = bench.ForeignLoad()
    print(f"profile: minigan {frameworks['minigan'].version}, NumPy BLAS "
          f"{bench.blas_description()}, torch {torch.__version__ if torch else 'missing'}")
    def median_ms(make):
        """Each framework's step, built by ``make``, in paired rounds: median ms."""
        steps = {name: make(fw) for name, fw in frameworks.items()}
        timed = bench.paired_rounds({name: (steps[name], fw.sync)
                                     for name, fw in frameworks.items()},
                                    args.rounds, warmup=3)
        return steps, {name: 1e3 * statistics.median(t) for name, t in timed.items()}

    for label, make, make_narrow in cases(args):
        steps, step_ms = median_ms(make)
        ops, calls, glue = profile_ops(steps["minigan"], args.steps)
        products = record_products(make)
        alone = products_alone(products, args.repeats, torch)
        calls_ms = median_ms(make_narrow)[1] if make_narrow else None
        report(label, step_ms, ops, calls, glue, products, alone, calls_ms, args)
        sys.stdout.flush()
    print(f"\nother processes used {100 * load.fraction():.0f}% of the CPUs meanwhile "
          f"(quote figures only from a quiet machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
