"""Does minigan compute what PyTorch computes? A quick agreement check before timing.

A timing of a wrong layer means nothing, so each layer is run once on both frameworks
with PyTorch's initial weights copied into minigan, on the same input and upstream
gradient, and the outputs and every gradient are compared. The whole step is checked
the same way: same weights, same real batch, same noise, and the two losses compared
over a few steps (so Adam's update is checked too).

The figure reported is the largest relative error max|a - b| / max|b| over all the
arrays compared; float32 round-off puts it near 1e-6, a bug near 1.
"""
import numpy

from frameworks import LayerCase, Training

STEPS = 3


def relative_error(mine, reference):
    mine, reference = numpy.asarray(mine, numpy.float64), numpy.asarray(reference, numpy.float64)
    if mine.shape != reference.shape:
        raise ValueError(f"shape {mine.shape} != PyTorch's {reference.shape}")
    scale = max(float(numpy.abs(reference).max()), 1e-12)
    return float(numpy.abs(mine - reference).max()) / scale


def copy_parameters(src_fw, src_params, dst_fw, dst_params):
    src_params, dst_params = list(src_params), list(dst_params)
    if len(src_params) != len(dst_params):
        raise ValueError(f"{len(dst_params)} parameters, PyTorch has {len(src_params)}")
    for s, d in zip(src_params, dst_params):
        dst_fw.set_parameter(d, src_fw.to_numpy(s))


def check_layer(mg, th, layer, batch):
    """The largest relative error of output, input gradient and parameter gradients."""
    ref = LayerCase(th, layer, batch)
    mine = LayerCase(mg, layer, batch, arrays=ref.arrays)
    copy_parameters(th, ref.params, mg, mine.params)
    out_ref, out_mine = ref.run(), mine.run()
    pairs = [(out_mine, out_ref)]
    if layer.input_grad:
        pairs.append((mine.x.grad, ref.x.grad))
    pairs += [(p.grad, q.grad) for p, q in zip(mine.params, ref.params)]
    errors = []
    for a, b in pairs:
        if a is None:
            raise ValueError("a gradient is missing (None) where PyTorch has one")
        errors.append(relative_error(mg.to_numpy(a), th.to_numpy(b)))
    return max(errors)


def check_step(mg, th, batch):
    """The largest relative error of the two losses over STEPS training steps."""
    ref = Training(th, batch)
    mine = Training(mg, batch, real=th.to_numpy(ref.real))
    copy_parameters(th, ref.parameters(), mg, mine.parameters())
    rng = numpy.random.default_rng(2)
    errors = []
    for _ in range(STEPS):
        z = rng.standard_normal((batch, 100, 1, 1)).astype(numpy.float32)
        losses_ref = ref.step(th.from_numpy(z))
        losses_mine = mine.step(mg.from_numpy(z))
        for a, b in zip(losses_mine, losses_ref):
            errors.append(relative_error(mg.to_numpy(a), th.to_numpy(b)))
    return max(errors)
