"""One GAN update — ``n_critic`` critic steps, then one generator step — for any objective,
mitigation and data shape. ``toygan.train``, ``toygan.batched`` and ``imagegan.train`` all
train through :class:`GANStep`.

Unrolled GAN (Metz et al. 2017), ``unroll=K``:

* ``second-order`` (the paper, Eq. 12): from the critic's current parameters, K more critic
  updates are computed *as functions* of the generator — on the last critic batch of real samples
  and a fresh batch of fake samples that keeps its graph (every unrolled step sees that same
  batch, as in the authors' code), with the critic's own optimiser rule (Adam, RMSProp or SGD,
  its state carried through the K steps) written out differentiably (``create_graph``). The
  generator's loss on those fake samples is taken against the K-step critic
  (``torch.func.functional_call`` over the unrolled parameters) and its gradient flows back through
  all K updates. The real critic is not changed by the look-ahead.
* ``first-order`` (cheaper; what many re-implementations do): the critic takes K ordinary
  steps, the generator steps against it, then the critic and its optimiser are restored. No
  gradient flows through the unrolled updates.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

from toygan import bugs, losses
from toygan.mitigations import pack
from toygan.models import slot_modules, slot_statistics


class FunctionalCritic:
    """A critic evaluated with substituted parameters (and private copies of its buffers)."""

    def __init__(self, critic: nn.Module, params: dict[str, Tensor], buffers: dict[str, Tensor]):
        self.critic, self.params, self.buffers = critic, params, buffers

    def __call__(self, x: Tensor) -> Tensor:
        return functional_call(self.critic, {**self.params, **self.buffers}, (x,))

    def embed(self, x: Tensor) -> Tensor:  # EBGAN's pull-away term
        prefixed = {f"critic.{k}": v for k, v in {**self.params, **self.buffers}.items()}
        return functional_call(_Embed(self.critic), prefixed, (x,))


class TorchFuncCritic:
    """The critic as a function of ``params`` for ``torch.func``: a call, and the input gradient
    of its summed output (each sample's own gradient: samples do not interact) by
    ``torch.func.grad`` — what ``losses.grad_norms`` asks a critic for when it has one. So an
    objective's own critic loss, penalty included, differentiates under ``torch.func.grad`` and
    compiles (``torch.compile`` cannot compile the same loss through ``autograd.grad``'s double
    backward)."""

    def __init__(self, critic: nn.Module, params: dict[str, Tensor]):
        self.critic, self.params = critic, params

    def __call__(self, x: Tensor) -> Tensor:
        return functional_call(self.critic, self.params, (x,))

    def input_grad(self, x: Tensor) -> Tensor:
        return torch.func.grad(lambda y: self(y).sum())(x)


# Critic updates from which --compile auto compiles: where the faster critic gradients repay the
# compile time (both measured in BENCHMARKS.md, "the compiled critic update").
COMPILE_PAYS = 20_000


class CompiledCriticGrad:
    """The critic loss's parameter gradient, ``torch.compile``d in its ``torch.func`` form.

    Random draws inside the loss (WGAN-GP's interpolation weights, DRAGAN's perturbation) are made
    outside, from the same source and in the same order as the eager step (their shapes are
    learned on the first, eager, step), and replayed inside: both paths see the same numbers.
    """

    def __init__(self, gan: GANStep):
        self.gan, self.shapes = gan, None
        D = gan.D

        def loss(params, real, fake, draws):
            it = iter(draws)
            terms = gan.critic_loss(TorchFuncCritic(D, params), real, fake,
                                    rand=lambda shape, device: next(it))
            return terms["loss"].sum(), {k: v.detach() for k, v in terms.items()}

        self.fn = torch.compile(torch.func.grad(loss, has_aux=True), dynamic=False)

    def source(self):
        return self.gan.hp.get("rand") or (lambda shape, device: torch.rand(shape, device=device))

    def recording(self):
        """The rand of the first (eager) step: draws from the source and notes each shape."""
        self.shapes, source = [], self.source()

        def rand(shape, device):
            self.shapes.append(tuple(shape))
            return source(shape, device)
        return rand

    def draws(self, device) -> list[Tensor]:
        source = self.source()
        return [source(shape, device) for shape in self.shapes]

    def __call__(self, real: Tensor, fake: Tensor, draws: list[Tensor]) -> tuple[dict, dict]:
        params = {k: p.detach() for k, p in self.gan.D.named_parameters()}
        return self.fn(params, real, fake, draws)

    def update(self, real: Tensor, fake: Tensor) -> dict:
        """The critic's step with the compiled gradient (eager, with one line, if it cannot
        compile: the first call compiles)."""
        gan = self.gan
        draws = self.draws(real.device)
        try:
            grads, terms = self(real, fake, draws)
        except Exception as e:  # noqa: BLE001 — any compiler failure: train eagerly instead
            import sys

            print(f"note: --compile: the critic update did not compile ({type(e).__name__}: "
                  f"{str(e).splitlines()[0][:160] if str(e) else ''}); training eagerly",
                  file=sys.stderr)
            gan.compiled = None
            it = iter(draws)  # the same draws: the eager step is the one it would have been
            terms = gan.critic_loss(gan.D_train, real, fake, rand=lambda shape, dev: next(it))
            minimise(gan.precision, terms["loss"], gan.opt_d)
            return terms
        gan.opt_d.zero_grad(set_to_none=True)
        for k, p in gan.D.named_parameters():
            p.grad = grads[k]
        gan.opt_d.step()
        return terms


class _Embed(nn.Module):
    def __init__(self, critic: nn.Module):
        super().__init__()
        self.critic = critic

    def forward(self, x: Tensor) -> Tensor:
        return self.critic.embed(x)


def _group(opt: torch.optim.Optimizer, param: nn.Parameter) -> dict:
    return next(gr for gr in opt.param_groups if any(q is param for q in gr["params"]))


def _optimizer_update(opt: torch.optim.Optimizer, param: nn.Parameter, p: Tensor, g: Tensor,
                      state: dict) -> tuple[Tensor, dict]:
    """One step of ``opt``'s rule on ``p`` with gradient ``g`` from ``state`` (``opt``'s own
    state for the first unrolled step, then the returned one): the new parameter and state,
    both differentiable functions of ``p`` and ``g``."""
    group = _group(opt, param)
    lr = group["lr"]
    if isinstance(opt, torch.optim.Adam):
        b1, b2 = group["betas"]
        t = int(state.get("step", 0)) + 1
        m = b1 * state["exp_avg"] + (1 - b1) * g if "exp_avg" in state else (1 - b1) * g
        v = (b2 * state["exp_avg_sq"] + (1 - b2) * g * g if "exp_avg_sq" in state
             else (1 - b2) * g * g)
        # clamp: sqrt's derivative at an exact 0 (a parameter with no gradient yet) is inf.
        denom = (v / (1 - b2**t)).clamp_min(1e-30).sqrt() + group["eps"]
        return p - lr * (m / (1 - b1**t)) / denom, {"step": t, "exp_avg": m, "exp_avg_sq": v}
    if isinstance(opt, torch.optim.RMSprop):
        alpha = group["alpha"]
        sq = state.get("square_avg")
        v = alpha * sq + (1 - alpha) * g * g if sq is not None else (1 - alpha) * g * g
        return p - lr * g / (v.clamp_min(1e-30).sqrt() + group["eps"]), {"square_avg": v}
    if isinstance(opt, torch.optim.SGD):
        return p - lr * g, {}
    raise ValueError(f"second-order unrolling does not know {type(opt).__name__}")


def autocast(precision):
    """Mixed precision's autocast (``toygan.device``), or nothing."""
    from contextlib import nullcontext

    return precision.autocast() if precision is not None else nullcontext()


