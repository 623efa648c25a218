"""The example notebooks run top to bottom in a fresh kernel (nbclient), with small settings
injected after their ``parameters`` cell (papermill's convention), and show their results inline.
The committed notebooks carry no outputs."""

import base64
from pathlib import Path

import pytest

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CELL_TIMEOUT = 300  # seconds per cell

SMALL = {
    "homework.ipynb": 'WIDTH = 8\nSTEPS = 40\nWGAN_STEPS = 40\nEVAL_EVERY = 20\n'
                      'STUDY_STEPS = 20\nGRADNORM_STEPS = 2',
    "slides.ipynb": 'STEPS = 40\nFRAMES = 3\nSIZE = 160\n'
                    'STUDY = dict(variants="bce,wgan-gp", data="ring", seeds=1, steps=20)',
}


def _outputs(nb, mime):
    return [o["data"][mime] for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if mime in o.get("data", {})]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_committed_notebook_has_no_outputs(name):
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1


@pytest.mark.long
@pytest.mark.parametrize("name", sorted(SMALL))
def test_notebook_runs_top_to_bottom_and_shows_results_inline(name, tmp_path, monkeypatch):
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(SMALL[name]))
    work = tmp_path / "examples"
    work.mkdir()
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own inline backend
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(work)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == []
    html = "".join(_outputs(nb, "text/html"))
    runs = work / "runs"
    if name == "slides.ipynb":
        # Two GIFs play in their cells, byte for byte the files written beside the notebook.
        for gif in ("bce.gif", "four.gif"):
            data = base64.b64encode((runs / "slides" / gif).read_bytes()).decode()
            assert f'src="data:image/gif;base64,{data}"' in html
        assert "wgan-gp on ring" in html and "<iframe srcdoc=" in html
        assert "<td>wgan-gp</td>" in html  # the study's table
    else:
        # Runs, study, report as HTML; grids and the gradient plot as PNG images.
        assert html.count("raw G:") >= 2 and "GAN homework report" in html
        assert "bce+mbstd" in html
        pngs = _outputs(nb, "image/png")
        assert len(pngs) == 4  # the user's loss plot (inline backend), gradient norms, 2 grids
        grid = (runs / "homework" / "bce-16" / "grid.png").read_bytes()
        assert base64.b64encode(grid).decode() in [p.strip() for p in pngs]
        assert len(list((runs / "homework" / "submission").glob("*.jpg"))) == 1000
        assert (runs / "homework" / "report" / "report.html").exists()
