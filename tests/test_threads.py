"""The thread policy: the user's count wins, else the cores other processes leave free."""

import pytest
import torch

from toygan import threads
from toygan.cli import Parser
from toygan.errors import UsageError


@pytest.fixture
def keep_threads(monkeypatch):
    n = torch.get_num_threads()
    for name in threads.ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(threads, "_cached", None)
    yield
    torch.set_num_threads(n)


def test_free_cores_from_the_kernels_counters(monkeypatch, keep_threads):
    """Two allowed CPUs: one idle for the whole window, one busy 3/4 of it -> 1.25 free; a CPU
    outside the affinity set does not count."""
    samples = iter([{0: (100, 1000), 1: (50, 1000), 2: (0, 0)},
                    {0: (200, 1100), 1: (75, 1100), 2: (0, 100)}])
    monkeypatch.setattr(threads, "_proc_stat", lambda: next(samples))
    monkeypatch.setattr(threads, "allowed_cpus", lambda: [0, 1])
    assert threads.free_cores(window=0) == pytest.approx(1.25)


def test_this_processs_own_threads_are_not_load(monkeypatch, keep_threads):
    """One CPU busy all the window, but 0.8 core of it was this process (a live run training
    while the next is built): 1.8 free of 2; capped at the allowed cores."""
    samples = iter([{0: (0, 1000), 1: (100, 1000)}, {0: (0, 1100), 1: (200, 1100)}])
    own = iter([5.0, 5.08])
    monkeypatch.setattr(threads, "_proc_stat", lambda: next(samples))
    monkeypatch.setattr(threads, "_own_cpu_s", lambda: next(own))
    monkeypatch.setattr(threads, "allowed_cpus", lambda: [0, 1])
    monkeypatch.setattr(threads.time, "sleep", lambda s: None)
    assert threads.free_cores(window=0.1) == pytest.approx(1.8)
    samples = iter([{0: (0, 1000), 1: (100, 1000)}, {0: (100, 1100), 1: (200, 1100)}])
    own = iter([5.0, 5.08])
    assert threads.free_cores(window=0.1) == pytest.approx(2.0)


@pytest.mark.parametrize("free,expected", [(2.0, 2), (1.6, 2), (1.2, 1), (0.1, 1)])
def test_as_many_threads_as_free_cores_and_at_least_one(monkeypatch, keep_threads, free,
                                                         expected):
    monkeypatch.setattr(threads, "free_cores", lambda window=0: free)
    monkeypatch.setattr(threads, "cores", lambda: 2)
    assert threads.choose() == expected


def test_the_users_count_wins(monkeypatch, keep_threads):
    monkeypatch.setattr(threads, "free_cores", lambda window=0: 0.0)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.choose() == 3 and threads.choose(2) == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "nonsense")
    assert threads.choose() == 1  # ignored: back to the measured free cores (none -> 1)
    p = Parser(prog="x")
    p.parse_args(["--threads", "2"])
    assert torch.get_num_threads() == 2 and threads.chosen() == 2
    with pytest.raises(UsageError, match="--threads: must be from 1 to 1024, got 0"):
        p.parse_args(["--threads", "0"])