def backward(precision, loss: Tensor) -> None:
    """Backpropagate a (per-run) loss's sum, scaled under mixed precision."""
    if precision is not None:
        precision.scaler.scale(loss.sum()).backward()
    else:
        loss.sum().backward()  # a no-op sum for one run; see toygan.losses


def step(precision, opt) -> None:
    if precision is not None:
        precision.scaler.step(opt)
    else:
        opt.step()


def minimise(precision, loss: Tensor, opt, zero: bool = True) -> None:
    """One optimiser step on ``loss`` (gradients zeroed first unless ``zero`` is False)."""
    if zero:
        opt.zero_grad(set_to_none=True)
    if precision is not None:
        precision.backward_step(loss.sum(), opt)
    else:
        loss.sum().backward()
        opt.step()


class FiniteWatch:
    """Each run's first step whose loss terms were not finite, and which terms they were, noted
    on the device with no host sync (``track``: a GPU keeps running ahead); ``first_bad`` reads
    it, once, where the loop records or saves something. ``runs``: the runs a stacked step
    trains (a term holds one value per run, or one for all)."""

    def __init__(self, runs: int = 1):
        self.runs = runs
        self.names: list[str] = []
        self.first = self.bad = None  # (runs,) step or -1; (terms, runs) flags

    def track(self, terms: dict, step: int) -> None:
        bad = torch.stack([~torch.isfinite(v.detach().float().reshape(-1).expand(self.runs))
                           for v in terms.values()])  # (terms, runs)
        if self.first is None:
            self.names = list(terms)
            self.first = torch.full((self.runs,), -1, dtype=torch.long, device=bad.device)
            self.bad = torch.zeros_like(bad)
        new = bad.any(0) & (self.first < 0)
        self.first = torch.where(new, step, self.first)
        self.bad = torch.where(new.unsqueeze(0), bad, self.bad)

    def first_bad(self) -> list[tuple[int, list[str]] | None]:
        """Per run: (the first non-finite step, its non-finite terms), or None."""
        if self.first is None:
            return [None] * self.runs
        first, bad = self.first.tolist(), self.bad.tolist()
        return [(s, [n for n, row in zip(self.names, bad, strict=True) if row[k]]) if s >= 0
                else None for k, s in enumerate(first)]


