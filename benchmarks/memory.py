"""Peak memory of training, measured in a child process per framework.

Memory is measured apart from timing, one fresh Python process per framework, so that
neither framework's allocations, caches or imported libraries count against the other.
The child imports its framework, builds the DCGAN and its optimizers, runs a few warm-up
steps, then a few measured steps, and prints one JSON line.

On the CPU the measure is the resident set size (RSS) from ``/proc/self/status``:

* ``footprint``: the peak RSS after the import minus the RSS right after the import.
  It counts everything training needs beyond the imported library: weights, gradients,
  Adam's moments, activations, temporaries, and what the allocator keeps cached. The
  library's own code and data (torch's import is a few hundred MiB, NumPy's tens) are
  left out, since they say nothing about training.
* ``step``: the peak RSS during the measured steps minus the RSS between steps after
  warm-up: what one step adds on top of what persists (activations and temporaries).
  The peak is reset before the measured steps by writing 5 to ``/proc/self/clear_refs``
  (Linux resets VmHWM to the current RSS); where that is refused, the lifetime peak
  (``ru_maxrss``) is used and the JSON says so.

On CUDA the measure is the bytes handed out by each framework's caching allocator (the
CUDA context, cuBLAS/cuDNN workspaces outside the allocator and cached-but-free blocks
are not counted): ``torch.cuda.max_memory_allocated`` for PyTorch, and for CuPy a
``cupy.cuda.MemoryHook`` that adds up what the memory pool hands out and takes back.
"""
import json
import resource
import sys

MIB = 2.0 ** 20


def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


class RSS:
    """Resident memory of this process (Linux)."""

    method = "VmHWM after clear_refs"

    def current(self):
        return _status_kib("VmRSS") * 1024

    def reset_peak(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            self.method = "ru_maxrss (lifetime peak; clear_refs refused)"

    def peak(self):
        if self.method.startswith("ru_maxrss"):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return _status_kib("VmHWM") * 1024


class TorchCUDA:
    method = "torch.cuda.max_memory_allocated"

    def __init__(self, torch):
        self.torch = torch

    def current(self):
        return self.torch.cuda.memory_allocated()

    def reset_peak(self):
        self.torch.cuda.reset_peak_memory_stats()

    def peak(self):
        return self.torch.cuda.max_memory_allocated()


def cupy_pool_meter():
    """A meter of the bytes CuPy's memory pool has handed out (and not taken back)."""
    import cupy

    class PoolMeter(cupy.cuda.MemoryHook):
        name = "minigan-benchmark-pool-meter"
        method = "cupy.cuda.MemoryHook on the memory pool (malloc - free)"

        def __init__(self):
            self.used = self.high = 0

        def malloc_postprocess(self, **kwargs):
            self.used += kwargs["mem_size"]
            self.high = max(self.high, self.used)

        def free_postprocess(self, **kwargs):
            self.used -= kwargs["mem_size"]

        def current(self):
            return self.used

        def reset_peak(self):
            self.high = self.used

        def peak(self):
            return self.high

    return PoolMeter()


def measure(fw_name, device, batch, threads, warmup, steps, workload="dcgan"):
    """Run in the child: build, warm up, measure; returns a dict of byte counts.

    ``workload`` is "dcgan" (``frameworks.Training``) or a name in ``workloads.WORKLOADS``.
    """
    import numpy  # noqa: F401  (both sides use it; its import is not training's memory)

    from frameworks import Minigan, Torch, Training
    from workloads import WORKLOADS, Step
    hook = None
    if device == "cuda" and fw_name == "minigan":
        hook = cupy_pool_meter()
        hook.__enter__()   # installed before minigan allocates anything
    fw = (Minigan if fw_name == "minigan" else Torch)(device, threads)
    meter = RSS() if device == "cpu" else (hook or TorchCUDA(fw.torch))
    after_import = meter.current()
    meter.reset_peak()
    training = (Training(fw, batch) if workload == "dcgan"
                else Step(fw, WORKLOADS[workload], batch))
    for _ in range(warmup):
        training.step()
    fw.sync()
    build_peak = meter.peak()   # the model build, the optimizers' state, the warm-up
    between_steps = meter.current()
    meter.reset_peak()
    for _ in range(steps):
        training.step()
    fw.sync()
    step_peak = meter.peak()
    peak = max(build_peak, step_peak)
    return {"framework": fw_name, "workload": workload, "device": device, "batch": batch,
            "method": meter.method,
            "warmup_steps": warmup, "measured_steps": steps,
            "after_import_bytes": after_import, "between_steps_bytes": between_steps,
            "peak_bytes": peak,
            "footprint_bytes": peak - after_import,
            "persistent_bytes": between_steps - after_import,
            "step_bytes": step_peak - between_steps}


def child_main(argv):
    """``run.py --memory-child FW DEVICE BATCH THREADS WARMUP STEPS [WORKLOAD]`` lands here."""
    fw_name, device, batch, threads, warmup, steps = argv[:6]
    workload = argv[6] if len(argv) > 6 else "dcgan"
    result = measure(fw_name, device, int(batch), int(threads), int(warmup), int(steps),
                     workload)
    sys.stdout.write("MEMORY-RESULT " + json.dumps(result) + "\n")
