"""The benchmark proper: timing in paired rounds, memory children, the report.

Imported by ``run.py`` only after the thread variables are set.
"""
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import traceback

import numpy

import dcgan
from frameworks import LayerCase, Minigan, Torch, Training

MIB = 2.0 ** 20
TORCH_MISSING = ("PyTorch is not installed: timing minigan alone. Install the reference with "
                 "`pip install -e .[bench]` or `pip install torch==2.13.0`.")


# --- timing -----------------------------------------------------------------------------
def paired_rounds(calls, rounds, warmup):
    """Time each of ``calls`` (name -> (function, sync)) once per round, in turn.

    The order alternates between rounds so neither side always runs right after the
    other. Each call is bracketed by its framework's ``sync`` (a no-op on the CPU, a
    device synchronisation on CUDA) so the clock reads finished work. Returns
    name -> list of seconds, one per round.
    """
    names = list(calls)
    for _ in range(warmup):
        for name in names:
            function, sync = calls[name]
            function()
            sync()
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            function, sync = calls[name]
            sync()
            start = time.perf_counter()
            function()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


def summary(seconds):
    """Median and quartiles in milliseconds."""
    ms = numpy.asarray(seconds) * 1e3
    p25, median, p75 = numpy.percentile(ms, [25, 50, 75])
    return {"median_ms": float(median), "p25_ms": float(p25), "p75_ms": float(p75),
            "rounds": len(ms)}


def compare(times):
    """Summaries per framework, plus both ratios when both frameworks were timed."""
    result = {name: summary(t) for name, t in times.items()}
    if "minigan" in times and "torch" in times:
        result["ratio"] = result["minigan"]["median_ms"] / result["torch"]["median_ms"]
        per_round = numpy.asarray(times["minigan"]) / numpy.asarray(times["torch"])
        result["median_round_ratio"] = float(numpy.median(per_round))
    return result


def describe(error):
    """An exception as one line, with where in minigan (or elsewhere) it was raised."""
    frames = traceback.extract_tb(error.__traceback__)
    where = ""
    if frames:
        frame = frames[-1]
        where = f" at {os.path.relpath(frame.filename)}:{frame.lineno} ({frame.name})"
    return f"{type(error).__name__}: {error}{where}"


def attempt(problems, label, function, *args):
    """``function(*args)``, or None with the error recorded in ``problems``."""
    try:
        return function(*args)
    except Exception as error:   # a missing op in minigan must not stop the whole report
        problems.append(f"{label}: {describe(error)}")
        return None


class ForeignLoad:
    """How much of the machine other processes used while we measured.

    The busy time of all CPUs (``/proc/stat``) minus this process's and its children's
    CPU time, as a fraction of wall time x cores. Timings are trustworthy only when it
    is near zero: on a 2-core machine a test suite running beside the benchmark takes a
    core from whichever framework is multithreading at that moment.
    """

    def __init__(self):
        self.start = self._read()

    @staticmethod
    def _read():
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(fields[:3]) + sum(fields[5:8])   # user nice system, irq softirq steal
        times = os.times()
        ours = times.user + times.system + times.children_user + times.children_system
        return busy / os.sysconf("SC_CLK_TCK"), ours, time.perf_counter()

    def fraction(self):
        end = self._read()
        if self.start is None or end is None:
            return None
        busy, ours, wall = (b - a for a, b in zip(self.start, end))
        return max(0.0, (busy - ours) / (wall * (os.cpu_count() or 1)))