class GANStep:
    """``step(draw_real, draw_z, n)``: one generator update of a GAN; returns its loss terms.

    ``G``/``D`` are the plain modules; ``G_train``/``D_train`` may wrap them (DDP) for the passes
    whose gradients must be synchronised. ``draw_real()`` returns the next real batch (unpacked),
    ``draw_z(n)`` the latent vectors of a batch of ``n`` samples (per run). ``runs`` > 1: the
    batch holds several stacked runs (``toygan.batched``), and every loss is a per-run vector
    whose sum is minimised.
    """

    def __init__(self, cfg, obj, G: nn.Module, D: nn.Module, opt_g, opt_d, *, runs: int = 1,
                 rand: Callable | None = None, precision=None, G_train=None, D_train=None):
        self.cfg, self.obj, self.G, self.D = cfg, obj, G, D
        self.G_train, self.D_train = G_train or G, D_train or D
        self._slot_layers = slot_modules(G)
        self.opt_g, self.opt_d, self.runs, self.precision = opt_g, opt_d, runs, precision
        self.obj_critic_loss = bugs.critic_loss(obj, cfg.bug)  # the objective's, or a zoo bug
        self.obj_generator_loss = bugs.generator_loss(obj, cfg.bug)
        self.leak = cfg.bug == "no-detach"  # the critic's loss also reaches the generator
        self.hp = dict(cfg.hparams())
        if runs > 1:
            self.hp["runs"] = runs
        if rand is not None:
            self.hp["rand"] = rand
        self.compiled = None
        if compile_wanted(cfg) and compile_possible(self):
            self.compiled = CompiledCriticGrad(self)

    def critic_loss(self, critic, real: Tensor, fake: Tensor, keep_fake_graph=False,
                    rand=None) -> dict:
        """The objective's critic terms plus R1 (if asked), on packed batches (random draws
        from ``rand`` if given, else as the step's)."""
        hp = self.hp if rand is None else {**self.hp, "rand": rand}
        with autocast(self.precision):
            terms = self.obj_critic_loss(critic, real, fake.float(),
                                         keep_fake_graph=keep_fake_graph, **hp)
        if self.cfg.r1_weight:
            r1 = losses.r1_penalty(critic, real, runs=self.runs)
            terms["loss"] = terms["loss"] + 0.5 * self.cfg.r1_weight * r1
            terms["r1"] = r1.detach()
        return terms

    def critic_update(self, draw_real, draw_z, n: int) -> tuple[dict, Tensor]:
        """One critic step on a fresh batch; returns its terms and the packed real batch."""
        m = self.cfg.pack
        real = draw_real()
        with torch.set_grad_enabled(self.leak), autocast(self.precision):
            fake = self.G(draw_z(n))
        real, fake = pack(real, m), pack(fake, m)
        return self.critic_step(real, fake), real

    def critic_step(self, real: Tensor, fake: Tensor) -> dict:
        """One critic update on the packed batch (compiled when it is), then WGAN's clipping."""
        if self.compiled is not None and self.compiled.shapes is not None:
            terms = self.compiled.update(real, fake)
        else:
            rand = self.compiled.recording() if self.compiled is not None else None
            terms = self.critic_loss(self.D_train, real, fake, rand=rand)
            minimise(self.precision, terms["loss"], self.opt_d)
        if self.cfg.clip is not None:
            losses.clip_weights(self.D, self.cfg.clip)
        return terms

    def generator_update(self, critic, real: Tensor, draw_z, n: int) -> dict:
        with autocast(self.precision):
            fake = pack(self.G_train(draw_z(n)), self.cfg.pack)
            terms = self.obj_generator_loss(critic, real, fake, **self.hp)
        minimise(self.precision, terms["loss"], self.opt_g, zero=not self.leak)
        return terms

    def generator_terms(self, critic, real: Tensor, fake: Tensor, unrolled: bool) -> dict:
        """The generator's loss against ``critic``; against a second-order unrolled critic, the
        full objective: plus the critic's real-data term with its sign flipped (it depends on
        the generator through the unrolled updates)."""
        with autocast(self.precision):
            terms = self.obj_generator_loss(critic, real, fake, **self.hp)
            if unrolled:
                real_term = -self.obj.critic_real(critic, real, **self.hp)
                terms["loss"] = terms["loss"] + real_term
                terms["real"] = real_term.detach()
        return terms

    def __call__(self, draw_real, draw_z, batch_size: int) -> dict[str, Tensor]:
        # A generator with BatchNorm normalises each pack slot on its own (PacGAN's code).
        with slot_statistics(self._slot_layers, self.cfg.pack):
            if self.cfg.update == "simultaneous":
                d_terms, g_terms = simultaneous(self, draw_real, draw_z, batch_size)
            else:
                d_terms, g_terms = alternating(self, draw_real, draw_z, batch_size)
        terms = {f"d_{k}": v.detach().float() for k, v in d_terms.items()}
        terms.update({f"g_{k}": v.detach().float() for k, v in g_terms.items()})
        return terms


