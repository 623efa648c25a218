"""Animated GIFs: frames, sizes, panels, every objective, bad flags."""

import imageio.v2 as imageio
import numpy as np
import pytest

from toygan.animate import AnimateConfig, write_animation
from toygan.losses import OBJECTIVES
from toygan.render import Run
from toygan.train import TrainConfig, train

SMALL = dict(steps=40, g_width=32, d_width=32, batch_size=64, eval_every=10, eval_samples=500,
             snapshots=6, snapshot_points=128, grid_res=24, log_every=5)


def record(tmp_path, loss, **kw):
    out = tmp_path / f"run-{loss}"
    train(TrainConfig(loss=loss, **dict(SMALL, **kw)), out, progress=False)
    return Run.load(out)


def gif_frames(path):
    return np.stack(imageio.mimread(path))


@pytest.mark.slow
def test_cli_gif_has_requested_frames_and_size_and_moves(cli, tmp_path):
    out = tmp_path / "bce.gif"
    r = cli("toygan.animate", "--loss", "bce", "--steps", "40", "--frames", "5", "--size", "200",
            "--out", out, "--last-png", "--quiet")
    assert r.returncode == 0, r.stderr
    assert str(out) in r.stdout.splitlines()
    frames = gif_frames(out)
    assert frames.shape[0] == 5
    assert frames.shape[2] == 200 and frames.shape[1] == 248  # width = --size, height 1.24x
    diffs = [np.abs(frames[i].astype(int) - frames[i + 1]).mean() for i in range(4)]
    assert min(diffs) > 0.1  # every frame differs from the next
    png = imageio.imread(out.with_suffix(".png"))
    assert png.shape[:2] == (248, 200)


# One objective per kind of critic output (a logit, a penalised critic, an energy) in the fast
# path; the rest are its checks in depth.
FAST_RENDER = ("bce", "wgan-gp", "ebgan")


@pytest.mark.parametrize("loss", [o if o in FAST_RENDER else pytest.param(o, marks=pytest.mark.slow)
                                  for o in sorted(OBJECTIVES)])
def test_every_objective_renders(tmp_path, loss):
    run = record(tmp_path, loss)
    out = tmp_path / f"{loss}.gif"
    result = write_animation([run], out, AnimateConfig(frames=6, fps=5, size=160, manifold=True,
                                                       arrows=16), progress=False)
    frames = gif_frames(out)
    assert result["frames"] == 6 and frames.shape[:3] == (6, 198, 160)
    assert frames[0].std() > 10  # not a blank image


def test_ebgan_landscape_is_its_energy(tmp_path):
    run = record(tmp_path, "ebgan")
    assert run.output == "energy"
    assert (run.critic_display() >= 0).all()  # squared reconstruction errors


@pytest.mark.slow
def test_side_by_side_has_one_panel_per_loss(cli, tmp_path):
    out = tmp_path / "cmp.gif"
    r = cli("toygan.animate", "--loss", "bce,wgan-gp,lsgan", "--steps", "20", "--frames", "3",
            "--size", "150", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    frames = gif_frames(out)
    assert frames.shape[0] == 3 and frames.shape[2] == 3 * 150


def test_render_existing_run(cli, tmp_path):
    record(tmp_path, "wgan-gp")
    out = tmp_path / "again.gif"
    r = cli("toygan.animate", "--run", tmp_path / "run-wgan-gp", "--frames", "4", "--size", "150",
            "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert gif_frames(out).shape[0] == 4


def test_same_seed_same_initial_weights_across_losses(tmp_path):
    a, b = record(tmp_path, "bce"), record(tmp_path, "lsgan")
    np.testing.assert_array_equal(a.snap["fake"][0], b.snap["fake"][0])


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--loss", "bce,nope"], "unknown loss 'nope'"),
        (["--frames", "0"], "--frames: must be >= 1, got 0"),
        (["--fps", "-2"], "--fps: must be >= 1, got -2"),
        (["--out", "/proc/forbidden/x.gif"], "cannot"),
        (["--out", "x.png"], "must end in .gif"),
        (["--run", "/no/such/run"], "not a toygan run folder"),
        (["--data", "nope"], "unknown data"),
    ],
)
def test_bad_flags_one_line_exit_2(cli_inproc, args, needle):
    r = cli_inproc("toygan.animate", *args, "--quiet")
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_existing_output_needs_overwrite(cli_inproc, tmp_path):
    out = tmp_path / "keep.gif"
    out.write_bytes(b"precious")
    r = cli_inproc("toygan.animate", "--loss", "bce", "--steps", "5", "--frames", "2", "--out",
                   out, "--quiet")
    assert r.returncode == 2 and "--overwrite" in r.stderr
    assert out.read_bytes() == b"precious"


def test_side_by_side_titles_never_overlap(tmp_path):
    """Long variant names in narrow panels (the bug gallery's 400 px): the titles shrink to fit
    between their neighbours instead of running into them."""
    from toygan.render import Animation

    runs = [record(tmp_path, "wgan-gp"), record(tmp_path / "b", "wgan-gp", bug="no-create-graph")]
    anim = Animation(runs, size=300)
    anim.frame(anim.n_frames - 1)
    renderer = anim.fig.canvas.get_renderer()
    left, right = (p.title.get_window_extent(renderer) for p in anim.panels)
    assert left.x1 < right.x0
    sizes = {p.title.get_fontsize() for p in anim.panels}
    assert len(sizes) == 1 and sizes.pop() < 12  # it had to shrink, and both titles match
    anim.close()
    wide = Animation(runs[:1], size=640)  # one roomy panel keeps the full size
    assert wide.panels[0].title.get_fontsize() == 12
    wide.close()


