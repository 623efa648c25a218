"""Variant strings: one objective plus mitigations, the vocabulary of every study and slide.

A variant is ``LOSS[+NAME[=VALUE]...]`` — ``bce``, ``bce+unroll=5``, ``wgan-gp+pack=2``,
``bce+mbstd``, ``hinge+sn``, ``bce+r1=1`` — and :func:`parse_variant` turns it into the config
fields it sets. The same strings work for 2D points (``toygan.compare``, ``toygan.animate``) and
images (``imagegan.compare``), since the fields live in the shared ``toygan.ganconfig.GANConfig``.
"""

from __future__ import annotations

from toygan.errors import UserError

# name -> (config field, value parser, value when given bare, extra fields it sets)
MITIGATIONS: dict[str, tuple] = {
    "unroll": ("unroll", int, 5, {"unroll_mode": "second-order"}),
    "unroll-fo": ("unroll", int, 5, {"unroll_mode": "first-order"}),
    "pack": ("pack", int, 2, {}),
    "mbstd": ("mbstd", bool, True, {}),
    "sn": ("spectral_norm", bool, True, {}),
    "r1": ("r1_weight", float, 1.0, {}),
    "bug": ("bug", str, None, {}),  # toygan.bugs: the zoo of classic implementation bugs
}


def _value(kind, text: str, name: str, spec: str):
    if kind is str:
        from toygan.bugs import BUGS

        if text not in BUGS:
            raise UserError(f"unknown {name} {text!r} in {spec!r}; choose from {', '.join(BUGS)}")
        return text
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise UserError(f"bad value {text!r} for {name} in {spec!r}; use on or off")
    try:
        return kind(text)
    except ValueError:
        raise UserError(f"bad value {text!r} for {name} in {spec!r}; expected a "
                        f"{kind.__name__}") from None


def parse_variant(spec: str) -> dict:
    """``bce+unroll=5`` -> {"loss": "bce", "unroll": 5, "unroll_mode": "second-order"}."""
    from toygan.losses import OBJECTIVES

    loss, *mods = spec.strip().split("+")
    if loss not in OBJECTIVES:
        raise UserError(f"unknown loss {loss!r} in variant {spec!r}; choose from "
                        f"{', '.join(OBJECTIVES)}")
    out: dict = {"loss": loss}
    for mod in mods:
        name, eq, text = mod.partition("=")
        if name not in MITIGATIONS:
            raise UserError(f"unknown mitigation {name!r} in {spec!r}; choose from "
                            f"{', '.join(MITIGATIONS)}")
        field_name, kind, bare, extra = MITIGATIONS[name]
        if not eq and bare is None:
            raise UserError(f"{name} needs a value in {spec!r}, e.g. {name}=NAME")
        out[field_name] = _value(kind, text, name, spec) if eq else bare
        out.update(extra)
    return out


def parse_variants(text: str) -> list[str]:
    """A comma-separated list of variants, each checked."""
    variants = [v.strip() for v in text.split(",") if v.strip()]
    if not variants:
        raise UserError("no variant given")
    for v in variants:
        parse_variant(v)
    return variants


def run_name(variant: str, data: str, seed: int, extra: str = "") -> str:
    """A folder name for one run of a study: ``bce+unroll5-ring-seed0``."""
    data = data.replace(":", "_").replace("/", "_").replace("\\", "_")
    return f"{variant.replace('=', '')}-{data}{extra}-seed{seed}"


def variant_label(config: dict) -> str:
    """The variant string of a (resolved) config dict: ``bce+unroll=5``, ``wgan-gp+pack=2``."""
    parts = [config["loss"]]
    if config.get("unroll"):
        fo = config.get("unroll_mode") == "first-order"
        parts.append(f"{'unroll-fo' if fo else 'unroll'}={config['unroll']}")
    if config.get("pack", 1) > 1:
        parts.append(f"pack={config['pack']}")
    if config.get("mbstd"):
        parts.append("mbstd")
    if config.get("spectral_norm"):
        parts.append("sn")
    if config.get("r1_weight"):
        parts.append(f"r1={config['r1_weight']:g}")
    if config.get("bug", "none") != "none":
        parts.append(f"bug={config['bug']}")
    return "+".join(parts)
