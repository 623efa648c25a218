"""Where and how a model runs: device, mixed precision, memory format — every path runnable on CPU.

``--device auto`` picks CUDA, then Apple's MPS, then the CPU. Mixed precision (``--amp``) and
the channels-last memory format (``--channels-last``) default to on for CUDA only, but both can
be asked for on the CPU too (bfloat16 autocast and channels-last convolutions exist there), so
the code paths a GPU takes also run, and are tested, on a machine without one.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

from toygan.errors import UserError

DEVICES = ("auto", "cpu", "cuda", "mps")
AMP_MODES = ("auto", "bf16", "fp16", "off")
SWITCHES = ("auto", "on", "off")


def resolve_device(name: str) -> torch.device:
    """The torch device for ``--device``; a one-line error if it is not there."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda asked for, but no CUDA device is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None)
                              and torch.backends.mps.is_available()):
        raise UserError("--device mps asked for, but no MPS device is available")
    if name not in DEVICES:
        raise UserError(f"unknown device {name!r}; choose from {', '.join(DEVICES)}")
    return torch.device(name)


class Precision:
    """Autocast and loss scaling for ``--amp`` on ``device``.

    ``auto`` is bfloat16 on CUDA and full precision elsewhere; ``bf16`` and ``fp16`` are honoured
    on any device. fp16 uses a gradient scaler (bf16 has float32's range and needs none).
    Gradient penalties are computed in float32 whatever the mode (``toygan.losses.grad_norms``).
    """

    def __init__(self, mode: str, device: torch.device):
        if mode not in AMP_MODES:
            raise UserError(f"unknown --amp {mode!r}; choose from {', '.join(AMP_MODES)}")
        if mode == "auto":
            mode = "bf16" if device.type == "cuda" else "off"
        self.mode, self.device = mode, device
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mode)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.dtype == torch.float16)

    def autocast(self):
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward_step(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        """``loss.backward()`` then ``opt.step()``, through the scaler when fp16."""
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)
        self.scaler.update()


def use_channels_last(switch: str, device: torch.device) -> bool:
    """``--channels-last``: auto (on for CUDA), on, off."""
    if switch not in SWITCHES:
        raise UserError(f"unknown --channels-last {switch!r}; choose from {', '.join(SWITCHES)}")
    return device.type == "cuda" if switch == "auto" else switch == "on"
