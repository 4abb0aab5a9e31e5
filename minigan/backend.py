"""The one place that knows whether arrays live on the CPU (NumPy) or a GPU (CuPy).

Everything else in minigan is written once, against an *array module* ``xp``:
``numpy`` on the CPU, ``cupy`` on CUDA. The two share an API, so a kernel that
calls ``xp.tensordot`` or slices an array runs on either. The handful of things
that genuinely differ between the two libraries live here and nowhere else:

* which module is current (:func:`set_device`, ``MINIGAN_DEVICE``),
* which arrays live on a device, off the host (:func:`array_module`),
* the random generator (:func:`manual_seed`, :func:`rng`, and
  :func:`get_rng_state`/:func:`set_rng_state` for checkpoints),
* moving data to and from the host (:func:`asarray`, :func:`to_numpy`),
* scatter-add, which NumPy spells ``np.add.at`` and CuPy ``cupyx.scatter_add``,
* on Linux with glibc, how the C library's malloc treats freed host memory
  (:func:`keep_freed_memory`),
* whether work is split over the host's threads (:func:`in_parts`): on a GPU it is
  parallel already,
* how many of the host's BLAS threads a small matrix product gets (:func:`matmul`).
"""
import concurrent.futures
import functools
import os

import numpy

_DEVICES = ("cpu", "cuda")
_state = {"device": "cpu", "xp": numpy, "seed": None, "rngs": {}}
# Device modules besides cupy, by name: the tests register a strict stand-in for CuPy.
_registered = {}


def cuda_unavailable_reason():
    """Why CUDA cannot be used here, as one sentence, or None when it can."""
    try:
        import cupy
    except ImportError as error:
        return f"CuPy is not installed ({error}); install minigan[cuda12] or minigan[cuda13]"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CuPy raises its own runtime errors without a driver
        return f"CuPy found no usable CUDA driver ({type(error).__name__}: {error})"
    if count == 0:
        return "CuPy is installed but no CUDA device is visible"
    return None


def register_device(name, module):
    """Make ``set_device(name)`` compute with ``module``, an array module shaped like CuPy.

    ``module.ndarray`` is its array type, ``array.get()`` the explicit copy to the host and
    ``module.scatter_add`` its scatter-add. tests/conftest.py registers tests/strict_array.py
    as 'strict': an array module that fails wherever CuPy would, so CI, without a GPU,
    still catches code that only works on NumPy.
    """
    _registered[name] = module


def set_device(name):
    """Make ``name`` ('cpu' or 'cuda') the device on which new tensors are created."""
    if name in _registered:
        _state["device"], _state["xp"] = name, _registered[name]
        return
    if name not in _DEVICES:
        raise ValueError(f"set_device: unknown device {name!r}; expected one of {_DEVICES}")
    if name == "cuda":
        reason = cuda_unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"set_device('cuda'): {reason}")
        import cupy
        module = cupy
    else:
        module = numpy
    _state["device"], _state["xp"] = name, module


def get_device():
    """The current device name: 'cpu' or 'cuda' (or a registered one, such as 'strict')."""
    return _state["device"]


def get_array_module():
    """The array module of the current device: ``numpy`` or ``cupy``."""
    return _state["xp"]


def array_module(array):
    """The array module that owns ``array`` (so results stay on the array's device)."""
    if type(array) is numpy.ndarray:   # the common case first: every operation asks
        return numpy
    if type(array).__module__.startswith("cupy"):
        import cupy
        return cupy
    for module in _registered.values():
        if isinstance(array, module.ndarray):
            return module
    return numpy


def on_device(array):
    """Whether ``array`` lives on a device (CuPy's GPU, or a registered one), not the host."""
    return array_module(array) is not numpy


def asarray(data, dtype=None):
    """``data`` as an array on the current device (a copy only when needed)."""
    xp = _state["xp"]
    if xp is numpy and on_device(data):
        return to_numpy(data) if dtype is None else to_numpy(data).astype(dtype, copy=False)
    return xp.asarray(data, dtype=dtype)


def to_numpy(array):
    """A NumPy copy (or view) of ``array``, wherever it lives.

    With :func:`asarray` to the CPU, the one sanctioned way from a device to the host: on
    CuPy it waits for the GPU, so a training step calls it only for what it logs.
    """
    if on_device(array):
        return array.get()
    return numpy.asarray(array)


def value_range(array):
    """The smallest and largest element of a non-empty ``array``, as Python numbers.

    Both travel to the host in one copy: checking that labels or indices are in range
    costs one wait for a GPU, not two.
    """
    xp = array_module(array)
    low, high = to_numpy(xp.stack([array.min(), array.max()])).tolist()
    return low, high


