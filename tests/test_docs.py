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
    assert ci.strip().endswith("python -m pytest")  # CI runs exactly the README's command
    # Every command the README lists exists, and every command module is listed.
    listed = set(re.findall(r"python -m ((?:toygan|imagegan)\.\w+)", readme))
    for name in listed:
        pkg, mod = name.split(".")
        assert (ROOT / pkg / f"{mod}.py").exists(), name
    assert set(_docs_make().COMMANDS) <= listed, set(_docs_make().COMMANDS) - listed
    # Relative links point at files that exist.
    for target in re.findall(r"\]\(((?!http)[^)#]+)", readme):
        assert (ROOT / target).exists(), target
