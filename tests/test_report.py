"""python -m imagegan.report: every section, every image, the architecture's parameter count;
and the HTML rendered in headless Chromium."""

import re

import pytest

from imagegan.models import Generator, count_params, make_critic
from imagegan.train import TrainConfig, train

TINY = dict(size=32, width=4, batch_size=8, log_every=2, eval_every=4, ckpt_every=4,
            device="cpu")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from imagegan.report import main

    root = tmp_path_factory.mktemp("rep")
    runs = [train(TrainConfig(loss=loss, steps=4, **TINY), root / loss, progress=False)
            for loss in ("bce", "wgan-gp")]
    assert main([str(r) for r in runs] + ["--out", str(root / "report")]) == 0
    return root / "report"


@pytest.mark.slow
def test_report_has_every_section_and_image(report):
    md = (report / "report.md").read_text()
    for heading in ("## Run 1:", "## Run 2:", "### Generator (", "### Critic (",
                    "### 64 generated images", "### Loss curves", "### Collapse metrics",
                    "## WGAN vs GAN, from these runs"):
        assert heading in md, heading
    images = re.findall(r"!\[.*?\]\((.+?)\)", md)
    assert len(images) == 4 and all((report / i).stat().st_size > 1000 for i in images)
    html = (report / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "<table>" in html
    assert "gradient penalty" in md and "Verdict of the collapse rule" in md


@pytest.mark.slow
def test_architecture_table_counts_the_models_parameters(report):
    md = (report / "report.md").read_text()
    totals = [int(t.replace(",", "")) for t in re.findall(r"^Total: ([\d,]+)$", md, re.M)]
    g = count_params(Generator(32, 4, 100))
    d_bce = count_params(make_critic("probability", 32, 4, "batch", False))
    d_gp = count_params(make_critic("score", 32, 4, "layer", False))
    assert totals == [g, d_bce, g, d_gp]


@pytest.mark.slow
@pytest.mark.browser
def test_report_renders_in_chromium(report, tmp_path):
    from browser import page

    with page() as pg:
        pg.goto((report / "report.html").as_uri())
        sizes = pg.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        assert len(sizes) == 4 and all(w > 100 for w in sizes)
        assert pg.locator("h2").count() >= 3
        pg.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_markdown_html_inlines_local_images_and_renders_tables(tmp_path):
    """Python-Markdown renders the lab's Markdown; each image that is a file beside it becomes
    a data URI (the fragment stands alone), any other link is left as written."""
    import base64

    import numpy as np

    from toygan.htmlpage import markdown_html, png_bytes

    (tmp_path / "a.png").write_bytes(png_bytes(np.zeros((4, 4, 3), np.uint8)))
    md = ("# Title\n\nSome *words* and **more**, `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
          "- one\n- two\n\n![grid](a.png)\n\n![gone](missing.png)\n")
    out = markdown_html(md, tmp_path)
    assert "<h1>Title</h1>" in out and "<em>words</em>" in out and "<strong>more</strong>" in out
    assert "<code>code</code>" in out and out.count("<li>") == 2
    assert "<th>a</th>" in out and "<td>2</td>" in out
    uri = re.search(r'alt="grid" style="max-width:100%" src="data:image/png;base64,([^"]+)"', out)
    assert uri and base64.b64decode(uri[1]) == (tmp_path / "a.png").read_bytes()
    assert 'src="missing.png"' in out
