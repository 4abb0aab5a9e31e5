"""The other workloads the benchmark times, besides the DCGAN: small graphs and the penalty.

Each is one training step, built with the same code for ``minigan.nn`` and ``torch.nn``
(the ``fw`` objects of ``frameworks.py``), float32, batch and sizes as the project's
speed targets name them:

    mlp       the MLP GAN: G 100-256-512-1024-784 (ReLU, Tanh), D 784-512-256-1
              (LeakyReLU 0.2), batch 64; one D update and one G update (non-saturating),
              Adam(2e-4, (0.5, 0.999)). Large matmuls: BLAS decides.
    toy       the 2-D toy GAN: G 2-512-512-512-2 and D 2-512-512-512-1, ReLU, batch 256, the
              same step. Small matmuls: the cost per op decides.
    unrolled  chapter 04's unrolled GAN, one network: G 2-128-128-2, D 2-128-128-1 (ReLU),
              batch 64, one D update, then G's update through K = 5 differentiable SGD steps
              of D (eta 0.01): a long graph of small ops, differentiated twice.
    wgan_gp   one WGAN-GP critic update at 28x28 (chapter 10's critic: the DCGAN
              discriminator with layer norm instead of batch norm), batch 64: critic loss
              plus 10 E (||grad f(x_hat)|| - 1)^2, a double backward through two convolutions,
              Adam(1e-4, (0.5, 0.9)).

The real batch is a fixed random array: no data loading is timed. ``step()`` draws its
own noise; ``step(z, eps)`` takes it from the caller, so that ``check_workload`` can feed
both frameworks the same numbers and compare their losses over a few steps.

``narrow(workload)`` is an MLP workload with every hidden layer three units wide and a
batch of five: the same graph, operation for operation, with next to no arithmetic in it.
Its step time is what the operations cost as calls (``profile_ops.py`` sets it beside the
full step).
"""
import numpy

LEAK = 0.2


def mlp(nn, sizes, activation, last=None, width=None):
    """Linear layers of ``sizes`` with ``activation()`` between them and ``last()`` after.

    ``width``, if given, replaces every hidden size (not the first or the last)."""
    if width is not None:
        sizes = (sizes[0],) + (width,) * (len(sizes) - 2) + (sizes[-1],)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    if last is not None:
        layers.append(last())
    return nn.Sequential(*layers)


def wgan_gp_critic(nn):
    """Chapter 10's WGAN-GP critic: the DCGAN-28 discriminator with LayerNorm((128, 7, 7))."""
    return nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(LEAK),
        nn.Conv2d(64, 128, 4, 2, 1), nn.LayerNorm((128, 7, 7)), nn.LeakyReLU(LEAK),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))


class Workload:
    """One workload's description: its networks, noise, data, optimiser and kind of step."""

    def __init__(self, name, title, target, batch, generator, discriminator, z_dim, real_shape,
                 lr, betas, kind="gan", unroll_steps=5, unroll_lr=0.01, gp_weight=10.0):
        self.name, self.title, self.target, self.batch = name, title, target, batch
        self.generator, self.discriminator = generator, discriminator
        self.z_dim, self.real_shape, self.lr, self.betas, self.kind = (z_dim, real_shape, lr,
                                                                       betas, kind)
        self.unroll_steps, self.unroll_lr, self.gp_weight = unroll_steps, unroll_lr, gp_weight


WORKLOADS = {w.name: w for w in [
    Workload("mlp", "MLP GAN step (G 100-256-512-1024-784, D 784-512-256-1)", 1.1, 64,
             lambda nn, width=None: mlp(nn, (100, 256, 512, 1024, 784), nn.ReLU, nn.Tanh,
                                        width),
             lambda nn, width=None: mlp(nn, (784, 512, 256, 1), lambda: nn.LeakyReLU(LEAK),
                                        width=width),
             100, (784,), 2e-4, (0.5, 0.999)),
    Workload("toy", "toy 2-D GAN step (G, D 3 x 512 ReLU)", 1.0, 256,
             lambda nn, width=None: mlp(nn, (2, 512, 512, 512, 2), nn.ReLU, width=width),
             lambda nn, width=None: mlp(nn, (2, 512, 512, 512, 1), nn.ReLU, width=width),
             2, (2,), 2e-4, (0.5, 0.999)),
    Workload("unrolled", "unrolled GAN step, K = 5 (chapter 04, one network)", 1.0, 64,
             lambda nn, width=None: mlp(nn, (2, 128, 128, 2), nn.ReLU, width=width),
             lambda nn, width=None: mlp(nn, (2, 128, 128, 1), nn.ReLU, width=width),
             2, (2,), 1e-3, (0.5, 0.999), kind="unrolled"),
    Workload("wgan_gp", "WGAN-GP critic step with the penalty (28x28 conv critic)", 1.5, 64,
             None, wgan_gp_critic, 100, (1, 28, 28), 1e-4, (0.5, 0.9), kind="critic_gp"),
]}

# The workloads made of MLPs only: those that narrow() can narrow.
MLP_WORKLOADS = ("mlp", "toy", "unrolled")


def narrow(workload, width=3, batch=5):
    """``workload`` with every hidden layer ``width`` units wide, at ``batch``: the same
    operations, on arrays of a few numbers.

    A step's time is then the cost of its operations as calls (Python, the array library's
    dispatch, the autograd engine) rather than of their arithmetic. Not one unit and one
    sample: sums over an axis of length one, and shapes that happen to be equal, are
    skipped (``broadcast_to`` of an array to its own shape is the array), so the graph
    would lose operations. Only for the MLP workloads (``MLP_WORKLOADS``).
    """
    if workload.name not in MLP_WORKLOADS:
        raise ValueError(f"narrow: {workload.name!r} is not made of MLPs; "
                         f"one of {', '.join(MLP_WORKLOADS)}")
    w = workload
    return Workload(w.name, f"{w.title.split(' (')[0]}, {width} units wide", None, batch,
                    lambda nn: w.generator(nn, width=width),
                    lambda nn: w.discriminator(nn, width=width),
                    w.z_dim, w.real_shape, w.lr, w.betas, w.kind, w.unroll_steps, w.unroll_lr,
                    w.gp_weight)


