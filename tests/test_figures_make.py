"""figures/make.py still runs: every part on its ``--tiny`` setting (the code that makes the
committed figures, on sizes that take seconds), and it never writes over figures/ when tiny."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.long, pytest.mark.slow]


def test_figures_make_runs_on_its_tiny_setting(tmp_path):
    out = tmp_path / "figs"
    r = subprocess.run([sys.executable, str(ROOT / "figures" / "make.py"), "--tiny", "--out",
                        str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=420)
    assert r.returncode == 0, r.stderr[-3000:]
    made = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"ring-bce.gif", "ring-comparison.gif", "gradnorm.png", "surfaces.png",
            "view-example.html", "collapse-calibration/calibration.md"} <= made
    assert any(m.startswith("bugs/bug-") for m in made)
    assert any(m.startswith("concepts/") for m in made)
    # The figures folder itself is refused: --tiny never overwrites the committed figures.
    r = subprocess.run([sys.executable, str(ROOT / "figures" / "make.py"), "--tiny"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "--out" in r.stderr
