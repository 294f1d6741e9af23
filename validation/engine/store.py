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
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are for everyone to read
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


_REQUIRED = {"check": str, "theorem": str, "status": str, "params": dict}
_OPTIONAL = {"detail": (str,), "data": (dict,), "instance": (dict, type(None)), "seed": (int,),
             "backend": (str,), "dtype": (str,), "version": (str,), "expectation": (str,)}
_NUMBERS = ("empirical", "proven", "rtol", "elapsed_s")


def _bad_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} (results files hold none)")


def _is_number(v: Any) -> bool:
    """A JSON number, or the ``"inf"``/``"-inf"`` strings that :func:`jsonable` writes."""
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or (
        isinstance(v, str) and v in ("inf", "-inf"))


def _check_record(p: Path, i: int, r: Any) -> None:
    """Raise :class:`ResultsFileError` unless ``r`` is a well-formed result record."""
    from .records import Status

    if not isinstance(r, dict) or "check" not in r or "status" not in r:
        raise ResultsFileError(f"results: {p}: record {i} lacks 'check' or 'status'")
    for key, typ in _REQUIRED.items():
        if not isinstance(r.get(key), typ):
            raise ResultsFileError(f"results: {p}: record {i} field '{key}' must be a "
                                   f"{typ.__name__}, got {r.get(key)!r:.60}")
    if r["status"] not in Status.ALL:
        raise ResultsFileError(f"results: {p}: record {i} field 'status' must be one of "
                               f"{', '.join(Status.ALL)}, got {r['status']!r:.60}")
    for key in ("empirical", "proven", "rtol"):
        if key not in r:
            raise ResultsFileError(f"results: {p}: record {i} lacks '{key}'")
    for key in _NUMBERS:
        v = r.get(key)
        nullable = key in ("empirical", "proven") or key not in r
        if not (_is_number(v) or (nullable and v is None)):
            raise ResultsFileError(f"results: {p}: record {i} field '{key}' must be a number"
                                   f"{' or null' if nullable else ''}, got {v!r:.60}")
    for key, types in _OPTIONAL.items():
        if key in r and (not isinstance(r[key], types) or isinstance(r[key], bool)):
            raise ResultsFileError(f"results: {p}: record {i} field '{key}' must be a "
                                   f"{' or '.join(t.__name__ for t in types)}, "
                                   f"got {r[key]!r:.60}")
    if r.get("expectation", "holds") not in ("holds", "refuted"):
        raise ResultsFileError(f"results: {p}: record {i} field 'expectation' must be 'holds' or "
                               f"'refuted', got {r.get('expectation')!r:.60}")


def load_results(path: str | os.PathLike) -> dict:
    """Load a results file (or ``DIR/results.json``), checking its structure.

    Every record must carry ``check``, ``theorem``, ``status`` (one of ``Status.ALL``),
    ``params`` (an object), and numbers (or ``null`` / ``"inf"``) for ``empirical``,
    ``proven`` and ``rtol``; ``completed``, if present, must be a list of check ids; ``NaN``
    and ``Infinity`` literals are refused.  Any violation raises :class:`ResultsFileError`.
    """
    p = Path(path)
    if p.is_dir() and p.name == RESULTS_NAME and not (p / RESULTS_NAME).exists():
        raise ResultsFileError(f"results: {p} is a directory, not a results file")
    if p.is_dir():
        p = p / RESULTS_NAME
    if p.is_dir():
        raise ResultsFileError(f"results: {p} is a directory, not a results file")
    try:
        with open(p, encoding="utf-8") as fh:
            doc = json.load(fh, parse_constant=_bad_constant)
    except FileNotFoundError:
        raise ResultsFileError(f"results: no results file at {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsFileError(f"results: cannot read {p}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ResultsFileError(f"results: {p} is not valid JSON ({exc.msg} at line "
                               f"{exc.lineno})") from None
    except (ValueError, RecursionError) as exc:
        raise ResultsFileError(f"results: {p} is not a valid results file "
                               f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                               ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list) \
            or not isinstance(doc.get("meta"), dict):
        raise ResultsFileError(f"results: {p} lacks a 'meta' object and a 'results' list")
    for i, r in enumerate(doc["results"]):
        _check_record(p, i, r)
    completed = doc.get("completed", [])
    if not isinstance(completed, list) or not all(isinstance(c, str) for c in completed):
        raise ResultsFileError(f"results: {p}: 'completed' must be a list of check ids, got "
                               f"{completed!r:.60}")
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
