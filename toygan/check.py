"""Check your own GAN loss against the maths: ``python -m toygan.check``.

    python -m toygan.check my_losses.py:wgan_gp_loss --as wgan-gp
    python -m toygan.check mypkg.losses:d_loss --as dragan --json
    python -m toygan.check my_losses.py:gradient_penalty --as gp
    python -m toygan.check my_losses.py:g_loss --as bce --generator
    python -m toygan.check my_losses.py:unrolled_g_loss --as unrolled
    python -m toygan.check my_losses.py:d_loss --as wgan-gp --critic my_models.py:make_critic

What your function must look like (the project's loss signature):

* ``--as OBJECTIVE`` (``bce``, ``wgan-gp``, ...): the critic's loss ``f(critic, real, fake,
  **hparams)`` returning a scalar tensor or a dict with ``"loss"``; ``hparams`` are the
  objective's (``gp_weight=10``, ``margin=1``, ...; a function without ``**hparams`` is called
  without them). ``critic(x)`` returns one number per sample; higher means "more real" (for
  ``ebgan``: an energy, lower means real).
* ``--generator``: the generator's loss with the same signature.
* ``--as gp``: the most common homework shape, a bare gradient penalty ``gp(critic, real,
  fake) -> tensor``, E[(||grad D(x_hat)|| - 1)^2] on interpolates (a factor lambda inside is
  accepted and reported).
* ``--as unrolled``: ``f(critic, real, fake, steps, lr) -> tensor``, the generator's surrogate
  after ``steps`` SGD steps (rate ``lr``) of the WGAN critic loss E[D(fake)] - E[D(real)] on
  this batch: the full objective at the unrolled critic, -E[D_K(fake)] + E[D_K(real)] (Metz et
  al. eq. 12), differentiable in ``fake`` through those steps.
* ``--critic MODULE:FACTORY``: a function returning your critic for 2D points; checked for
  judging each sample alone (no batch statistics inside a penalised critic).

Every check uses a critic whose answer is known, and one for which the mistake it looks for changes
the answer — a linear critic D(x) = w . x + b has input gradient w everywhere, so its penalty is
exactly lambda (||w|| - 1)^2; a curved one, w . x + b + c/2 ||x||², has gradient w + c x, so a
penalty that averages the samples' gradients before the norm gives another value — and prints one
line, ✔ or ✗, and for each ✗ what is wrong and how to fix it. Exit status 1 if any check fails,
2 if your function cannot be run at all.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from toygan import losses
from toygan.cli import Parser, run_main
from toygan.errors import UserError

EXTRA_MODES = ["gp", "unrolled"]  # a bare gradient penalty; an unrolled generator step


def modes() -> list[str]:
    """What ``--as`` accepts: every registered objective, then the extra modes."""
    return list(losses.OBJECTIVES) + EXTRA_MODES


def penalised(mode: str) -> bool:
    """An objective with a gradient penalty, or the bare penalty."""
    return mode == "gp" or mode in losses.OBJECTIVES and \
        losses.OBJECTIVES[mode].penalty is not None


def on_segments(mode: str) -> bool:
    """A penalty evaluated on real-fake interpolates (the bare penalty is)."""
    return mode == "gp" or mode in losses.OBJECTIVES and \
        losses.OBJECTIVES[mode].penalty == "interpolates"


# ----------------------------------------------------------------------------- critics


class LinearCritic(nn.Module):
    """D(x) = w . flatten(x) + b (+ delta on rows equal to a marked batch); records its inputs."""

    def __init__(self, w: Tensor, b: float = 0.1):
        super().__init__()
        self.w = nn.Parameter(w.clone().float())
        self.b = nn.Parameter(torch.tensor(float(b)))
        self.seen: list[Tensor] = []
        self.marked: Tensor | None = None
        self.delta = 0.0

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append(x.detach().clone())
        out = x.flatten(1) @ self.w + self.b
        if self.marked is not None and self.delta:
            hit = (x.detach().flatten(1)[:, None, :] == self.marked.flatten(1)[None]).all(-1)
            out = out + self.delta * hit.any(1).float()
        return out

    def embed(self, x: Tensor) -> Tensor:  # EBGAN's pull-away term
        return x.flatten(1)


class CurvedCritic(LinearCritic):
    """D(x) = w . x + b + (c / 2) ||x||²: input gradient w + c x, different at every point, so a
    penalty that mixes samples' gradients gives another value than the per-sample one."""

    def __init__(self, w: Tensor, b: float = 0.1, c: float = 0.5):
        super().__init__(w, b)
        self.c = c

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) + 0.5 * self.c * x.flatten(1).pow(2).sum(1)


