"""Wall time of each example notebook run top to bottom in a fresh kernel with its committed
settings (what the notebooks' text states), cell by cell.

    python benchmarks/notebook_time.py                       # both notebooks
    python benchmarks/notebook_time.py examples/slides.ipynb
    python benchmarks/notebook_time.py --tiny                # CI: the tests' small settings

Runs in a temporary folder (the notebooks write ``runs/`` beside themselves), like nbclient in
the tests but with the committed parameters; prints the seconds of every code cell that took
more than one second and the total.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def run(path: Path, extra: str | None = None) -> float:
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    if extra:
        at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(extra))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "examples"
        work.mkdir()
        client = nbclient.NotebookClient(nb, timeout=1800, kernel_name="python3",
                                         resources={"metadata": {"path": str(work)}})
        t0 = time.perf_counter()
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                t = time.perf_counter()
                client.execute_cell(cell, i)
                dt = time.perf_counter() - t
                if dt > 1:
                    first = cell.source.strip().splitlines()[0][:70]
                    print(f"  cell {i:2d}: {dt:6.1f} s  {first}", flush=True)
        return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("notebooks", nargs="*", help="default: examples/*.ipynb")
    p.add_argument("--tiny", action="store_true", help="the tests' small settings (CI)")
    a = p.parse_args(argv)
    paths = [Path(n) for n in a.notebooks] or sorted((ROOT / "examples").glob("*.ipynb"))
    small = {}
    if a.tiny:
        from test_notebooks import SMALL as small
    for path in paths:
        print(f"{path.name}:", flush=True)
        total = run(path, small.get(path.name))
        print(f"{path.name}: {total:.0f} s top to bottom ({total / 60:.1f} min)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
