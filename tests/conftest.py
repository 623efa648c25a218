import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def cli():
    """Run ``python -m MODULE ARGS`` from the repo root; returns the CompletedProcess."""

    def run(module, *args, timeout=600):
        env = dict(os.environ, PYTHONPATH=ROOT)
        return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout, env=env)

    return run