def _penalty_points(critic: LinearCritic, real: Tensor, fake: Tensor) -> list[Tensor]:
    """The (flattened) points the critic was evaluated at that are neither a real nor a fake
    sample: where the function under test took its penalty."""
    flat_r, flat_f = real.flatten(1), fake.flatten(1)
    return [x for x in torch.cat(critic.seen).flatten(1)
            if not any(torch.equal(x, r) for r in flat_r) and
            not any(torch.equal(x, f) for f in flat_f)]


def _batch(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g) + 1.5


def _w(dim: int, norm: float = 1.7) -> Tensor:
    w = torch.linspace(-1, 1, dim) + 0.3
    return w / w.norm() * norm


# ----------------------------------------------------------------------------- calling the user


class UserCodeFailed(Exception):
    """The user's function raised: reported in one line, exit 2."""


def load_function(spec: str) -> Callable:
    """``package.module:name`` or ``path/to/file.py:name``; a one-line error otherwise."""
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise UserError(f"{spec!r} must look like MODULE:FUNCTION or path/to/file.py:FUNCTION")
    try:
        if target.endswith(".py") or Path(target).exists():
            path = Path(target)
            if not path.is_file():
                raise UserError(f"file not found: {target}")
            mod_spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(mod_spec)
            sys.path.insert(0, str(path.resolve().parent))
            try:
                mod_spec.loader.exec_module(module)
            finally:
                sys.path.pop(0)
        else:
            module = importlib.import_module(target)
    except UserError:
        raise
    except SyntaxError as e:
        raise UserError(f"{target} has a syntax error at line {e.lineno}: {e.msg}") from None
    except Exception as e:  # noqa: BLE001 — anything the user's module raises on import
        raise UserError(f"cannot import {target}: {type(e).__name__}: {e}") from None
    fn = getattr(module, name, None)
    if fn is None:
        raise UserError(f"{target} has no function {name!r}")
    if not callable(fn):
        raise UserError(f"{target}:{name} is not a function")
    return fn


def _where(e: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "toygan" not in f.filename]
    return f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""


def call(fn: Callable, *args, **hparams) -> Tensor:
    """Run the user's function; its loss as a scalar tensor. Hyper-parameters are passed only if
    the function accepts them."""
    try:
        params = inspect.signature(fn).parameters.values()
        takes_kw = any(p.kind is p.VAR_KEYWORD for p in params)
        names = {p.name for p in params}
        kw = hparams if takes_kw else {k: v for k, v in hparams.items() if k in names}
        out = fn(*args, **kw)
    except TypeError as e:
        if "argument" in str(e):
            raise UserError(f"your function does not take the expected arguments: {e}") from None
        raise UserCodeFailed(f"your function raised TypeError: {e}{_where(e)}") from None
    except Exception as e:  # noqa: BLE001 — report any failure of the user's code in one line
        raise UserCodeFailed(f"your function raised {type(e).__name__}: {e}{_where(e)}") from None
    if isinstance(out, dict):
        if "loss" not in out:
            raise UserError("your function returned a dict without a 'loss' entry")
        out = out["loss"]
    if not torch.is_tensor(out) or out.numel() != 1:
        shape = tuple(out.shape) if torch.is_tensor(out) else ""
        raise UserError("your function must return a scalar tensor (or a dict with 'loss'), got "
                        f"{type(out).__name__}{shape}")
    return out.reshape(())