# The two update orders.


def alternating(gan: GANStep, draw_real, draw_z, batch_size: int) -> tuple[dict, dict]:
    """``n_critic`` critic steps, then the generator's against the critic as it is now (or
    as it will be after ``unroll`` more steps)."""
    cfg, D = gan.cfg, gan.D

    # Update critic.
    D.requires_grad_(True)
    if gan.leak:  # bug no-detach: what the critic steps leak into G reaches G's step
        gan.opt_g.zero_grad(set_to_none=True)
    for _ in range(cfg.n_critic):
        d_terms, real = gan.critic_update(draw_real, draw_z, batch_size)

    # Update generator.
    if cfg.unroll and cfg.unroll_mode == "second-order":
        with autocast(gan.precision):
            fake = pack(gan.G_train(draw_z(batch_size)), cfg.pack)
        critic = unrolled_critic(gan, real, fake)
        D.requires_grad_(False)
        g_terms = gan.generator_terms(critic, real, fake, unrolled=True)
        minimise(gan.precision, g_terms["loss"], gan.opt_g)
    else:
        saved = look_ahead(gan, draw_real, draw_z, batch_size) if cfg.unroll else None
        D.requires_grad_(False)
        g_terms = gan.generator_update(D, real, draw_z, batch_size)
        if saved is not None:
            restore(gan, saved)
    D.requires_grad_(True)
    return d_terms, g_terms


