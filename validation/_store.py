"""Results files: atomic writes, a directory lock, and loading for ``--resume`` and figures.

``DIR/results.json`` is ``{"meta": {...}, "completed": [check ids], "results": [records]}``.
Every write goes to a temporary file in the same directory, is flushed and fsynced, then
renamed over the target, so a reader (or a ``kill -9``) only ever sees a complete file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_text", "atomic_write_json", "load_results", "DirectoryLock",
           "ResultsFileError", "LockedError", "RESULTS_NAME"]

RESULTS_NAME = "results.json"


class ResultsFileError(ValueError):
    """A results file is missing, unreadable or malformed."""


class LockedError(RuntimeError):
    """Another live run holds the output directory."""


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file + fsync + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """JSON with ``allow_nan=False`` (callers sanitise with :func:`jsonable` first)."""
    atomic_write_text(path, json.dumps(obj, indent=1, allow_nan=False, sort_keys=False) + "\n")


def load_results(path: str | os.PathLike) -> dict:
    """Load a results file (or ``DIR/results.json``), checking its structure."""
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_NAME
    try:
        with open(p, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise ResultsFileError(f"results: no results file at {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsFileError(f"results: cannot read {p}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ResultsFileError(f"results: {p} is not valid JSON ({exc.msg} at line "
                               f"{exc.lineno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list) \
            or not isinstance(doc.get("meta"), dict):
        raise ResultsFileError(f"results: {p} lacks a 'meta' object and a 'results' list")
    for i, r in enumerate(doc["results"]):
        if not isinstance(r, dict) or "check" not in r or "status" not in r:
            raise ResultsFileError(f"results: {p}: record {i} lacks 'check' or 'status'")
    doc.setdefault("completed", sorted({r["check"] for r in doc["results"]}))
    return doc


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DirectoryLock:
    """An exclusive lock file ``DIR/.specdef.lock`` holding the owner's pid.

    A lock whose owner is dead (for example after ``kill -9``) is stale and taken over.
    """

    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory) / ".specdef.lock"
        self._held = False

    def acquire(self) -> "DirectoryLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or "0")
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _pid_alive(pid):
                    raise LockedError(f"out: {self.path.parent} is in use by another specdef run "
                                      f"(pid {pid}); wait for it or choose another --out") from None
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            self._held = True
            return self
        raise LockedError(f"out: could not lock {self.path.parent}")

    def release(self) -> None:
        if self._held:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            self._held = False

    def __enter__(self) -> "DirectoryLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