# ----------------------------------------------------------------------------- checks


class _CheckBase:
    """What every group of checks shares: the function under test, its mode and
    the objective's reference; ``results`` holds (name, ok, message)."""

    def __init__(self, fn: Callable, mode: str, generator: bool = False):
        self.fn, self.mode, self.generator = fn, mode, generator
        self.obj = losses.OBJECTIVES.get(mode)
        self.hp = dict(self.obj.hparams) if self.obj else {}
        self.lam = self.hp.get("gp_weight", 10.0)
        self.results: list[tuple[str, bool, str]] = []

    def add(self, name: str, ok: bool, fix: str = "") -> None:
        self.results.append((name, bool(ok), "" if ok else fix))

    def loss(self, critic, real, fake) -> Tensor:
        if self.mode == "gp":
            return call(self.fn, critic, real, fake)
        return call(self.fn, critic, real, fake, **self.hp)

    def reference(self, critic, real, fake, penalty=True) -> Tensor:
        if self.mode == "gp":
            return (critic.w.norm() - 1) ** 2
        side = self.obj.generator_loss if self.generator else self.obj.critic_loss
        hp = dict(self.hp, gp_weight=self.lam if penalty else 0.0)
        return side(critic, real, fake, **hp)["loss"]


class ValueChecks(_CheckBase):
    """The loss's value against the reference formula on a linear critic, and
    what a wrong value most likely means."""

    def value(self, shape, label: str) -> None:
        real, fake = _batch(shape, 0)
        dim = int(torch.tensor(shape[1:]).prod())
        critic = LinearCritic(_w(dim))
        got = self.loss(critic, real, fake).item()
        want = self.reference(critic, real, fake).item()
        if abs(got - want) <= 1e-4 * max(1.0, abs(want)):
            self.add(f"value equals the {self.mode} formula on a linear critic ({label})", True)
            return
        if self.mode == "gp" and abs(got - self.lam * want) <= 1e-4 * max(1, abs(got)):
            self.add(f"value equals lambda (||w|| - 1)^2 ({label}; lambda = {self.lam:g} is "
                     "inside your function)", True)
            return
        self.add(f"value equals the {self.mode} formula on a linear critic ({label})", False,
                 self.diagnose(got, want, critic, real, fake))

    def diagnose(self, got, want, critic, real, fake) -> str:
        n, w = real.shape[0], critic.w.detach().norm().item()
        msg = f"got {got:.6g}, expected {want:.6g}. "
        if penalised(self.mode):
            adv = 0.0 if self.mode == "gp" else self.reference(critic, real, fake, False).item()
            lam = 1.0 if self.mode == "gp" else self.lam
            batch = adv + lam * ((n ** 0.5) * w - 1) ** 2
            if abs(got - batch) < 1e-3 * max(1, abs(batch)):
                return msg + ("The gradient norm is taken over the whole batch: use "
                              "grad.flatten(1).norm(2, dim=1), one norm per sample.")
            if real.dim() > 2:
                c = real.shape[1]
                wc = critic.w.detach().reshape(c, -1).norm(dim=0)
                pix = adv + lam * ((wc - 1) ** 2).mean().item()
                if abs(got - pix) < 1e-3 * max(1, abs(pix)):
                    return msg + ("The norm runs over dim 1 only (channels): flatten each "
                                  "sample first, grad.flatten(1).norm(2, dim=1).")
            if abs(got - adv) < 1e-4 * max(1, abs(adv)):
                return msg + "The gradient penalty is missing or zero."
            if self.mode != "gp" and abs(got - (-adv + (want - adv))) < 1e-4 * max(1, abs(got)):
                return msg + "The adversarial term has the wrong sign (see the sign check)."
        return msg + f"Compare your formula with toygan.losses.{self.mode.replace('-', '_')}" \
                     f"_{'generator' if self.generator else 'critic'} (docs: python -m " \
                     "toygan.check --help)."


