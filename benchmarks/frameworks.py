"""The two sides of the comparison, behind one small interface.

``Minigan`` and ``Torch`` each build, on their own arrays, the things the benchmark
times: a whole training step of the DCGAN, and one layer's forward+backward. Both
build the models with the same code (``dcgan.py``), so what differs is the framework.

Neither module imports numpy or torch at the top: ``run.py`` must set the BLAS thread
variables before numpy is first imported, and must run where torch is missing.
"""
import dcgan


class Minigan:
    """minigan on NumPy (``device='cpu'``) or CuPy (``device='cuda'``)."""

    name = "minigan"

    def __init__(self, device="cpu", threads=None):
        import minigan
        if device == "cuda":
            minigan.set_device("cuda")
        if threads is not None:   # minigan's own split work; BLAS's threads come from run.py
            minigan.backend.set_host_threads(threads)
        from minigan import nn, optim
        from minigan.nn import functional
        self.mg, self.nn, self.optim, self.F = minigan, nn, optim, functional
        self.device = device
        self.xp = minigan.backend.get_array_module()
        self.version = minigan.__version__

    def sync(self):
        """Wait for the GPU to finish queued work (nothing to wait for on the CPU)."""
        if self.device == "cuda":
            self.xp.cuda.Device().synchronize()

    # --- tensors ----------------------------------------------------------------------
    def from_numpy(self, array, requires_grad=False):
        return self.mg.tensor(self.xp.asarray(array), requires_grad=requires_grad)

    def to_numpy(self, tensor):
        return tensor.numpy()

    def randn(self, *shape, requires_grad=False):
        return self.mg.randn(*shape, requires_grad=requires_grad)

    def set_parameter(self, parameter, array):
        if tuple(parameter.shape) != tuple(array.shape):
            raise ValueError(f"parameter shape {tuple(parameter.shape)} != {array.shape}")
        # a copy: ``array`` may share memory with the other framework's parameter
        parameter.data = self.xp.array(array, dtype=parameter.data.dtype, copy=True)

    def seed(self, seed):
        self.mg.manual_seed(seed)

    def module(self, make):
        return make(self.nn)


class Torch:
    """PyTorch eager on the CPU (``device='cpu'``) or on CUDA (``device='cuda'``)."""

    name = "torch"

    def __init__(self, device="cpu", threads=None):
        import torch
        if threads is not None:
            torch.set_num_threads(threads)
        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("torch.cuda.is_available() is False")
        self.torch, self.nn, self.optim = torch, torch.nn, torch.optim
        self.F = torch.nn.functional
        self.device = device
        self.dev = torch.device(device)
        self.version = torch.__version__

    def sync(self):
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def from_numpy(self, array, requires_grad=False):
        tensor = self.torch.from_numpy(array.copy()).to(self.dev)
        return tensor.requires_grad_(requires_grad)

    def to_numpy(self, tensor):
        return tensor.detach().cpu().numpy().copy()   # never a view of torch's storage

    def randn(self, *shape, requires_grad=False):
        return self.torch.randn(*shape, device=self.dev, requires_grad=requires_grad)

    def set_parameter(self, parameter, array):
        with self.torch.no_grad():
            parameter.copy_(self.torch.from_numpy(array))   # copy_ copies

    def seed(self, seed):
        self.torch.manual_seed(seed)

    def module(self, make):
        return make(self.nn).to(self.dev)


# --- what is timed, built the same way on either side ----------------------------------
class Training:
    """The DCGAN, its optimizers and a fixed real batch on one framework.

    ``step()`` is one timed training step (it draws its own z); ``step(z)`` takes z from
    the caller so two frameworks can be fed the same noise when their losses are compared.
    """

    def __init__(self, fw, batch, real=None):
        import numpy
        fw.seed(0)
        self.fw, self.batch = fw, batch
        self.G = fw.module(dcgan.generator)
        self.D = fw.module(dcgan.discriminator)
        self.opt_g = fw.optim.Adam(self.G.parameters(), lr=dcgan.LR, betas=dcgan.BETAS)
        self.opt_d = fw.optim.Adam(self.D.parameters(), lr=dcgan.LR, betas=dcgan.BETAS)
        if real is None:   # stands in for a batch of images scaled to [-1, 1]
            real = numpy.random.default_rng(0).uniform(-1, 1, (batch, 1, 28, 28))
        self.real = fw.from_numpy(real.astype(numpy.float32))
        self.ones = fw.from_numpy(numpy.ones((batch, 1), numpy.float32))
        self.zeros = fw.from_numpy(numpy.zeros((batch, 1), numpy.float32))

    def step(self, z=None):
        if z is None:
            z = self.fw.randn(self.batch, dcgan.NZ, 1, 1)
        return dcgan.train_step(self.G, self.D, self.opt_g, self.opt_d,
                                self.fw.F.binary_cross_entropy_with_logits,
                                self.real, z, self.ones, self.zeros)

    def parameters(self):
        return list(self.G.parameters()) + list(self.D.parameters())


class LayerCase:
    """One layer of the model on one framework, with its input and an upstream gradient.

    ``run()`` is the timed call: forward, then backward of ``out . g`` into the
    parameters' and the input's ``.grad`` (cleared first, as ``zero_grad`` would).
    """

    def __init__(self, fw, layer, batch, arrays=None):
        import numpy
        fw.seed(0)
        self.fw, self.layer = fw, layer
        self.module = fw.module(layer.make)
        self.params = list(self.module.parameters())
        rng = numpy.random.default_rng(1)
        if arrays is None:
            x = rng.standard_normal(layer.shape(batch)).astype(numpy.float32)
            arrays = {"x": x}
        self.x = fw.from_numpy(arrays["x"], requires_grad=layer.input_grad)
        if "g" not in arrays:
            out_shape = tuple(self.module(self.x).shape)
            arrays["g"] = rng.standard_normal(out_shape).astype(numpy.float32)
        self.g = fw.from_numpy(arrays["g"])
        self.arrays = arrays

    def run(self):
        for p in self.params:
            p.grad = None
        self.x.grad = None
        out = self.module(self.x)
        out.backward(self.g)
        return out