# --- one batch size ---------------------------------------------------------------------
def bench_batch(frameworks, batch, args, problems):
    mg = frameworks.get("minigan")
    th = frameworks.get("torch")
    out = {"batch": batch}

    if args.check and mg and th:
        import check
        out["step_check"] = attempt(problems, f"batch {batch}: check step", check.check_step,
                                    mg, th, batch)

    calls = {}
    for name, fw in frameworks.items():
        training = attempt(problems, f"batch {batch}: {name} step setup", Training, fw, batch)
        if training is not None:
            calls[name] = (training.step, fw.sync)
    out["step"] = timed(calls, args, problems, f"batch {batch}: step")

    out["layers"] = []
    for layer in (dcgan.LAYERS if args.layers else []):
        row = {"layer": layer.name, "per_step": layer.per_step}
        if args.check and mg and th:
            import check
            row["check"] = attempt(problems, f"batch {batch}: check {layer.name}",
                                   check.check_layer, mg, th, layer, batch)
        calls = {}
        for name, fw in frameworks.items():
            case = attempt(problems, f"batch {batch}: {name} {layer.name} setup",
                           LayerCase, fw, layer, batch)
            if case is not None:
                calls[name] = (case.run, fw.sync)
        row.update(timed(calls, args, problems, f"batch {batch}: {layer.name}"))
        out["layers"].append(row)

    if args.memory:
        memory = {name: child_memory(name, batch, args, problems) for name in frameworks}
        if memory.get("minigan") and memory.get("torch"):
            for key in ("footprint", "persistent", "step"):
                reference = memory["torch"][key + "_bytes"]
                memory[key + "_ratio"] = (memory["minigan"][key + "_bytes"] / reference
                                          if reference > 0 else None)
        out["memory"] = memory
    return out


def timed(calls, args, problems, label):
    """Paired rounds of ``calls``, summarised; a side that raises is reported and dropped."""
    if not calls:
        return {}
    try:
        return timed_on_idle_machine(calls, args)
    except Exception as error:
        # find which side fails: run each alone once
        for name, (function, _) in list(calls.items()):
            try:
                function()
            except Exception as own:
                problems.append(f"{label}: {name} failed: {describe(own)}")
                del calls[name]
        if len(calls) == 1:
            return timed_on_idle_machine(calls, args)
        if calls:
            problems.append(f"{label}: {describe(error)}")
        return {}


BUSY = 0.05   # other processes' share of the CPUs above which a figure is measured again


def timed_on_idle_machine(calls, args):
    """The paired rounds, measured again (up to ``--retries`` times) if the machine was busy.

    Each attempt records the share of the CPUs other processes used meanwhile; before
    each attempt the machine is given up to ``--wait-idle`` seconds to quieten down. The
    least disturbed attempt is kept, with its ``foreign_load``; ``attempts`` counts them all.
    """
    best = None
    for attempt_number in range(1, args.retries + 2):
        if args.retries:
            wait_until_idle(args.wait_idle)
        load = ForeignLoad()
        result = compare(paired_rounds(calls, args.rounds, args.warmup))
        result["foreign_load"] = load.fraction()
        if best is None or (result["foreign_load"] or 0) < (best["foreign_load"] or 0):
            best = result
        if result["foreign_load"] is None or result["foreign_load"] < BUSY:
            break
    best["attempts"] = attempt_number
    return best


def wait_until_idle(limit_s):
    """Sleep in half-second looks until other processes use < BUSY of the CPUs (or time is up)."""
    deadline = time.perf_counter() + limit_s
    while time.perf_counter() < deadline:
        load = ForeignLoad()
        time.sleep(0.5)
        fraction = load.fraction()
        if fraction is None or fraction < BUSY:
            return


def child_memory(name, batch, args, problems, workload="dcgan"):
    command = [sys.executable, os.path.join(os.path.dirname(__file__), "run.py"),
               "--memory-child", name, args.device, str(batch), str(args.threads),
               str(max(args.warmup, 1)), str(args.memory_steps), workload]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    for line in done.stdout.splitlines():
        if line.startswith("MEMORY-RESULT "):
            return json.loads(line[len("MEMORY-RESULT "):])
    tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    problems.append(f"{workload} batch {batch}: {name} memory child exited "
                    f"{done.returncode}: {tail}")
    return None


