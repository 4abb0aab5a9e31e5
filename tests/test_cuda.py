"""The same computation on NumPy and on CuPy gives the same numbers.

Skipped, with the reason, where CUDA is not usable. (The rest of the suite runs on
CuPy as a whole with MINIGAN_DEVICE=cuda.)
"""
import numpy as np
import pytest

import minigan
import minigan.nn.functional as F
from minigan import backend

REASON = backend.cuda_unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"CUDA not usable: {REASON}")


def _on(device, function, *arrays):
    """Run ``function`` on tensors made from ``arrays`` on ``device``; return NumPy results
    of the output and of each input's gradient."""
    previous = backend.get_device()
    backend.set_device(device)
    try:
        tensors = [minigan.tensor(a, requires_grad=True) for a in arrays]
        out = function(*tensors)
        out.sum().backward()
        return [out.numpy()] + [t.grad.numpy() for t in tensors]
    finally:
        backend.set_device(previous)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
def test_convolutions_agree_across_devices(stride, padding):
    """conv2d, conv_transpose2d and their gradients agree between NumPy and CuPy."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3))

    def f(x, w):
        y = F.conv2d(x, w, stride=stride, padding=padding)
        return F.conv_transpose2d(F.leaky_relu(y, 0.2), w, stride=stride, padding=padding,
                                  output_padding=(8 + 2 * padding - 3) % stride)

    for a, b in zip(_on("cpu", f, x, w), _on("cuda", f, x, w)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_batch_norm_and_losses_agree_across_devices():
    """Batch norm in training mode and BCE with logits agree between NumPy and CuPy."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 4, 3, 3))

    def f(x):
        y = F.batch_norm(x, None, None, training=True)
        return F.binary_cross_entropy_with_logits(y, 1.0, reduction="none")

    for a, b in zip(_on("cpu", f, x), _on("cuda", f, x)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_seeded_draws_reproduce_on_cuda():
    """manual_seed makes CuPy's draws reproducible, as NumPy's."""
    previous = backend.get_device()
    backend.set_device("cuda")
    try:
        minigan.manual_seed(3)
        first = minigan.randn(5).numpy()
        minigan.manual_seed(3)
        np.testing.assert_array_equal(first, minigan.randn(5).numpy())
    finally:
        backend.set_device(previous)