class PenaltyChecks(_CheckBase):
    """Where and how a gradient penalty is taken: points on the real-fake
    segments, one gradient norm per sample, finite at a flat critic, differentiable (create_graph),
    and a critic that judges each sample alone."""

    def interpolation(self) -> None:
        real, fake = _batch((6, 3, 4, 4), 1)
        critic = LinearCritic(_w(48))
        self.loss(critic, real, fake)
        flat_r, flat_f = real.flatten(1), fake.flatten(1)
        rows = _penalty_points(critic, real, fake)
        name = "interpolation weights are one per sample, on the real-fake segments"
        if not rows:
            self.add(name, False, "the critic never saw points between real and fake samples: "
                     "evaluate the penalty on x_hat = eps * real + (1 - eps) * fake")
            return
        eps_rows = []
        for x in rows:
            # Which pair does x lie between? The one whose implied eps varies least.
            e = (x[None] - flat_f) / (flat_r - flat_f)
            spread = e.max(1).values - e.min(1).values
            i = int(spread.argmin())
            eps_rows.append((e[i].mean().item(), spread[i].item()))
        worst = max(s for _, s in eps_rows)
        if worst > 1e-4:
            self.add(name, False, "the weight varies within a sample (one eps per pixel?): draw "
                     "eps = torch.rand(N, 1, 1, 1), one per sample, broadcast over its pixels")
            return
        eps = torch.tensor([e for e, _ in eps_rows])
        if (eps < -1e-6).any() or (eps > 1 + 1e-6).any():
            self.add(name, False, "points lie beyond the segments: eps must be in [0, 1]")
        elif len(eps) > 1 and float(eps.max() - eps.min()) < 1e-6:
            self.add(name, False, "every sample got the same eps: draw one per sample, "
                     "torch.rand(N, 1, ...)")
        else:
            self.add(name, True)

    def per_sample_gradient(self) -> None:
        """The penalty on a curved critic, recomputed from the points the function evaluated it
        at: mean over points of (||w + c x|| - 1)²."""
        real, fake = _batch((8, 2), 11)
        critic = CurvedCritic(_w(2))
        got = self.loss(critic, real, fake).item()
        pts = _penalty_points(critic, real, fake)
        name = "the penalty uses each sample's own gradient (curved critic)"
        if not pts:
            self.add(name, False, "the critic never saw the penalty's points (neither real nor "
                     "fake samples): evaluate the penalty on interpolates or perturbed samples")
            return
        pts = torch.stack(pts)
        grads = critic.w.detach() + critic.c * pts
        adv = 0.0 if self.mode == "gp" else \
            self.reference(CurvedCritic(_w(2)), real, fake, penalty=False).item()
        lams = (1.0, self.lam) if self.mode == "gp" else (self.lam,)
        per_sample = ((grads.norm(dim=1) - 1) ** 2).mean().item()
        if any(abs(got - (adv + lam * per_sample)) <= 1e-4 * max(1.0, abs(got)) for lam in lams):
            self.add(name, True)
            return
        mixed = ((grads.mean(0).norm() - 1) ** 2).item()
        if any(abs(got - (adv + lam * mixed)) <= 1e-4 * max(1.0, abs(got)) for lam in lams):
            fix = ("the gradients are averaged over the batch before the norm: take one norm per "
                   "sample, grad.flatten(1).norm(2, dim=1), and average the squared deviations "
                   "((norm - 1) ** 2).mean()")
        else:
            fix = (f"got {got:.6g}, expected {adv + lams[-1] * per_sample:.6g} from the critic's "
                   "gradients at the points your function evaluated it at")
        self.add(name, False, fix)

    def zero_gradient(self) -> None:
        real, fake = _batch((8, 2), 5)
        critic = LinearCritic(torch.zeros(2))
        try:
            loss = self.loss(critic, real, fake)
            loss.backward()
        except UserCodeFailed as e:
            self.add("finite value and gradient where the critic is flat", False, str(e))
            return
        finite = torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in
                                              critic.parameters() if p.grad is not None)
        self.add("finite value and gradient where the critic is flat", finite,
                 "NaN where the critic's input gradient is exactly zero: sqrt(sum(g**2)) has no "
                 "derivative at 0; use grad.norm(2, dim=1) (defined there) or sqrt(sum + 1e-12)")

    def create_graph(self) -> None:
        real, fake = _batch((8, 2), 6)
        mine, ref = LinearCritic(_w(2)), LinearCritic(_w(2))
        (g_mine,) = torch.autograd.grad(self.loss(mine, real, fake), [mine.w])
        (g_ref,) = torch.autograd.grad(self.reference(ref, real, fake), [ref.w])
        ok = torch.allclose(g_mine, g_ref, rtol=1e-4, atol=1e-6) or (
            self.mode == "gp" and torch.allclose(g_mine, self.lam * g_ref, rtol=1e-4, atol=1e-6))
        self.add("the penalty's gradient reaches the critic's weights (create_graph)", ok,
                 "the penalty does not train the critic: call torch.autograd.grad(..., "
                 "create_graph=True) so the gradient norm can itself be differentiated")

    def per_sample_critic(self, factory: Callable) -> None:
        try:
            critic = factory()
            critic.train()
            x = torch.randn(16, 2, generator=torch.Generator().manual_seed(8))
            y = x.clone()
            y[1:] = 5 * torch.randn(15, 2, generator=torch.Generator().manual_seed(9))
            a, b = critic(x).reshape(-1)[0], critic(y).reshape(-1)[0]
        except Exception as e:  # noqa: BLE001
            raise UserCodeFailed(f"your critic raised {type(e).__name__}: {e}{_where(e)}") from None
        self.add("the critic judges each sample alone (no batch statistics)",
                 torch.allclose(a, b, rtol=1e-5, atol=1e-6),
                 "a sample's score changes with the rest of the batch (BatchNorm?): a per-sample "
                 "gradient penalty is not defined through batch statistics; use LayerNorm or no "
                 "normalisation in a penalised critic")


