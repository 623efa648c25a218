"""The front door stays true: the README's size and commands, and the generated pages equal what
their sources give (a number is written once)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _docs_make():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_make", ROOT / "docs" / "make.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_pages_equal_their_sources():
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "make.py"), "--check"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    main_job, tests = blocks[0], blocks[1]
    assert "pip install -e .\n" in main_job and "[dev]" not in main_job  # only what it needs
    assert main_job.strip().endswith("python -m toygan.animate --loss bce")
    assert tests.strip().endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    # CI runs exactly the README's command, then the long checks it leaves out.
    assert ci.strip().endswith("python -m pytest\npython -m pytest -m long")
    # Every command the README lists exists, and every command module is listed.
    listed = set(re.findall(r"python -m ((?:toygan|imagegan)\.\w+)", readme))
    for name in listed:
        pkg, mod = name.split(".")
        assert (ROOT / pkg / f"{mod}.py").exists(), name
    assert set(_docs_make().COMMANDS) <= listed, set(_docs_make().COMMANDS) - listed
    # Relative links point at files that exist.
    for target in re.findall(r"\]\(((?!http)[^)#]+)", readme):
        assert (ROOT / target).exists(), target


def test_the_guides_veegan_phase_counts_are_what_the_committed_evaluations_give():
    """docs/guide.md says how often VEEGAN's GAN sits in the paper's row (ring: one mode at high
    quality; grid: a few modes at almost no high quality); re-count it from the committed
    evaluations, so the sentence cannot drift from the numbers."""
    import csv

    rows = list(csv.DictReader(open(ROOT / "reproductions" / "veegan-2d" / "evaluations.csv")))
    ring = [r for r in rows if r["data"] == "ring-pacgan"]
    grid = [r for r in rows if r["data"] == "grid-pacgan"]
    one = lambda r, hq: int(r["modes_covered"]) == 1 and float(r["hq_frac"]) >= hq  # noqa: E731
    ring_one = sum(one(r, 0.5) for r in ring)
    ring_95 = sum(one(r, 0.95) for r in ring)
    ring_seeds = sorted({r["seed"] for r in ring if one(r, 0.5)})
    grid_one = sum(one(r, 0.5) for r in grid)
    grid_diffuse = sum(1 <= int(r["modes_covered"]) <= 5 and float(r["hq_frac"]) <= 0.02
                       for r in grid)
    text = " ".join((ROOT / "docs" / "guide.md").read_text().split())
    assert f"{ring_one} of the {len(ring)} ring evaluations are one mode at ≥ 50%" in text
    assert f"{ring_95} of them at ≥ 95%" in text
    assert f"in seeds {', '.join(ring_seeds[:-1])} and {ring_seeds[-1]}" in text
    assert f"({grid_one} of {len(grid)})" in text
    assert f"{grid_diffuse} of {len(grid)} evaluations cover 1–5 modes" in text