# --- the other workloads -------------------------------------------------------------------
def bench_workload(frameworks, workload, args, problems):
    """One workload of ``workloads.py``: agreement check, paired-round step times, memory."""
    from workloads import Step, check_workload
    mg, th = frameworks.get("minigan"), frameworks.get("torch")
    batch, label = workload.batch, f"{workload.name} batch {workload.batch}"
    out = {"workload": workload.name, "title": workload.title, "batch": batch,
           "target": workload.target}
    if args.check and mg and th:
        out["check"] = attempt(problems, f"{label}: check", check_workload, mg, th, workload,
                               batch)
    calls = {}
    for name, fw in frameworks.items():
        step = attempt(problems, f"{label}: {name} setup", Step, fw, workload, batch)
        if step is not None:
            calls[name] = (step.step, fw.sync)
    out["step"] = timed(calls, args, problems, f"{label}: step")
    if args.memory:
        memory = {name: child_memory(name, batch, args, problems, workload.name)
                  for name in frameworks}
        if memory.get("minigan") and memory.get("torch"):
            reference = memory["torch"]["footprint_bytes"]
            memory["footprint_ratio"] = (memory["minigan"]["footprint_bytes"] / reference
                                         if reference > 0 else None)
        out["memory"] = memory
    return out


def print_workloads(rows, args, out=sys.stdout):
    print(f"\nother workloads: medians of {args.rounds} paired rounds, in ms; ratio = minigan "
          f"median / torch median; memory = minigan's training footprint / torch's", file=out)
    print(f"{'':58}{'batch':>6}{'minigan':>10}{'torch':>10}{'ratio':>8}{'target':>8}"
          f"{'memory':>8}{'check':>9}", file=out)
    for row in rows:
        memory = (row.get("memory") or {}).get("footprint_ratio")
        print(f"{row['title']:58}{row['batch']:6d}{fmt_ms(row['step'], 'minigan')}"
              f"{fmt_ms(row['step'], 'torch')}{fmt_ratio(row['step'])}"
              f"{'<=' + format(row['target'], '.1f') + 'x':>8}"
              f"{(format(memory, '.2f') + 'x') if memory else '-':>8}"
              f"{fmt_err(row.get('check'))}", file=out)


