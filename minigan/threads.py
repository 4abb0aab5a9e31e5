"""How many threads NumPy's matrix products use in a chapter run, and the record of it.

The same count splits minigan's own large loops (a convolution's im2col and col2im, one
part of the batch per thread; batch norm's row-by-row passes and Adam's update, parts of the
rows: ``backend.in_parts``), which give the same bits on any count.

NumPy hands every matrix product to a BLAS library (OpenBLAS, in NumPy's own wheels), which
splits a large product across threads, one per core by default. A small one, of at most
128 x 128 x 128 multiply-adds, minigan runs on one thread whatever the count
(``backend.matmul``): inside a training step a second core costs such a product more than
it brings. What the count buys was measured on a 2-core machine (``benchmarks/threads.py``
and the chapters' quick runs, tables in ``benchmarks/README.md``):

* **idle**, two threads make the image chapters' steps faster than one (a 50-step DCGAN
  9.4-10.2 s against 14.1-14.2 s, chapters/README.md; chapter 03's quick run 7.5-8.1 s
  against 10.0 s), and chapter 04's, whose training products are all small, take as long
  (19.4 s against 19.1 s);
* **with a second program busy**, two threads wait on each other's core: chapter 03's quick
  run took 16.4-17.4 s on two threads against 10.1-10.2 s on one; chapter 04's 19.4 s
  against 18.6 s (40 s on two before its small products were kept on one thread);
* **the count changes the results** of the larger products. BLAS adds up the terms of each
  entry of a product in an order that depends on how the product was split, so on the
  thread count. With NumPy 2.4's OpenBLAS 0.3.31 the Haswell kernels give float32 products
  whose last bits differ between one and two threads at nearly every size the image
  chapters use, and the SkylakeX kernels where the inner dimension is 784 or 600 (chapter
  03's images). GAN training turns a last bit into a visibly different figure within a
  few hundred steps (chapter 04's PacGAN reached 8.0 modes on one thread and 7.5 on two,
  same seed, before its products were kept on one thread; now chapter 04 gives the same
  figures on both).

So ``--threads auto``, every chapter's default, is **one thread**: the same seed gives the
same figures on every machine however many cores it has and however busy it is, and one
thread is the count that stays fast when the machine is doing anything else. On an idle
machine ``--threads 2`` is up to a third faster for the image chapters, and the run's
summary then says its figures may differ from the README's in the last digits.

**The record.** A run's ``config.json`` and ``summary.md`` say which BLAS did the products,
the kernel it ran (which can also move a figure: chapter 03's Parzen estimate differs
between kernels), the setting, the thread count, and whether this BLAS gives other bits on
other counts (:func:`record`, :func:`describe`): that is how a reader tells why a figure
differs from the chapter's README.

``threadpoolctl`` finds the BLAS libraries loaded in the process and sets their thread
count while the process runs; the environment variables ``OPENBLAS_NUM_THREADS`` and the
like work only before NumPy loads. On CUDA the products run on the GPU: the host's BLAS
threads are left alone and the record says so.
"""
import os

import numpy
import threadpoolctl

from minigan import backend

# The environment variables that set or shape the BLAS threads when NumPy loads.
_ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "OPENBLAS_CORETYPE")

# Products at shapes the chapters multiply, for results_depend_on_threads:
# (shape of a, shape of b, whether a is used transposed), each in float32 and float64.
CHECKED_PRODUCTS = [
    ((64, 128), (128, 128), False),        # a hidden layer of an MLP on a batch of 64
    ((5, 64, 128), (5, 128, 128), False),  # chapter 04's five networks stacked
    ((64, 128), (64, 128), True),          # that layer's weight gradient x^T g
    ((2500, 128), (128, 128), False),      # 2,500 samples drawn for measuring
    ((100, 784), (784, 1200), False),      # chapter 03's discriminator on 100 images
    ((3136, 512), (512, 64), False),       # a DCGAN convolution as im2col rows @ weights
]

_state = {"start": None, "checked": {}}
_run = {"setting": None, "count": None, "reason": ""}


# --- the BLAS library ----------------------------------------------------------------------
def _blas_pools():
    return [pool for pool in threadpoolctl.threadpool_info() if pool.get("user_api") == "blas"]


def _cores():
    try:
        return len(os.sched_getaffinity(0))   # the cores this process may run on
    except AttributeError:                    # not on Linux
        return os.cpu_count() or 1


def blas_description():
    """The BLAS library that does NumPy's matrix products, and how it runs.

    Returns ``{"library": "openblas", "version": "0.3.31", "kernel": "Haswell",
    "coretype": "Haswell", "threading_layer": "pthreads", "threads": 2, "cores": 2}``:
    the library (openblas, mkl, blis, ...; "none found" where threadpoolctl finds none),
    its version, the kernel it picked for this CPU (threadpoolctl's ``architecture``;
    None where the library does not say), ``OPENBLAS_CORETYPE`` when the environment sets
    it (it makes OpenBLAS pick that kernel), the threads it uses now, and the cores this
    process may use. Where several are loaded (SciPy brings its own), NumPy's is described.
    """
    pools = _blas_pools()
    numpys = [pool for pool in pools if "numpy" in pool.get("filepath", "")]
    pool = (numpys or pools or [{}])[0]
    return {"library": pool.get("internal_api", "none found"), "version": pool.get("version"),
            "kernel": pool.get("architecture"), "coretype": os.environ.get("OPENBLAS_CORETYPE"),
            "threading_layer": pool.get("threading_layer"), "threads": pool.get("num_threads"),
            "cores": _cores()}