class DirectionChecks(_CheckBase):
    """Which way the gradients flow: to the fakes in the generator's loss, not
    to the generator in the critic's, with the right sign and saturation."""

    def reaches_fakes(self) -> None:
        """The generator's loss must send its gradient to the fakes (it is the only way to G)."""
        real, fake = _batch((8, 2), 12)
        critic = LinearCritic(_w(2))
        x = fake.clone().requires_grad_(True)
        loss = self.loss(critic, real, x)
        got = torch.autograd.grad(loss, x, allow_unused=True)[0] if loss.requires_grad else None
        y = fake.clone().requires_grad_(True)
        (want,) = torch.autograd.grad(self.reference(LinearCritic(_w(2)), real, y), y)
        name = "the generator's loss sends gradient to the fakes"
        if got is None or not got.abs().sum() > 0:
            self.add(name, False, "no gradient reaches the generated samples, so the generator "
                     "never learns: do not detach the fakes (or generate them under no_grad) "
                     "in the generator's step")
        else:
            self.add(name, torch.allclose(got, want, rtol=1e-4, atol=1e-6),
                     f"the gradient on the fakes is {got[0].tolist()} for the first sample, "
                     f"expected {want[0].tolist()}")

    def sign(self) -> None:
        real, fake = _batch((8, 2), 2)
        energy = self.obj.output == "energy"
        if self.generator:
            base, up = self._shifted(real, fake, fake, 0.0), self._shifted(real, fake, fake, 0.5)
            ok = (up > base) if energy else (up < base)
            self.add("sign: the generator's loss falls as D rates its samples more real", ok,
                     "your generator loss rises when D finds the fakes more real: the sign is "
                     "flipped (minimise -E[D(fake)] for Wasserstein losses, -E[log D(fake)] "
                     "for the non-saturating one)")
            return
        base, up = self._shifted(real, fake, real, 0.0), self._shifted(real, fake, real, 0.5)
        ok = (up > base) if energy else (up < base)
        self.add("sign: raising D on real samples lowers the critic loss", ok,
                 "your critic is rewarded for calling real samples fake: the sign is flipped "
                 "(minimise E[D(fake)] - E[D(real)], not the reverse; with backward(one/mone), "
                 "check which term gets which)")

    def _shifted(self, real, fake, marked, delta) -> float:
        critic = LinearCritic(_w(2, 0.4))
        critic.marked, critic.delta = marked, delta
        return self.loss(critic, real, fake).item()

    def detached(self) -> None:
        real, _ = _batch((8, 2), 3)
        gen = nn.Linear(2, 2)
        fake = gen(torch.randn(8, 2, generator=torch.Generator().manual_seed(4)))
        self.loss(LinearCritic(_w(2)), real, fake).backward()
        leak = gen.weight.grad is not None and gen.weight.grad.abs().sum().item() > 0
        self.add("no gradient reaches the generator from the critic loss", not leak,
                 "the critic step back-propagates into the generator: use fake.detach() in "
                 "the critic's loss (or generate the fakes under torch.no_grad())")

    def saturation(self) -> None:
        real, fake = _batch((8, 2), 7)
        critic = LinearCritic(torch.zeros(2), b=-10.0)  # D(fake) = sigmoid(-10): sure it's fake
        loss = self.loss(critic, real, fake)
        (g,) = torch.autograd.grad(loss, [critic.b])
        saturating = abs(g.item()) < 1e-3
        kind = "saturating (minimax)" if saturating else "non-saturating"
        want = self.obj.generator_loss is losses.minimax_generator
        self.add(f"generator loss is {kind}: d loss / d logit = {g.item():.2g} where D(fake) = "
                 "sigmoid(-10)", saturating == want,
                 f"{self.mode} expects a {'saturating' if want else 'non-saturating'} generator "
                 "loss: the saturating log(1 - D(G(z))) gives no gradient when the critic is "
                 "sure; use -log D(G(z)) = softplus(-logit)")