# --- the machine --------------------------------------------------------------------------
def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_features():
    """The vector extensions that decide BLAS and oneDNN kernels (from /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_bf16",
                                                "amx_tile") if f in flags)
    except OSError:
        pass
    return ""


def blas_description():
    """NumPy's BLAS and the threads it will use, as seen by threadpoolctl when present."""
    try:
        import threadpoolctl
        pools = [p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            # architecture: the kernels OpenBLAS chose (Haswell = AVX2, SkylakeX = AVX-512)
            return ", ".join(f"{p['internal_api']} {p.get('version')} "
                             f"({p['num_threads']} threads, {p.get('threading_layer')}, "
                             f"{p.get('architecture', '?')} kernels)"
                             for p in pools)
    except ImportError:
        pass
    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return (f"{blas['name']} {blas.get('version', '')} "
                f"(threads from OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')})")
    except Exception:
        return "unknown BLAS"


def source_of(package):
    """Where ``package`` was imported from, with the git commit there (and '+dirty')."""
    folder = os.path.dirname(os.path.dirname(os.path.abspath(package.__file__)))
    try:
        commit = subprocess.run(["git", "-C", folder, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", folder, "status", "--porcelain", "-uno", "--",
                                package.__name__], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return folder
    if commit.returncode != 0:
        return folder
    return f"{folder} at {commit.stdout.strip()}" + ("+dirty" if dirty.stdout.strip() else "")


def machine(args, frameworks):
    info = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "cpu": cpu_model(), "cpu_features": cpu_features(), "cores": os.cpu_count(),
            "threads": args.threads, "python": platform.python_version(),
            "platform": platform.platform(), "numpy": numpy.__version__,
            "blas": blas_description(),
            "OPENBLAS_THREAD_TIMEOUT": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
            "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT"),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    if "minigan" in frameworks:
        info["minigan"] = frameworks["minigan"].version
        info["minigan_source"] = source_of(frameworks["minigan"].mg)
    if "torch" in frameworks:
        torch = frameworks["torch"].torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    if args.device == "cuda":
        if "torch" in frameworks:
            info["gpu"] = frameworks["torch"].torch.cuda.get_device_name()
        if "minigan" in frameworks:
            import cupy
            info["cupy"] = cupy.__version__
            name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
            info.setdefault("gpu", name.decode() if isinstance(name, bytes) else name)
    return info


# --- the report ---------------------------------------------------------------------------
def fmt_ms(entry, name):
    return f"{entry[name]['median_ms']:10.3f}" if name in entry else f"{'-':>10}"


def fmt_ratio(entry):
    """The ratio, with '*' where other processes used >= BUSY of the CPUs meanwhile."""
    if "ratio" not in entry:
        return f"{'-':>8}"
    busy = (entry.get("foreign_load") or 0) >= BUSY
    return f"{entry['ratio']:7.2f}" + ("*" if busy else "x")


def lost(entry, per_step):
    """x/step * (minigan - torch) in ms: how much slower the layer makes minigan's step."""
    if "minigan" not in entry or "torch" not in entry:
        return f"{'-':>10}"
    extra = per_step * (entry["minigan"]["median_ms"] - entry["torch"]["median_ms"])
    return f"{extra:10.1f}"


def fmt_err(value):
    return f"{value:9.1e}" if isinstance(value, float) else f"{'-':>9}"


EPOCH_IMAGES = 50_000   # Fashion-MNIST's training split (minigan.data.load(..., "train"))


def print_epoch(step, batch, out):
    """One epoch's wall time, as the median step times the steps in an epoch (no data loading)."""
    steps = EPOCH_IMAGES // batch
    times = [f"{name} {step[name]['median_ms'] * steps / 1000:.0f} s"
             for name in ("minigan", "torch") if name in step]
    if times:
        print(f"one epoch ({EPOCH_IMAGES:,} images = {steps} steps of {batch}, from the step "
              f"median): " + ", ".join(times), file=out)


def print_batch(result, args, out=sys.stdout):
    batch, step = result["batch"], result["step"]
    mg_step = step.get("minigan", {}).get("median_ms")
    print(f"\nbatch {batch}: medians of {args.rounds} paired rounds, in ms; "
          f"ratio = minigan median / torch median", file=out)
    figures = [step] + result["layers"]
    loads = [f["foreign_load"] for f in figures if f.get("foreign_load") is not None]
    again = sum(1 for f in figures if f.get("attempts", 1) > 1)
    if loads:
        busy = sum(1 for load in loads if load >= BUSY)
        print(f"other processes used at most {100 * max(loads):.0f}% of the CPUs during a "
              f"figure; {again} figure(s) measured again"
              + (f"; {busy} still disturbed (marked *)" if busy else ""), file=out)
    header = (f"{'':36}{'minigan':>10}{'torch':>10}{'ratio':>8}{'x/step':>8}"
              f"{'mg share':>9}{'check':>9}")
    print(header, file=out)
    print(f"{'full step (D update + G update)':36}{fmt_ms(step, 'minigan')}"
          f"{fmt_ms(step, 'torch')}{fmt_ratio(step)}{'':8}{'':9}{lost(step, 1)}"
          f"{fmt_err(result.get('step_check'))}", file=out)
    for row in result["layers"]:
        share = "-"
        if mg_step and "minigan" in row:
            share = f"{100 * row['per_step'] * row['minigan']['median_ms'] / mg_step:.1f}%"
        print(f"{row['layer']:36}{fmt_ms(row, 'minigan')}{fmt_ms(row, 'torch')}"
              f"{fmt_ratio(row)}{row['per_step']:8d}{share:>9}{lost(row, row['per_step'])}"
              f"{fmt_err(row.get('check'))}",
              file=out)
    print_epoch(step, batch, out)
    memory = result.get("memory")
    if not memory:
        return
    mg, th = memory.get("minigan"), memory.get("torch")
    some = mg or th
    if not some:
        return
    unit = "RSS" if args.device == "cpu" else "allocator bytes"
    print(f"\nbatch {batch} memory, MiB ({unit}, one child process each, "
          f"{some['warmup_steps']} warm-up + {some['measured_steps']} measured steps)", file=out)
    print(f"{'':36}{'minigan':>10}{'torch':>10}{'ratio':>8}", file=out)
    rows = (("footprint", "training footprint (peak - import)"),
            ("persistent", "  of which kept between steps"),
            ("step", "  added during a step"))
    for key, label in rows:
        cells = "".join(f"{side[key + '_bytes'] / MIB:10.1f}" if side else f"{'-':>10}"
                        for side in (mg, th))
        ratio = memory.get(key + "_ratio") if key == "footprint" else None
        print(f"{label:36}{cells}" + (f"{ratio:7.2f}x" if ratio else ""), file=out)
    print("(only the footprint compares: how it splits depends on what each allocator keeps "
          "between steps)", file=out)


def print_header(info, args, torch_note, out=sys.stdout):
    against = "PyTorch CUDA (eager)" if args.device == "cuda" else "PyTorch CPU (eager)"
    print(f"minigan benchmark: {', '.join(args.workloads)}; minigan vs {against}, float32",
          file=out)
    print(f"date     {info['date']}", file=out)
    print(f"machine  {info['cpu']} ({info['cpu_features']}), {info['cores']} cores"
          + (f"; GPU {info['gpu']}" if 'gpu' in info else ""), file=out)
    threads = f"threads  {info['threads']} requested; NumPy BLAS: {info['blas']}"
    if "torch_threads" in info:
        threads += f"; torch: {info['torch_threads']}"
    print(threads, file=out)
    versions = [f"python {info['python']}", f"numpy {info['numpy']}"]
    versions += [f"{k} {info[k]}" for k in ("cupy", "minigan", "torch") if k in info]
    print("versions " + ", ".join(versions), file=out)
    if "minigan_source" in info:
        print(f"minigan  {info['minigan_source']}", file=out)
    print(f"timing   {args.rounds} paired rounds (order alternating), {args.warmup} warm-up; "
          f"OPENBLAS_THREAD_TIMEOUT={info['OPENBLAS_THREAD_TIMEOUT']}, "
          f"GOMP_SPINCOUNT={info['GOMP_SPINCOUNT']}"
          + (f", OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}" if info["OPENBLAS_CORETYPE"]
             else ""), file=out)
    if torch_note:
        print(f"note     {torch_note}", file=out)


def run(args):
    frameworks, problems = {}, []
    mg = attempt(problems, "minigan import", Minigan, args.device, args.threads)
    if mg is not None:
        frameworks["minigan"] = mg
    torch_note = None
    if args.no_torch:
        torch_note = "--no-torch: timing minigan alone."
    else:
        try:
            import torch  # noqa: F401
        except ImportError:
            torch_note = TORCH_MISSING
        else:
            th = attempt(problems, "torch setup", Torch, args.device, args.threads)
            if th is not None:
                frameworks["torch"] = th
    if not frameworks:
        print("\n".join(["nothing to time:"] + problems), file=sys.stderr)
        return 1

    info = machine(args, frameworks)
    print_header(info, args, torch_note)
    results = []
    for batch in (args.batch if "dcgan" in args.workloads else []):
        result = bench_batch(frameworks, batch, args, problems)
        print_batch(result, args)
        sys.stdout.flush()
        results.append(result)
    from workloads import WORKLOADS
    others = [bench_workload(frameworks, WORKLOADS[name], args, problems)
              for name in args.workloads if name != "dcgan"]
    if others:
        print_workloads(others, args)

    if results:
        print("\nx/step: passes through the layer in one step; mg share: x/step * layer / step, "
              "minigan's\nestimated share of its step; lost/step: x/step * (minigan - torch), "
              "ms; check: largest\nrelative error against PyTorch.")
    if problems:
        print("\nproblems:")
        for line in problems:
            print(f"  {line}")
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        with open(args.json, "w") as f:
            json.dump({"machine": info, "settings": settings, "torch_note": torch_note,
                       "results": results, "workloads": others, "problems": problems}, f,
                      indent=2)
        print(f"\nwrote {args.json}")
    return 0
