"""The look and the curve plot every study figure shares (``toygan.compare``,
``toygan.reproduce``, ``imagegan.compare``): mean ± 1 s.e. bands over seeds with seaborn."""

from __future__ import annotations


def plot_curves(ax, curves: list[dict], y_label: str, title: str, x: str = "step") -> None:
    """Mean ± 1 s.e. band over seeds of a metric against ``x`` (step or epoch), one line per
    variant.

    ``curves``: long-form records ``{"variant", x, "value", "seed"}``.
    """
    import pandas as pd
    import seaborn as sns

    if not curves:
        ax.set_title(title + " (no data)")
        return
    df = pd.DataFrame(curves)
    sns.lineplot(data=df, x=x, y="value", hue="variant", errorbar=("se", 1), ax=ax,
                 palette=palette(df["variant"].nunique()), lw=1.6)
    ax.set_title(title)
    ax.set_xlabel(x)
    ax.set_ylabel(f"{y_label} (mean ± s.e. over seeds)")
    ax.legend(fontsize=7, ncol=2, loc="best")


def palette(n: int) -> list:
    """``n`` distinct colours: the ten dark hues of tab20 first, then the light ones."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab20")
    return [cmap((2 * i) % 20 + (2 * i) // 20 % 2) for i in range(n)]


def theme() -> None:
    """The look every study figure shares."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