class UnrolledChecks(_CheckBase):
    """An unrolled generator loss against its closed form on a linear critic."""

    def unrolled(self) -> None:
        # D(x) = w . x (no bias), K SGD steps of E[D(fake)] - E[D(real)]: w_K = w - K lr (f - r)
        # (f, r the batch means). The surrogate is the full objective at the unrolled critic
        # (Metz et al. eq. 12), L = -w_K . f + w_K . r, so dL/df_i = (-w_K + K lr (f - r)) / N
        # (second order; it vanishes where f = r), -w_K / N if the steps are not differentiated,
        # (-w_K + K lr f) / N if the real-data term is dropped.
        steps, lr = 3, 0.1
        real, fake = _batch((4, 2), 10)
        fake = fake.requires_grad_(True)
        critic = nn.Linear(2, 1, bias=False)
        with torch.no_grad():
            critic.weight.copy_(_w(2).reshape(1, 2))
        w0 = critic.weight.detach().clone().reshape(-1)
        loss = call(self.fn, critic, real, fake, steps=steps, lr=lr)
        (g,) = torch.autograd.grad(loss, [fake])
        f, r = fake.detach().mean(0), real.mean(0)
        wk = w0 - steps * lr * (f - r)
        second = (-wk + steps * lr * (f - r)) / len(fake)
        first = -wk / len(fake)
        no_real = (-wk + steps * lr * f) / len(fake)
        got = g.mean(0) * 1  # every sample's gradient is the same here
        name = "the generator's gradient flows through the unrolled critic steps"
        if torch.allclose(got, second, rtol=1e-4, atol=1e-6):
            self.add(name, True)
        elif torch.allclose(got, first, rtol=1e-4, atol=1e-6):
            self.add(name, False, "the unrolled steps are not differentiated (first order): keep "
                     "the critic's weights as tensors (torch.func.functional_call) and take their "
                     "gradients with create_graph=True")
        elif torch.allclose(got, no_real, rtol=1e-4, atol=1e-6):
            self.add(name, False, "the surrogate drops the real-data term: the generator "
                     "minimises the full objective at the unrolled critic, -E[D_K(fake)] + "
                     "E[D_K(real)] (Metz et al. eq. 12; the authors' notebook minimises "
                     "-unrolled_loss), and E[D_K(real)] depends on the generator through the "
                     "unrolled steps")
        else:
            self.add(name, False, f"gradient {got.tolist()} matches neither the second-order "
                     f"{second.tolist()} nor the first-order {first.tolist()} closed form")
        self.add("the real critic is left unchanged by the look-ahead",
                 torch.equal(critic.weight.detach().reshape(-1), w0),
                 "your function changed the critic's weights: unroll on copies")


