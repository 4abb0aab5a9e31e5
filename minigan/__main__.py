"""``python -m minigan sample CHECKPOINT --n 64 --out grid.png``: draw from a trained generator.

The checkpoint's ``spec`` says how to rebuild the generator (``minigan.models.build``);
its weights are loaded in, and n samples of z ~ N(0, I) go through it in evaluation
mode (batch norm uses its running statistics) to make one image grid.
"""
import argparse
import os
import sys

import minigan
from minigan import models
from minigan.checkpoint import CheckpointError, load_checkpoint
from minigan.training import save_image_grid

# Headless: write files, open no window. Set before matplotlib is first imported
# (lazily, by save_image_grid).
os.environ.setdefault("MPLBACKEND", "Agg")


def sample(checkpoint, n, out, seed, columns):
    """Write a grid of ``n`` samples of the generator saved in ``checkpoint`` to ``out``."""
    parts = load_checkpoint(checkpoint)
    spec = parts.get("spec")
    if not isinstance(spec, dict) or "z_dim" not in spec or "G" not in parts:
        raise CheckpointError(f"{checkpoint} holds no generator spec and weights ('spec', 'G'); "
                              f"was it written by minigan.training.Trainer with spec=...?")
    generator = models.build(spec)
    generator.load_state_dict(parts["G"])
    generator.eval()
    minigan.manual_seed(seed)
    with minigan.no_grad():
        images = generator(minigan.randn(n, spec["z_dim"]))
    return save_image_grid(out, images, columns=columns)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minigan",
                                     description="Tools for minigan's training runs.")
    commands = parser.add_subparsers(dest="command", required=True)
    draw = commands.add_parser("sample",
                               help="write a grid of samples from a checkpoint's generator")
    draw.add_argument("checkpoint", help="a checkpoint file, e.g. runs/.../latest.ckpt")
    draw.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    draw.add_argument("--out", default="samples.png", help="the PNG to write (default samples.png)")
    draw.add_argument("--seed", type=int, default=0, help="seed of z (default 0)")
    draw.add_argument("--columns", type=int, default=8, help="images per row (default 8)")
    args = parser.parse_args(argv)

    try:
        path = sample(args.checkpoint, args.n, args.out, args.seed, args.columns)
    except (FileNotFoundError, CheckpointError) as error:
        print(f"python -m minigan sample: {error}", file=sys.stderr)
        return 1
    print(f"{args.n} samples written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
