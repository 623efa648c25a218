"""Files the lab writes: atomically, one temporary name per writer, readable after any crash.

* :func:`atomic_path` — write to a private temporary file beside ``path`` (its name carries the
  process id and a random tag, so concurrent writers never share one), flush it to disk, then
  rename it over ``path``: a reader sees the old file or the new one, never a torn one. A full disk
  becomes one line, "no space left on device", and the previous file is kept.
* :func:`write_text`, :func:`write_json`, :func:`save_npz`, :func:`save_torch` — the writers
  every program uses, all through :func:`atomic_path` (figures and GIFs: :mod:`toygan.pictures`).
* :func:`read_jsonl` — records written line by line (``stats.jsonl``); a torn last line, what a
  crash or a synced folder leaves, is skipped with one warning (and cut off with ``repair``).
* :func:`prepare_dir` and :func:`output_file` — the ``--out`` / ``--overwrite`` contract of every
  command: checked before any work, an existing result is never replaced without
  ``--overwrite``, and overwriting starts from an empty folder.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from toygan.errors import UserError

# Files that mark a folder as one of ours (a run or a study), so --overwrite may empty it.
RUN_MARKERS = ("config.json", "stats.jsonl", "checkpoint.pt", "snapshots.npz", "results.csv",
               "study.json")


def _full_disk(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    # torch.save reports a short write of its zip archive as "unexpected pos A vs B".
    return "No space left on device" in text or "unexpected pos" in text


def open_for_write(path: Path):
    """The file object writers use (a seam for tests that simulate a full disk)."""
    return open(path, "wb")


@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a private temporary path; on success it replaces ``path`` in one rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except Exception as e:
        if _full_disk(e):
            raise UserError(f"no space left on device while writing {path}"
                            + (" (the previous file is kept)" if path.exists() else "")) from None
        if isinstance(e, OSError) and not isinstance(e, FileNotFoundError | IsADirectoryError):
            raise UserError(f"cannot write {path}: {e.strerror or e}") from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path, data: bytes) -> None:
    with atomic_path(path) as tmp, open_for_write(tmp) as f:
        f.write(data)


def write_text(path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")


def save_npz(path, **arrays) -> None:
    with atomic_path(path) as tmp, open_for_write(tmp) as f:
        np.savez_compressed(f, **arrays)


def save_torch(obj, path) -> None:
    import torch

    with atomic_path(path) as tmp, open_for_write(tmp) as f:
        torch.save(obj, f)


def load_torch(path, fmt: str, what: str) -> dict:
    """A checkpoint written by :func:`save_torch` whose ``"format"`` is ``fmt``, or a one-line
    error saying why it cannot be used (missing, truncated, foreign)."""
    import torch

    path = Path(path)
    if not path.exists():
        raise UserError(f"no checkpoint in {path.parent} (expected {path.name})")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 — truncated or foreign file
        raise UserError(f"cannot read {path}: {str(e).splitlines()[0][:200]}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != fmt:
        raise UserError(f"{path} is not {what}")
    return ckpt


def read_jsonl(path, repair: bool = False) -> list[dict]:
    """The records of a JSON-lines file; unreadable lines are skipped with one warning.

    A crash (or a cloud-synced folder) can leave the last line torn, e.g. ``{"step": 120, "d_lo``.
    With ``repair`` the file is rewritten without the unreadable lines, so appending goes on
    from a clean end.
    """
    path = Path(path)
    good, bad = [], 0
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    for line in lines:
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(rec, dict):
            good.append(rec)
        else:
            bad += 1
    if bad:
        print(f"warning: {path}: skipped {bad} unreadable record line(s) (a torn write left by "
              f"a crash){'; the file was repaired' if repair else ''}", file=sys.stderr)
        if repair:
            write_text(path, "".join(json.dumps(r) + "\n" for r in good))
    return good


def _is_ours(folder: Path) -> bool:
    return any((folder / m).exists() for m in RUN_MARKERS)


def prepare_dir(folder, overwrite: bool, hint: str = "pass --overwrite or another --out",
                check_only: bool = False, what: str = "run") -> Path:
    """An empty, writable folder for a new run or study.

    An existing non-empty folder is refused unless ``overwrite``; with ``overwrite`` it is
    emptied first (only a folder holding one of our runs or studies: anything else is refused),
    so nothing of an old run can mix into the new one. ``check_only``: raise what would be
    refused, change nothing.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not overwrite:
            raise UserError(f"{folder} already holds a {what}; {hint}")
        if not _is_ours(folder):
            raise UserError(f"{folder} is not empty and holds no run of ours; --overwrite only "
                            "empties run folders, choose an empty --out")
        if check_only:
            return folder
        for child in folder.iterdir():
            try:
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            except OSError as e:
                raise UserError(f"cannot empty {folder}: {e.strerror}") from None
    if not check_only:
        ensure_writable_dir(folder)
    return folder


def ensure_writable_dir(folder) -> Path:
    """Create ``folder`` if needed and prove it writable with a probe file, or a UserError."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe-{os.getpid()}-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UserError(f"cannot write to {folder}: {e.strerror or e}") from None
    return folder


def output_file(path, suffixes, overwrite: bool, companions=()) -> Path:
    """Check an output file before any work: its suffix, its folder writable, and that neither it
    nor its ``companions`` (other suffixes written beside it) exist unless ``overwrite``."""
    out = Path(path)
    suffixes = (suffixes,) if isinstance(suffixes, str) else tuple(suffixes)
    if out.suffix.lower() not in suffixes:
        raise UserError(f"--out must end in {' or '.join(suffixes)}, got {out.name}")
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name ending in {suffixes[0]}")
    if not overwrite:
        for p in [out] + [out.with_suffix(s) for s in companions]:
            if p.exists():
                raise UserError(f"{p} exists; pass --overwrite to replace it")
    ensure_writable_dir(out.parent)
    return out
