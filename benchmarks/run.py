"""Time minigan against PyTorch on the 28x28 DCGAN: whole training steps, each layer, memory.

    python benchmarks/run.py                       # batch 64 and 128, 2 threads, CPU
    python benchmarks/run.py --quick               # a smoke run: few rounds
    python benchmarks/run.py --batch 64 --rounds 50 --no-layers --json out.json
    python benchmarks/run.py --device cuda         # CuPy against PyTorch CUDA (eager)

Both frameworks run in this one process with the same number of threads, and are timed
in *paired rounds*: each round times one minigan call and one PyTorch call back to back
(the order alternating from round to round), so a slow spell of the machine hits both.
A figure is the median over the rounds; the ratio is minigan's median over PyTorch's.
The whole run is repeated in ``--repeats`` fresh processes (default 3), and the summary
gives each step's median over them with the smallest and largest run (``repeats.py``):
processes differ more than rounds do.
Memory is measured in one child process per framework (see ``memory.py``).

Without PyTorch the script times minigan alone and says that torch is missing.
See README.md beside this file for what every figure means.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOAD_NAMES = ["dcgan", "mlp", "toy", "unrolled", "wgan_gp"]   # workloads.py has the last four


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Time minigan against PyTorch on the 28x28 DCGAN (steps, layers, memory).")
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 128],
                        help="the DCGAN's batch sizes (default: 64 128)")
    parser.add_argument("--workloads", nargs="+", default=WORKLOAD_NAMES,
                        choices=WORKLOAD_NAMES,
                        help="what to time (default: all): the DCGAN in detail, then the MLP "
                             "GAN, the toy GAN, the unrolled GAN and the WGAN-GP critic "
                             "(workloads.py)")
    parser.add_argument("--rounds", type=int, default=30,
                        help="paired rounds per figure (default: 30)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed calls of each side before the rounds (default: 3)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for NumPy's BLAS and for PyTorch (default: 2)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cpu: NumPy vs PyTorch CPU; cuda: CuPy vs PyTorch CUDA eager")
    parser.add_argument("--retries", type=int, default=2,
                        help="times a figure is measured again when other processes used "
                             ">= 5%% of the CPUs meanwhile (default: 2)")
    parser.add_argument("--wait-idle", type=float, default=60, metavar="SECONDS",
                        help="before each attempt at a figure, wait up to this long for an "
                             "idle machine (default: 60; only with --retries > 0)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 5 rounds, 1 warm-up, 2 memory steps")
    parser.add_argument("--layers", action=argparse.BooleanOptionalAction, default=True,
                        help="time each layer's forward+backward (default: on)")
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                        help="measure peak memory in child processes (default: on)")
    parser.add_argument("--memory-steps", type=int, default=5,
                        help="measured steps in each memory child, after the warm-up")
    parser.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                        help="check minigan's layers and losses against PyTorch first")
    parser.add_argument("--no-torch", action="store_true",
                        help="time minigan alone even if PyTorch is installed")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fresh processes to measure in, each a whole run; the summary "
                             "gives the median over them and their range (default: 3; "
                             "see repeats.py)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure to PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.warmup, args.memory_steps, args.retries = 5, 1, 2, 0
        args.repeats = 1
    if args.rounds < 1 or args.threads < 1 or args.memory_steps < 1 or args.repeats < 1:
        parser.error("--rounds, --threads, --memory-steps and --repeats must be >= 1")
    if args.warmup < 0 or args.retries < 0 or args.wait_idle < 0:
        parser.error("--warmup, --retries and --wait-idle must be >= 0")
    return args


def configure_threads(threads):
    """Fix the thread counts; must run before numpy (or torch) is first imported.

    Each framework's idle threads otherwise busy-wait after its work and hold the cores
    the other framework's next call needs. OpenBLAS's spin for up to 2**28 cycles (PyTorch's
    next operation up to 1.6x slower); OPENBLAS_THREAD_TIMEOUT=16 puts them to sleep after
    2**16. PyTorch's OpenMP threads (GNU libgomp) spin 300,000 rounds, 8-11 ms of CPU after
    each of its steps, while minigan's step runs (its MLP step 9.7 ms alone, 15.4 ms between
    PyTorch's); GOMP_SPINCOUNT=10000 shortens that to a wait that leaves PyTorch's own step
    times as they were (benchmarks/README.md, "Both thread pools put to sleep").
    """
    if "numpy" in sys.modules:
        raise RuntimeError("configure_threads must run before numpy is imported")
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "16")
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)


def import_paths():
    """benchmarks/ for the helper modules, the repository root for a minigan not installed."""
    root = os.path.dirname(HERE)
    for path in (HERE, root):
        if path not in sys.path:
            sys.path.insert(0 if path == HERE else 1, path)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--memory-child"]:
        configure_threads(int(argv[4]))
        import_paths()
        import memory
        memory.child_main(argv[1:])
        return 0
    args = parse_args(argv)
    if args.repeats > 1:          # each repeat in a fresh process: see repeats.py
        import_paths()
        import repeats
        return repeats.run(os.path.abspath(__file__), argv, args)
    configure_threads(args.threads)
    import_paths()
    import bench
    return bench.run(args)


if __name__ == "__main__":
    sys.exit(main())
