"""The backend's host settings: freed arrays are reused instead of faulted in again, work
that splits over the host's threads (``in_parts``) covers every item once, and a small
matrix product runs on one BLAS thread (``matmul``) with the count set back after."""
import os
import subprocess
import sys
import threading

import numpy
import pytest

from minigan import backend

# One "training step": forty 1 MiB arrays written (so their pages are faulted in) and
# all freed, as a step's activations are; ten steps after a first one.
_FAULTS = """
import resource
import numpy
import minigan
def step():
    arrays = [numpy.ones(2 ** 18, dtype=numpy.float32) for _ in range(40)]
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(keep):
    env = {**os.environ, "MINIGAN_KEEP_FREED_MEMORY": keep}
    out = subprocess.run([sys.executable, "-c", _FAULTS], env=env, capture_output=True,
                         text=True, check=True).stdout
    return int(out.split()[-1])


@pytest.mark.skipif(not hasattr(os, "confstr") or "CS_GNU_LIBC_VERSION" not in os.confstr_names,
                    reason="keep_freed_memory acts on glibc's malloc only")
def test_freed_arrays_are_reused_without_new_page_faults():
    """With minigan's setting (the default) ten more steps reuse the first step's memory;
    with MINIGAN_KEEP_FREED_MEMORY=0 glibc returns it to the kernel after each step and
    every step faults its 40 MiB in again (measured: 0 against 102,053 faults)."""
    kept, returned = _page_faults("1"), _page_faults("0")
    assert returned > 10 * 40 * 256 // 2, returned      # 256 pages of 4 KiB per MiB
    assert kept < returned / 100, (kept, returned)


# --- the host's threads: backend.in_parts ----------------------------------------------------
def _record_parts(monkeypatch, threads, n, elements, xp=numpy, minimum=None):
    """Run in_parts with a work that records its (start, stop) and its thread."""
    monkeypatch.setitem(backend._host, "threads", threads)
    if minimum is not None:
        monkeypatch.setattr(backend, "SPLIT_MIN_ELEMENTS", minimum)
    parts, lock = [], threading.Lock()

    def work(start, stop):
        with lock:
            parts.append((start, stop, threading.get_ident()))

    backend.in_parts(xp, n, elements, work)
    return sorted(parts)


def test_in_parts_covers_every_item_once_on_several_threads(monkeypatch):
    """Three parts (2, 2, 3 items): the caller's thread does the first, pool threads the rest."""
    parts = _record_parts(monkeypatch, threads=3, n=7, elements=7, minimum=1)
    assert [(a, b) for a, b, _ in parts] == [(0, 2), (2, 4), (4, 7)]
    assert parts[0][2] == threading.get_ident()
    assert threading.get_ident() not in {thread for _, _, thread in parts[1:]}


def test_in_parts_runs_small_work_in_one_call(monkeypatch):
    """Parts below SPLIT_MIN_ELEMENTS are not worth a thread: 2 threads, but 1.5 parts' worth."""
    elements = backend.SPLIT_MIN_ELEMENTS * 3 // 2
    assert [(a, b) for a, b, _ in _record_parts(monkeypatch, 2, 64, elements)] == [(0, 64)]
    assert len(_record_parts(monkeypatch, 2, 64, 2 * backend.SPLIT_MIN_ELEMENTS)) == 2


def test_in_parts_runs_one_call_on_a_device_or_one_thread(monkeypatch):
    class Device:   # any array module but NumPy's: a GPU parallelises each operation itself
        pass
    assert len(_record_parts(monkeypatch, 4, 8, 8, xp=Device, minimum=1)) == 1
    assert len(_record_parts(monkeypatch, 1, 8, 8, minimum=1)) == 1


def test_in_parts_raises_a_part_s_error(monkeypatch):
    monkeypatch.setitem(backend._host, "threads", 2)
    monkeypatch.setattr(backend, "SPLIT_MIN_ELEMENTS", 1)

    def work(start, stop):
        if start > 0:
            raise ValueError(f"part {start}:{stop} failed")

    with pytest.raises(ValueError, match="part 2:4 failed"):
        backend.in_parts(numpy, 4, 4, work)


def test_set_host_threads_refuses_zero():
    with pytest.raises(ValueError, match="set_host_threads: count must be at least 1, got 0"):
        backend.set_host_threads(0)


# --- matmul: a small product on one BLAS thread --------------------------------------------
def _fake_blas(monkeypatch, count):
    """A stand-in for OpenBLAS's thread switch that records every count it is set to."""
    state = {"count": count, "set": []}

    def set_threads(n):
        state["set"].append(n)
        state["count"] = n

    switch = (lambda: state["count"], set_threads)
    monkeypatch.setattr(backend, "_blas_thread_switch", lambda: switch)
    return state


@pytest.mark.parametrize("shapes, switched", [
    (((128, 128), (128, 128)), True),     # 128 x 128 x 128: the largest on one thread
    (((5, 64, 128), (5, 128, 128)), True),  # stacked: each product of the stack counts alone
    (((128, 129), (129, 128)), False),    # one more column of the inner dimension: all threads
    (((3136, 512), (512, 64)), False),    # a DCGAN convolution's product
])
def test_matmul_runs_a_small_product_on_one_thread_and_sets_the_count_back(monkeypatch, shapes,
                                                                            switched):
    state = _fake_blas(monkeypatch, count=2)
    a, b = (numpy.ones(shape, numpy.float32) for shape in shapes)
    numpy.testing.assert_array_equal(backend.matmul(a, b), a @ b)
    assert state["set"] == ([1, 2] if switched else [])
    assert state["count"] == 2


def test_matmul_leaves_one_thread_alone_and_sets_the_count_back_after_an_error(monkeypatch):
    state = _fake_blas(monkeypatch, count=1)
    a = numpy.ones((4, 4), numpy.float32)
    backend.matmul(a, a)
    assert state["set"] == []
    state["count"] = 3
    with pytest.raises(ValueError):
        backend.matmul(a, numpy.ones((5, 4), numpy.float32))   # the shapes do not match
    assert state["set"] == [1, 3] and state["count"] == 3


def test_matmul_switches_numpy_s_own_blas_while_the_product_runs(monkeypatch):
    """With the real OpenBLAS: one thread inside a small product, the count as before after."""
    get_threads, set_threads = backend._blas_thread_switch()
    if get_threads is None:
        pytest.skip("NumPy's BLAS here is not OpenBLAS: matmul leaves its threads alone")
    seen = []
    real_matmul = numpy.matmul

    def product(a, b):
        seen.append(get_threads())
        return real_matmul(a, b)

    before = get_threads()
    set_threads(2)
    try:
        monkeypatch.setattr(numpy, "matmul", product)
        a = numpy.ones((64, 128), numpy.float32)
        backend.matmul(a, a.T)
        assert seen == [1] and get_threads() == 2
    finally:
        set_threads(before)


def test_matmul_on_a_device_array_uses_the_device_module(monkeypatch):
    state = _fake_blas(monkeypatch, count=2)

    class DeviceArray:   # a small array that lives off the host, as a CuPy array does
        shape = (2, 2)

    class Device:        # its array module, whose own matmul runs the product
        @staticmethod
        def matmul(a, b):
            return "the device's product"

    monkeypatch.setattr(backend, "array_module", lambda array: Device)
    assert backend.matmul(DeviceArray(), DeviceArray()) == "the device's product"
    assert state["set"] == []
