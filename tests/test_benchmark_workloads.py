"""The benchmarks' workloads run on minigan, on whatever device the suite runs on.

benchmarks/run.py times these steps against PyTorch, which CI does not install; so CI
runs their minigan side here instead: a few steps of each at a small batch, with finite
losses that move. Under ``MINIGAN_DEVICE=strict`` (as CI runs the fast tests a second
time) this is the benchmarks' check on the strict array module: a step that copies to
the host, mixes in a NumPy array or branches on an array fails here, and the copies
per step are counted.
"""
import math
import sys

import numpy as np
import pytest

import minigan
from minigan import backend
from tests.test_command_lines import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from frameworks import Minigan, Training  # noqa: E402
from workloads import MLP_WORKLOADS, WORKLOADS, Step, narrow  # noqa: E402

BATCH = 8
STEPS = 3


def losses_of(step):
    """Run ``STEPS`` steps; the losses of each, copied to the host once per step."""
    history = []
    for _ in range(STEPS):
        losses = step()
        history.append([float(minigan.backend.to_numpy(loss.data)) for loss in losses])
    return np.array(history)


def transfers():
    """Host copies so far, on the strict device (None on the others: nothing counts them)."""
    module = backend.get_array_module()
    count = getattr(module, "transfer_count", None)
    return count() if count else None


@pytest.mark.parametrize("name", ["dcgan"] + sorted(WORKLOADS))
def test_each_workload_trains_on_minigan(name):
    framework = Minigan()
    if name == "dcgan":
        step = Training(framework, BATCH).step
    else:
        step = Step(framework, WORKLOADS[name], BATCH).step
    step()                                   # the first step builds the optimizers' state
    before = transfers()
    step()
    copies = None if before is None else transfers() - before
    history = losses_of(step)
    assert np.isfinite(history).all(), f"{name}: a loss is not finite: {history.tolist()}"
    first, last = history[0], history[-1]
    assert not np.allclose(first, last), (
        f"{name}: the losses did not move over {STEPS} steps ({first} -> {last}): the "
        f"optimizers do not update the weights")
    # A step itself copies nothing to the host: the losses come back as tensors, and only
    # the caller (logging) copies them.
    assert copies in (None, 0), f"{name}: one step made {copies} copies to the host"
    assert all(math.isfinite(v) for v in first)


def test_a_target_in_range_is_checked_once_and_a_new_one_again():
    """The check of BCE's targets copies each target array's range to the host once; an
    out-of-range array is refused however many in-range arrays came before it."""
    F = minigan.nn.functional
    logits = minigan.tensor(np.zeros((4, 1), np.float32))
    ones = minigan.tensor(backend.get_array_module().ones((4, 1), np.float32))
    F.binary_cross_entropy_with_logits(logits, ones)
    before = transfers()
    for _ in range(3):
        F.binary_cross_entropy_with_logits(logits, ones)
    assert before is None or transfers() == before, "a checked target was copied again"
    twos = minigan.tensor(backend.get_array_module().full((4, 1), 2.0, np.float32))
    with pytest.raises(ValueError, match=r"target must lie in \[0, 1\]"):
        F.binary_cross_entropy_with_logits(logits, twos)
    with pytest.raises(ValueError, match=r"target must lie in \[0, 1\]"):
        F.binary_cross_entropy_with_logits(logits, twos)   # refused again, never remembered


def operations_of(step, monkeypatch):
    """The operations one step applies, counted by Function class (after a first step)."""
    step()
    counts = {}
    apply = minigan.autograd.Function.apply.__func__

    def counting(cls, *inputs, **params):
        counts[cls.__name__] = counts.get(cls.__name__, 0) + 1
        return apply(cls, *inputs, **params)

    with monkeypatch.context() as patch:
        patch.setattr(minigan.autograd.Function, "apply", classmethod(counting))
        step()
    return counts


@pytest.mark.parametrize("name", MLP_WORKLOADS)
def test_narrow_makes_the_same_operations(name, monkeypatch):
    """profile_ops.py reads the narrowed step's time as what the full step's operations
    cost as calls: that holds only if it applies the same operations, as many of each."""
    workload, framework = WORKLOADS[name], Minigan()
    full = operations_of(Step(framework, workload, workload.batch).step, monkeypatch)
    small = narrow(workload)
    assert small.batch == 5
    assert operations_of(Step(framework, small, small.batch).step, monkeypatch) == full
    layers = [m for m in framework.module(small.discriminator).modules()
              if isinstance(m, minigan.nn.Linear)]
    assert [layer.weight.shape[0] for layer in layers[:-1]] == [3] * (len(layers) - 1)


def test_narrow_refuses_a_convolutional_workload():
    with pytest.raises(ValueError, match="narrow: 'wgan_gp' is not made of MLPs"):
        narrow(WORKLOADS["wgan_gp"])