class Checks(ValueChecks, PenaltyChecks, DirectionChecks, UnrolledChecks):
    """Runs the checks for one function; ``results`` holds (name, ok, message)."""

    def run(self, critic_factory=None) -> list[tuple[str, bool, str]]:
        if self.mode == "unrolled":
            self.unrolled()
            return self.results
        self.value((8, 2), "2D points")
        if self.generator:
            self.reaches_fakes()
            self.sign()
            if self.obj.output == "probability":
                self.saturation()
            return self.results
        has_penalty = penalised(self.mode)
        if has_penalty:
            self.value((6, 3, 4, 4), "image-shaped input: the norm is per sample")
        if on_segments(self.mode):
            self.interpolation()
        if has_penalty:
            self.per_sample_gradient()
        if self.mode != "gp":
            self.sign()
        self.detached()
        if has_penalty:
            self.zero_gradient()
            self.create_graph()
        if critic_factory is not None:
            self.per_sample_critic(critic_factory)
        return self.results


def build_parser() -> Parser:
    p = Parser(prog="python -m toygan.check", description=__doc__.split("\n\n")[0])
    p.add_argument("function", help="MODULE:FUNCTION or path/to/file.py:FUNCTION")
    p.add_argument("--as", dest="mode", required=True, choices=modes(), metavar="OBJECTIVE",
                   help=f"what the function computes: {', '.join(modes())}")
    p.add_argument("--generator", action="store_true",
                   help="the function is the generator's loss (default: the critic's)")
    p.add_argument("--critic", default=None, metavar="MODULE:FACTORY",
                   help="also check a critic for judging each sample alone")
    p.add_argument("--json", action="store_true", help="print the results as JSON (graders)")
    return p


def run(function, objective: str, generator: bool = False,
        critic=None) -> list[tuple[str, bool, str | None]]:
    """``python -m toygan.check``: check a loss ``function`` (a callable, or ``MODULE:FUNCTION``
    / ``path/to/file.py:FUNCTION``) as computing ``objective``'s critic loss (or, with
    ``generator``, its generator loss), also against a ``critic`` factory when given; returns
    (check, passed, how to fix) per check."""
    if objective not in modes():
        raise UserError(f"--as: must be one of {', '.join(modes())}, got {objective!r}")
    if generator and objective in ("gp", "unrolled"):
        raise UserError(f"--generator does not apply to --as {objective}")
    fn = load_function(function) if isinstance(function, str) else function
    factory = load_function(critic) if isinstance(critic, str) else critic
    try:
        return Checks(fn, objective, generator).run(factory)
    except UserCodeFailed as e:
        raise UserError(str(e)) from None


def main(argv=None) -> int:
    ns = build_parser().parse_args(argv)
    results = run(ns.function, ns.mode, ns.generator, ns.critic)
    failed = [r for r in results if not r[1]]
    if ns.json:
        print(json.dumps({"function": ns.function, "as": ns.mode, "generator": ns.generator,
                          "passed": not failed,
                          "checks": [{"check": n, "ok": ok, "fix": fix}
                                     for n, ok, fix in results]}, indent=2))
    else:
        for name, ok, fix in results:
            print(f"{'✔' if ok else '✗'} {name}" + (f"\n    → {fix}" if fix else ""))
        print(f"{len(results) - len(failed)}/{len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    run_main(main)