def scatter_add(target, index, values):
    """``target[index] += values`` where repeated indices each add (unlike plain ``+=``)."""
    module = array_module(target)
    if module is numpy:
        numpy.add.at(target, index, values)
    elif module.__name__ == "cupy":
        import cupyx
        cupyx.scatter_add(target, index, values)
    else:
        module.scatter_add(target, index, values)


# --- the host's threads, for minigan's own loops and copies -----------------------------------
_host = {"threads": None, "pool": None, "workers": 0, "pid": None}
# A part smaller than this many elements is not worth handing to a thread (tens of us).
SPLIT_MIN_ELEMENTS = 1 << 18


def set_host_threads(count):
    """Split :func:`in_parts`'s work over up to ``count`` threads (1: never split)."""
    count = int(count)
    if count < 1:
        raise ValueError(f"set_host_threads: count must be at least 1, got {count}")
    _host["threads"] = count


def get_host_threads():
    """The threads :func:`in_parts` uses: as set, else as many as NumPy's BLAS started with."""
    if _host["threads"] is None:
        from minigan import threads   # threadpoolctl reads the BLAS library (done once)
        _host["threads"] = threads.threads_at_start()
    return _host["threads"]


def in_parts(xp, n, elements, work):
    """Run ``work(start, stop)`` on the items [start, stop) of ``n``, so that all are done.

    NumPy's BLAS runs a matrix product on every core, but NumPy's own loops and copies
    run on one. Work whose items are independent (a convolution's copies, one item per
    sample; batch norm's row-by-row passes and Adam's update, one item per row) can be
    split in parts and the parts run at once, one per thread: NumPy lets go of Python's
    lock inside its loops. Each part does the same arithmetic on the same numbers, so the
    result is the same, bit for bit, however many parts there are.

    On the host: up to :func:`get_host_threads` parts, each of at least
    ``SPLIT_MIN_ELEMENTS`` of the ``elements`` the work touches; this thread does the
    first part. On a device, one call: a GPU runs each operation in parallel already.
    """
    parts = 1
    if xp is numpy:
        parts = min(get_host_threads(), n, elements // SPLIT_MIN_ELEMENTS)
    if parts <= 1:
        work(0, n)
        return
    bounds = [n * k // parts for k in range(parts + 1)]
    pool = _thread_pool(parts - 1)
    others = [pool.submit(work, start, stop) for start, stop in zip(bounds[1:-1], bounds[2:])]
    work(bounds[0], bounds[1])
    for part in others:
        part.result()   # waits, and raises a part's error here


def _thread_pool(workers):
    """The pool of worker threads, made again after a fork (a child has none of them)."""
    if _host["pid"] != os.getpid() or _host["workers"] < workers:
        if _host["pool"] is not None and _host["pid"] == os.getpid():
            _host["pool"].shutdown(wait=False)   # a larger pool replaces it: let its threads go
        _host.update(pool=concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix="minigan"), workers=workers, pid=os.getpid())
    return _host["pool"]


# --- matrix products: a small one on one BLAS thread ------------------------------------------
# A product of at most this many multiply-adds (m k n for (m, k) @ (k, n)) runs on one thread.
ONE_THREAD_PRODUCT = 128 * 128 * 128


def matmul(a, b):
    """``xp.matmul(a, b)`` for operands of at least two axes; on the host, a product of at
    most ``ONE_THREAD_PRODUCT`` multiply-adds runs on one BLAS thread.

    OpenBLAS splits products as small as 64 x 128 x 128 over the cores. Timed alone, such
    a product is a little faster so; inside a training step it is slower: the cost is in
    the step around the products, so the bound was found by timing whole steps with the
    products up to each size on one thread (benchmarks/README.md, "Small products on one
    thread": what it buys the unrolled GAN and chapter 04, and what larger bounds cost).
    A small product on one thread also gives the same bits on any thread count. The count
    is set back at once, so the large products still use every thread. (The switch is
    process-wide: a product another Python thread ran at that moment would get one thread
    too; minigan runs its products from one thread.)
    """
    if type(a) is numpy.ndarray and a.shape[-2] * a.shape[-1] * b.shape[-1] <= ONE_THREAD_PRODUCT:
        get_threads, set_threads = _blas_thread_switch()
        if get_threads is not None:
            count = get_threads()
            if count > 1:
                set_threads(1)
                try:
                    return numpy.matmul(a, b)
                finally:
                    set_threads(count)
    return array_module(a).matmul(a, b)


@functools.lru_cache(maxsize=None)
def _blas_thread_switch():
    """OpenBLAS's get and set functions for NumPy's own BLAS, or (None, None) elsewhere.

    Found once, through threadpoolctl, then called directly (a fraction of a microsecond
    each). Only OpenBLAS, the library of NumPy's wheels, is switched: it is the one the
    rule above was measured on. NumPy's wheels rename its symbols (``scipy_`` in front,
    ``64_`` behind), so each spelling is tried.
    """
    import threadpoolctl
    openblas = threadpoolctl.ThreadpoolController().select(internal_api="openblas")
    for library in openblas.lib_controllers:
        if "numpy" not in library.filepath:
            continue
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            get = getattr(library.dynlib, f"{prefix}openblas_get_num_threads{suffix}", None)
            set_ = getattr(library.dynlib, f"{prefix}openblas_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                return get, set_
    return None, None


def manual_seed(seed):
    """Seed every generator minigan draws from, on every device, so runs reproduce."""
    _state["seed"] = int(seed)
    _state["rngs"] = {}


def rng():
    """The random generator of the current device (``numpy.random.Generator`` or CuPy's).

    Both offer ``standard_normal(size, dtype)``, ``random(size, dtype)`` and
    ``integers(low, high, size)``; minigan draws only through those.
    """
    device = _state["device"]
    if device not in _state["rngs"]:
        seed = _state["seed"]
        _state["rngs"][device] = _state["xp"].random.default_rng(seed)
    return _state["rngs"][device]


def get_rng_state():
    """The state of minigan's random generator on the current device, as plain JSON values.

    ``{"device": ..., "seed": ..., "generator": bit_generator.state or None}``; None
    means no number has been drawn on this device since the last ``manual_seed``.
    Restoring it with :func:`set_rng_state` makes the next draws repeat exactly, which
    is what lets a resumed training run continue bit for bit.
    """
    device = _state["device"]
    generator = _state["rngs"].get(device)
    return {"device": device, "seed": _state["seed"],
            "generator": None if generator is None else _bit_generator_state(generator)}


def set_rng_state(state):
    """Restore a state returned by :func:`get_rng_state` (on the device it was taken on)."""
    device = _state["device"]
    if state["device"] != device:
        raise ValueError(f"set_rng_state: the state was taken on {state['device']!r}, but the "
                         f"current device is {device!r}; their generators differ")
    _state["seed"], _state["rngs"] = state["seed"], {}   # as manual_seed(seed) does
    if state["generator"] is not None:
        generator = rng()
        _bit_generator_state(generator)   # fails clearly where the state cannot be set
        generator.bit_generator.state = state["generator"]


def _bit_generator_state(generator):
    # NumPy's Generator exposes its whole state as bit_generator.state (a dict of ints for
    # the default PCG64). CuPy's generator may not: it keeps its state on the GPU, and
    # without a GPU here we do not try harder than asking for the same attribute.
    state = getattr(getattr(generator, "bit_generator", None), "state", None)
    if state is None:
        raise RuntimeError(f"the random generator {type(generator).__name__} on "
                           f"{_state['device']!r} does not expose its state "
                           f"(bit_generator.state), so it cannot be saved or restored")
    return state


def set_device_from_environment():
    """Apply ``MINIGAN_DEVICE`` (default 'cpu'); called once when minigan is imported."""
    set_device(os.environ.get("MINIGAN_DEVICE", "cpu").strip().lower() or "cpu")


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory for the next allocation; True if it agreed.

    A training step allocates and frees the same large arrays every step: activations,
    im2col matrices, gradients. By default glibc gives blocks above 128 KiB (a bound it
    raises as it goes, up to 32 MiB) straight back to the kernel when they are freed,
    and trims the heap when more than that is free at its top. The next array of that
    size then faults its memory in again, one 4 KiB page at a time. On the DCGAN-28
    step (batch 64, 2 cores) that was about 9,400 page faults and 35-40 ms of system
    time in a step of 230-250 ms. With malloc's mmap threshold at 32 MiB (glibc's
    largest) and its trim threshold at 1 GiB, freed blocks stay in the heap for the
    next step: 61 faults and 185-190 ms per step. The price is that the process keeps
    its peak memory instead of returning it between steps, as PyTorch's does.

    ``import minigan`` calls this once; ``MINIGAN_KEEP_FREED_MEMORY=0`` in the
    environment leaves malloc as it was. Elsewhere than glibc it does nothing.
    """
    try:
        os.confstr("CS_GNU_LIBC_VERSION")   # present only under glibc
        import ctypes
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, ValueError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 * 2 ** 20) and mallopt(_M_TRIM_THRESHOLD, 2 ** 30))


def keep_freed_memory_from_environment():
    """Call :func:`keep_freed_memory` unless ``MINIGAN_KEEP_FREED_MEMORY`` is 0."""
    if os.environ.get("MINIGAN_KEEP_FREED_MEMORY", "1") != "0":
        return keep_freed_memory()
    return False
