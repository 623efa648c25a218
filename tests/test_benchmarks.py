"""Every benchmark script and figures/make.py still runs: each on its ``--tiny`` setting (the code
paths of the real measurement, on sizes that take seconds; the figures it prints are not checked).
A new script without ``--tiny`` fails here."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Scripts whose --tiny run a test already makes, with the test that makes it.
ELSEWHERE = {"notebook_time.py": "tests/test_notebooks.py runs both notebooks on these settings"}
SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").iterdir()
                 if p.suffix in (".py", ".sh") and p.name not in ELSEWHERE)
BROWSER = {"view_live.py", "view_page.py"}
RAY = {"cluster_speed.py"}

pytestmark = [pytest.mark.long, pytest.mark.slow]


def _marks(name):
    marks = []
    if name in BROWSER:
        marks.append(pytest.mark.browser)
        marks.append(pytest.mark.skipif(shutil.which("chromium") is None,
                                        reason="no chromium (apt-get install chromium)"))
    if name in RAY:
        marks.append(pytest.mark.ray)
    return marks


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n)) for n in SCRIPTS])
def test_a_benchmark_runs_on_its_tiny_setting(name, tmp_path):
    script = ROOT / "benchmarks" / name
    cmd = (["bash", str(script)] if name.endswith(".sh") else [sys.executable, str(script)])
    env = dict(os.environ, PYTHON=sys.executable)
    r = subprocess.run([*cmd, "--tiny"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=420, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip(), "a benchmark prints its figures"
    assert "identical: False" not in r.stdout  # cluster_speed: Ray gave the serial results