def get_threads():
    """The number of threads BLAS uses now (1 where no BLAS library is found)."""
    return max([pool["num_threads"] for pool in _blas_pools()], default=1)


def threads_at_start():
    """The thread count BLAS started with (read before this module first changed it)."""
    if _state["start"] is None:
        _state["start"] = get_threads()
    return _state["start"]


def set_threads(count):
    """Make every loaded BLAS library (NumPy's and SciPy's) use ``count`` threads from now on,
    and minigan's own loops and copies too (``backend.in_parts``)."""
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS now, so that the limit reaches it)
    threads_at_start()   # read the starting count before the first change
    threadpoolctl.threadpool_limits(limits=int(count), user_api="blas")
    backend.set_host_threads(count)


def results_depend_on_threads(count=None, products=None):
    """Whether this BLAS gives minigan's products other bits on ``count`` threads than on
    one (checked once).

    Multiplies random matrices of the shapes in ``products`` (default ``CHECKED_PRODUCTS``)
    in float32 and in float64 as minigan does (``backend.matmul``, which keeps the small
    ones on one thread on any count), on one thread and on ``count`` (default
    :func:`threads_at_start`), and compares the bits: a quarter of a second or so, once per
    process and list. The thread count is restored after.
    """
    count = threads_at_start() if count is None else int(count)
    products = tuple(CHECKED_PRODUCTS if products is None else products)
    if count == 1:
        return False
    if (count, products) not in _state["checked"]:
        generator = numpy.random.default_rng(0)
        pairs = []
        for dtype in (numpy.float32, numpy.float64):
            for a_shape, b_shape, transposed in products:
                a = generator.standard_normal(a_shape, dtype=dtype)
                b = generator.standard_normal(b_shape, dtype=dtype)
                pairs.append((a.swapaxes(-1, -2) if transposed else a, b))
        with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
            on_one = [backend.matmul(a, b) for a, b in pairs]
        with threadpoolctl.threadpool_limits(limits=count, user_api="blas"):
            on_count = [backend.matmul(a, b) for a, b in pairs]
        _state["checked"][count, products] = not all(numpy.array_equal(x, y)
                                                     for x, y in zip(on_one, on_count))
    return _state["checked"][count, products]


# --- a run's setting -----------------------------------------------------------------------
def parse_setting(text):
    """``--threads``'s value: 'auto' or a count of at least 1 (as an int)."""
    if str(text).strip().lower() == "auto":
        return "auto"
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"--threads: expected 'auto' or a count of at least 1, got {text!r}")
    return count


def configure(setting):
    """Apply a run's ``--threads`` setting ('auto' = one thread, or a count); return it.

    ``experiment.parse_args`` calls it; minigan used as a library, outside a chapter run,
    leaves the threads as BLAS started.
    """
    setting = parse_setting(setting)
    if backend.get_device() == "cuda":
        _run.update(setting=setting, count=None,
                    reason="the products run on the GPU; the host's BLAS threads were left "
                           "as they were")
        return setting
    count = 1 if setting == "auto" else setting
    reason = ("auto: one thread, the same figures on every machine and fast on a busy one"
              if setting == "auto" else f"set by --threads {setting}")
    _run.update(setting=setting, count=count, reason=reason)
    set_threads(count)
    return setting


def end_run():
    """The run is over: give BLAS back the thread count it started with."""
    if _run["count"] is not None:
        set_threads(threads_at_start())
    _run.update(setting=None, count=None, reason="")


def record():
    """The BLAS and the threads of the run, as ``config.json`` keeps them.

    The fields of :func:`blas_description`, and ``setting`` ('auto', a count, or None
    outside a chapter run), ``threads_at_start``, ``environment`` (the thread and kernel
    variables that are set), ``choice`` (how the count was chosen), and
    ``results_change_with_threads``: whether this BLAS gives the checked products other
    bits on one thread and on ``threads_at_start`` (None where BLAS started with one).
    """
    entry = blas_description()
    start = threads_at_start()
    entry.update(setting=_run["setting"], threads_at_start=start,
                 environment={name: os.environ[name] for name in _ENVIRONMENT
                              if name in os.environ},
                 choice=_run["reason"] or "not set (no --threads): as BLAS started",
                 results_change_with_threads=results_depend_on_threads(start) if start > 1
                 else None)
    return entry


def describe(entry=None):
    """A record (default: the run's now) as a sentence or two for summary.md, e.g.

    BLAS: openblas 0.3.31, kernel Haswell (OPENBLAS_CORETYPE=Haswell), 2 cores. Threads
    (`--threads auto`): 1 (auto: one thread, the same figures on every machine ...).
    """
    entry = record() if entry is None else entry
    kernel = f", kernel {entry['kernel']}" if entry["kernel"] else ""
    if entry["coretype"]:
        kernel += f" (OPENBLAS_CORETYPE={entry['coretype']})"
    version = f" {entry['version']}" if entry["version"] else ""
    text = f"BLAS: {entry['library']}{version}{kernel}, {entry['cores']} cores. "
    if entry["setting"] is None:
        return text + f"Threads: {entry['threads']} ({entry['choice']})."
    text += f"Threads (`--threads {entry['setting']}`): {entry['threads']} ({entry['choice']})."
    if entry["threads"] != 1 and entry["results_change_with_threads"]:
        text += (" On this BLAS the thread count changes the last bits of some products, so "
                 "this run's figures can differ from those of the default, one thread.")
    return text