def simultaneous(gan: GANStep, draw_real, draw_z, batch_size: int) -> tuple[dict, dict]:
    """Both players' gradients from the same weights and the same batch, then both step
    (the Unrolled-GAN authors' ``sess.run([g_train_op, d_train_op])``; VEEGAN's and
    PacGAN's code too). With unrolling the generator looks ahead from the critic as it was
    before this step's update, on this step's batch (either order); one critic update per
    step."""
    cfg, D, m = gan.cfg, gan.D, gan.cfg.pack
    real = pack(draw_real(), m)
    with autocast(gan.precision):
        fake = pack(gan.G_train(draw_z(batch_size)), m)

    # The generator's gradient (its step waits for the critic's).
    saved = None
    if cfg.unroll and cfg.unroll_mode == "second-order":
        critic = unrolled_critic(gan, real, fake)
    else:
        # The same batch in every look-ahead step, as second order: equal data for both.
        saved = look_ahead(gan, draw_real, draw_z, batch_size, (real, fake.detach())) \
            if cfg.unroll else None
        critic = gan.D_train
    D.requires_grad_(False)
    g_terms = gan.generator_terms(critic, real, fake,
                                   unrolled=bool(cfg.unroll) and saved is None)
    gan.opt_g.zero_grad(set_to_none=True)
    backward(gan.precision, g_terms["loss"])
    D.requires_grad_(True)
    if saved is not None:
        restore(gan, saved)

    # The critic's, on the same batch from the same weights; then both step.
    d_terms = gan.critic_loss(gan.D_train, real, fake.detach())
    gan.opt_d.zero_grad(set_to_none=True)
    backward(gan.precision, d_terms["loss"])
    step(gan.precision, gan.opt_d)
    if cfg.clip is not None:
        losses.clip_weights(D, cfg.clip)
    step(gan.precision, gan.opt_g)
    if gan.precision is not None:
        gan.precision.scaler.update()
    return d_terms, g_terms


# Unrolled GAN (the module docstring): the critic K updates ahead.


def unrolled_critic(gan: GANStep, real: Tensor, fake: Tensor) -> FunctionalCritic:
    """The critic after ``unroll`` more updates on the packed batch (``real``, ``fake``),
    as a differentiable function of the generator that made ``fake`` (the reference code's
    unrolling: every unrolled step sees the same batch, the optimiser's state evolves)."""
    cfg, D = gan.cfg, gan.D
    named = [(k, p) for k, p in D.named_parameters() if p.requires_grad]
    params = {k: p.detach().requires_grad_(True) for k, p in named}
    state = {k: dict(gan.opt_d.state.get(p, {})) for k, p in named}
    buffers = {k: b.clone() for k, b in D.named_buffers()}
    for _ in range(cfg.unroll):
        critic = FunctionalCritic(D, params, buffers)
        loss = gan.critic_loss(critic, real, fake, keep_fake_graph=True)["loss"].sum()
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        new = {}
        for (k, param), g in zip(named, grads, strict=True):
            p, state[k] = _optimizer_update(gan.opt_d, param, params[k], g, state[k])
            new[k] = p.clamp(-cfg.clip, cfg.clip) if cfg.clip is not None else p
        params = new
    return FunctionalCritic(D, params, buffers)


def look_ahead(gan: GANStep, draw_real, draw_z, batch_size: int, batch=None):
    """First-order unrolling: ``unroll`` real critic steps, on fresh batches or on
    ``batch`` (packed real, fake) every time; returns what restores them."""
    saved = (copy.deepcopy(gan.D.state_dict()), copy.deepcopy(gan.opt_d.state_dict()))
    for _ in range(gan.cfg.unroll):
        if batch is None:
            gan.critic_update(draw_real, draw_z, batch_size)
        else:
            gan.critic_step(*batch)
    return saved

def restore(gan: GANStep, saved) -> None:
    """Put back the critic and its optimiser that ``look_ahead`` saved."""
    gan.D.load_state_dict(saved[0])
    gan.opt_d.load_state_dict(saved[1])


def compile_wanted(cfg) -> bool:
    """``--compile on``, or ``auto`` for runs long enough that compiling pays."""
    mode = getattr(cfg, "compile", "off")
    return mode == "on" or (mode == "auto" and cfg.steps * cfg.n_critic >= COMPILE_PAYS)


def compile_possible(gan: GANStep) -> bool:
    """Whether the critic update has a compiled form here, saying why not (one line) when it
    was asked for with ``on``: a critic with buffers (spectral norm's power iteration, the bug
    zoo's BatchNorm) mutates them in its forward, mixed precision and the zoo's bugs keep the
    eager step."""
    why = ("the critic has buffers (spectral norm or BatchNorm)" if any(True for _ in
                                                                        gan.D.buffers())
           else "mixed precision" if gan.precision is not None
           else f"bug {gan.cfg.bug}" if gan.cfg.bug not in (None, "none")
           else None)
    if why is not None and getattr(gan.cfg, "compile", "off") == "on":
        import sys

        print(f"note: --compile on: {why} — the critic update stays eager", file=sys.stderr)
    return why is None