@pytest.mark.slow
def test_parallel_training_and_rendering_make_the_same_gif(tmp_path):
    """Several runs trained in worker processes and frames drawn in chunks by others: the GIF
    and the records are byte for byte those of one process."""
    from toygan.animate import build_parser, execute

    outs = {}
    for w in (1, 2):
        out = tmp_path / f"w{w}.gif"
        execute(build_parser().parse_args(
            ["--loss", "bce,wgan-gp", "--steps", "30", "--frames", "16", "--size", "96",
             "--workers", str(w), "--out", str(out), "--keep-run", str(tmp_path / f"r{w}"),
             "--quiet"]))
        outs[w] = out
    assert outs[1].read_bytes() == outs[2].read_bytes()
    for name in ("bce", "wgan-gp"):  # wgan-gp trained first in parallel, second in series
        assert (tmp_path / "r1" / name / "stats.jsonl").read_text() == \
            (tmp_path / "r2" / name / "stats.jsonl").read_text()
        assert Run.load(tmp_path / "r2" / name).config["loss"] == name
    assert gif_frames(outs[1]).shape[0] == 16


def test_longest_runs_train_first():
    """Runs in worker processes start in order of their cost, so the longest one does not wait
    behind the short ones: a penalised critic with 5 steps before clipping's 5 before one BCE
    step; unrolling multiplies."""
    from toygan.animate import _relative_cost

    cost = {loss: _relative_cost(TrainConfig(loss=loss, steps=100))
            for loss in ("bce", "wgan", "wgan-gp")}
    assert cost["wgan-gp"] > cost["wgan"] > cost["bce"]
    assert cost["bce"] == 100 * 2 and cost["wgan-gp"] == 100 * 11
    assert _relative_cost(TrainConfig(loss="bce", steps=100, unroll=5)) == 6 * cost["bce"]


@pytest.mark.parametrize("style", ["default", pytest.param("seaborn-v0_8-darkgrid",
                                                         marks=pytest.mark.slow)])
def test_a_frame_equals_a_full_redraw_of_the_figure(tmp_path, style):
    """Frames draw the static parts once and only the moving artists per frame: each frame must
    equal drawing the whole figure from scratch (a title, marker or colour bar left in a stale
    background would differ in thousands of pixels). The one allowed difference: the step marker
    drawn over, not under, the axes' right edge where it sits at the last step. A style the
    process set before (a notebook's seaborn theme) must not leak into either."""
    import matplotlib.pyplot as plt

    from toygan.render import Animation

    runs = [record(tmp_path, "bce"), record(tmp_path, "wgan-gp")]  # fixed and moving colour bars
    with plt.style.context(style):
        anim = Animation(runs, size=320)
    try:
        frames = []
        for i in range(anim.n_frames):
            with plt.style.context(style):
                fast = anim.frame(i)
                full = anim.full_redraw()
            assert fast.shape == full.shape
            # Eight levels of 255 absorb alpha blending's rounding where the half-transparent
            # marker crosses a curve (a few pixels, 2 levels, after a seaborn theme).
            diff = np.abs(fast.astype(int) - full.astype(int)).max(-1)
            cols = set(np.nonzero(diff > 8)[1])
            if i < anim.n_frames - 1:
                assert not cols, (i, sorted(cols))
            else:
                step = runs[0].snap["steps"][i]
                marker_x = [p.cax.transData.transform((step, 0))[0] for p in anim.panels]
                cols = set(np.nonzero(diff)[1])
                assert cols and all(min(abs(c - x) for x in marker_x) <= 2 for c in cols)
            frames.append(fast)
        assert not np.array_equal(frames[1], frames[-1])
    finally:
        anim.close()


def test_a_collapse_during_the_run_is_marked_where_it_began():
    """The curves panel marks a lost run's onset (the live page's bold line: every mode, then
    fewer to the end) with a labelled dashed line; a run that keeps its modes, or whose count
    wobbles for one evaluation, gets no mark."""
    import matplotlib.pyplot as plt

    from toygan.render import ONSET_COLOR, mark_onset

    def stats(*counts):
        return [{"step": 100 * i, "modes_covered": c} for i, c in enumerate(counts)]

    for counts, onset in (((1, 8, 8, 8, 2, 1, 1, 1), 400), ((1, 8, 7, 8, 8, 7, 8, 8), None),
                          ((0, 1, 2, 3, 2, 1, 1, 1), None)):
        fig, ax = plt.subplots()
        assert mark_onset(ax, stats(*counts), 8) == onset
        marks = [ln for ln in ax.get_lines() if ln.get_color() == ONSET_COLOR]
        assert [ln.get_xdata()[0] for ln in marks] == ([onset] if onset else [])
        assert [t.get_text() for t in ax.texts] == ([" modes lost from step 400"] if onset else [])
        plt.close(fig)
    assert mark_onset(plt.gca(), stats(1, 8, 2), 0) is None  # no known modes
    plt.close("all")