class Step:
    """A workload built on one framework: networks, optimisers, a fixed real batch."""

    def __init__(self, fw, workload, batch, real=None):
        from dcgan import generator as dcgan_generator
        fw.seed(0)
        self.fw, self.w, self.batch = fw, workload, batch
        # WGAN-GP's critic step needs samples of a G; the DCGAN's makes them (not timed apart).
        make_g = workload.generator or dcgan_generator
        self.G, self.D = fw.module(make_g), fw.module(workload.discriminator)
        self.opt_g = fw.optim.Adam(self.G.parameters(), lr=workload.lr, betas=workload.betas)
        self.opt_d = fw.optim.Adam(self.D.parameters(), lr=workload.lr, betas=workload.betas)
        if real is None:
            real = numpy.random.default_rng(0).uniform(-1, 1, (batch,) + workload.real_shape)
        self.real = fw.from_numpy(real.astype(numpy.float32))
        self.ones = fw.from_numpy(numpy.ones((batch, 1), numpy.float32))
        self.zeros = fw.from_numpy(numpy.zeros((batch, 1), numpy.float32))
        self.z_shape = ((batch, workload.z_dim, 1, 1) if workload.generator is None
                        else (batch, workload.z_dim))

    def parameters(self):
        return list(self.G.parameters()) + list(self.D.parameters())

    def step(self, z=None, eps=None):
        fw, w = self.fw, self.w
        if z is None:
            z = fw.randn(*self.z_shape)
        if w.kind == "critic_gp":
            return self.critic_step(z, eps)
        bce = fw.F.binary_cross_entropy_with_logits
        fake = self.G(z)
        self.opt_d.zero_grad()
        loss_d = bce(self.D(self.real), self.ones) + bce(self.D(fake.detach()), self.zeros)
        loss_d.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        if w.kind == "unrolled":
            loss_g = unrolled_loss(fw, self.D, self.real, fake, w.unroll_steps, w.unroll_lr)
        else:
            loss_g = bce(self.D(fake), self.ones)
        loss_g.backward()
        self.opt_g.step()
        return loss_d, loss_g

    def critic_step(self, z, eps):
        fw = self.fw
        fake = self.G(z).detach()
        self.opt_d.zero_grad()
        loss = (self.D(fake).mean() - self.D(self.real).mean()
                + gradient_penalty(fw, self.D, self.real, fake, self.w.gp_weight, eps))
        loss.backward()
        self.opt_d.step()
        return (loss,)


def unrolled_loss(fw, D, real, fake, steps, lr):
    """The generator's loss against D after ``steps`` differentiable SGD steps (Metz et al.).

    minigan has it as ``minigan.gan.unrolled.unrolled_generator_loss``; PyTorch's is written
    here with ``torch.func.functional_call`` and ``torch.autograd.grad(create_graph=True)``.
    """
    if fw.name == "minigan":
        from minigan.gan.unrolled import unrolled_generator_loss
        return unrolled_generator_loss(D, real, fake, steps=steps, lr=lr)
    torch = fw.torch
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    params = dict(D.named_parameters())
    both, n = torch.cat([real, fake]), real.shape[0]
    for _ in range(steps):
        logits = torch.func.functional_call(D, params, (both,))
        loss = (bce(logits[:n], torch.ones_like(logits[:n]))
                + bce(logits[n:], torch.zeros_like(logits[n:])))
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        params = {name: p - lr * g for (name, p), g in zip(params.items(), grads)}
    logits = torch.func.functional_call(D, params, (fake,))
    return bce(logits, torch.ones_like(logits))


def gradient_penalty(fw, D, real, fake, weight, eps=None):
    """weight E[(||grad f(x_hat)|| - 1)^2]: minigan's ``gradient_penalty``, PyTorch's here."""
    if fw.name == "minigan":
        from minigan.gan.penalties import gradient_penalty as penalty
        return penalty(D, real, fake, weight=weight, eps=eps)
    torch = fw.torch
    if eps is None:
        eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_()
    (gradient,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    norms = torch.sqrt((gradient ** 2).sum(dim=(1, 2, 3)) + 1e-12)
    return weight * ((norms - 1) ** 2).mean()


def check_workload(mg, th, workload, batch, steps=3):
    """The largest relative error of the losses over ``steps`` steps from PyTorch's weights."""
    from check import copy_parameters, relative_error
    ref = Step(th, workload, batch)
    mine = Step(mg, workload, batch, real=th.to_numpy(ref.real))
    copy_parameters(th, ref.parameters(), mg, mine.parameters())
    rng = numpy.random.default_rng(2)
    errors = []
    for _ in range(steps):
        z = rng.standard_normal(ref.z_shape).astype(numpy.float32)
        eps = rng.random((batch, 1, 1, 1)).astype(numpy.float32)
        losses_ref = ref.step(th.from_numpy(z), th.from_numpy(eps))
        losses_mine = mine.step(mg.from_numpy(z), mg.from_numpy(eps))
        for a, b in zip(losses_mine, losses_ref):
            errors.append(relative_error(mg.to_numpy(a), th.to_numpy(b)))
    return max(errors)
