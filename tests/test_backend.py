"""The backend's host settings: freed arrays are reused instead of faulted in again, and
work that splits over the host's threads (``in_parts``) covers every item once."""
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
