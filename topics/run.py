"""Run identity and the run directory's manifest.

A run id is a UTC timestamp plus a random suffix (``20261130T064512Z-3f9a1c``); the run
directory is created exclusively, so an id is never reused. ``manifest.json`` is rewritten
atomically as the run advances; its ``status`` is ``running``, then ``completed`` or
``failed``. A directory whose manifest does not say ``completed`` is not a finished run.

While a run is ``running`` its process holds an exclusive ``flock`` on ``<run>/.run.lock``
(taken before the manifest is first written, let go after the final status is written). The
kernel releases it when the process ends, even by SIGKILL, so a reader that finds the
manifest ``running`` and can take the lock knows the run died: :func:`settle_status` then
reports it, and records it, as ``interrupted``.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import secrets
import socket
import time
import traceback
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from topics import artifacts

MANIFEST = "manifest.json"
ERROR_LOG = "error.log"
RUN_LOCK = ".run.lock"
PACKAGES = (
    "topics-pipeline", "bertopic", "umap-learn", "hdbscan", "sentence-transformers", "transformers",
    "torch", "prefect", "scikit-learn", "numpy", "pandas", "pyarrow", "plotly", "pydantic",
)


class RunDirectoryError(ValueError):
    """Raised when a run directory cannot be created (e.g. ``--out`` names a non-empty folder)."""


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def create_run_dir(root: str | Path, out: str | Path | None = None) -> tuple[str, Path]:
    """Create the run directory: ``out`` if given (must be absent or empty), else ``<root>/<new id>``.

    Raises
    ------
    RunDirectoryError
        If ``out`` exists and is not an empty directory.
    """
    if out is not None:
        path = Path(out)
        check_out_dir(path)
        path.mkdir(parents=True, exist_ok=True)
        return new_run_id(), path
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    while True:
        run_id = new_run_id()
        path = root / run_id
        try:
            path.mkdir()
            return run_id, path
        except FileExistsError:
            continue  # same second, same suffix: draw again


def check_out_dir(out: str | Path) -> None:
    """Raise RunDirectoryError when ``out`` (an ``--out`` run directory) exists and is not an
    empty directory."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise RunDirectoryError(f"--out {path}: is a file; --out names the run's folder (absent or empty)")
    if path.exists() and any(path.iterdir()):
        raise RunDirectoryError(f"--out {path}: exists and is not an empty directory")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


class Manifest:
    """The run's ``manifest.json``, written atomically after every change."""

    def __init__(self, run_dir: Path, run_id: str, **fields: Any):
        self.path = Path(run_dir) / MANIFEST
        self._lock_path = Path(run_dir) / RUN_LOCK
        # Held while the run is running; see the module docstring.
        self._lock_fd: int | None = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, artifacts.FILE_MODE)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise
        except OSError:
            pass  # a filesystem without flock: readers cannot take the lock either, so they say running
        self.data: dict[str, Any] = {
            "run_id": run_id,
            "status": "running",
            "started_at": datetime.now(timezone.utc).isoformat(),
            "finished_at": None,
            "current_stage": None,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            **fields,
            "versions": package_versions(),
            "stages": [],
        }
        self._started = time.perf_counter()
        self.save()

    def save(self) -> None:
        artifacts.write_json(self.path, self.data)

    def update(self, **fields: Any) -> None:
        self.data.update(fields)
        self.save()

    def stage_started(self, name: str) -> None:
        self.update(current_stage=name)

    def stage_finished(self, result: dict[str, Any]) -> None:
        self.data["stages"].append(result)
        self.update(current_stage=None)

    def completed(self, **fields: Any) -> None:
        self.update(status="completed", finished_at=datetime.now(timezone.utc).isoformat(),
                    seconds=round(time.perf_counter() - self._started, 3), **fields)
        self._release_lock()

    def failed(self, error: BaseException) -> None:
        """Mark the run failed with a one-line ``error``; the full traceback goes to
        ``error.log`` next to the manifest."""
        trace = "".join(traceback.format_exception(error))
        artifacts.write_bytes(self.path.parent / ERROR_LOG, trace.encode("utf-8"))
        self.update(
            status="failed",
            finished_at=datetime.now(timezone.utc).isoformat(),
            error=error_line(error),
            error_log=ERROR_LOG,
        )
        self._release_lock()

    def _release_lock(self) -> None:
        # The final status is on disk first, so a reader never takes the lock of a live run.
        if self._lock_fd is not None:
            self._lock_path.unlink(missing_ok=True)
            os.close(self._lock_fd)
            self._lock_fd = None


def error_line(error: BaseException) -> str:
    """One line for a failure: the message of a settings or input error (its text names the
    problem), else the exception's type and message, first line only."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text if isinstance(error, ValueError) and text else f"{type(error).__name__}: {text}".rstrip(": ")


class NotACompletedRun(ValueError):
    """Raised by :func:`completed_manifest`; the message says what is wrong, without the path."""


def completed_manifest(run_dir: str | Path) -> dict[str, Any]:
    """The manifest of the completed run in ``run_dir``.

    Raises
    ------
    NotACompletedRun
        If ``run_dir`` is missing or not a folder, has no readable manifest, or its run did not
        complete (the message names the status).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NotACompletedRun("not a directory (give outputs/<run_id>)" if run_dir.exists() else "no such run directory")
    try:
        manifest = read_manifest(run_dir)
    except FileNotFoundError:
        raise NotACompletedRun(f"no {MANIFEST} (not a run directory; give outputs/<run_id>)") from None
    except (OSError, ValueError) as exc:
        raise NotACompletedRun(f"unreadable {MANIFEST} ({exc})") from None
    if manifest.get("status") != "completed":
        raise NotACompletedRun(f"not a completed run (its {MANIFEST} says status {manifest.get('status')!r})")
    return manifest


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / MANIFEST).read_text(encoding="utf-8"))


def is_completed(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a finished run (its manifest says ``completed``)."""
    try:
        return read_manifest(run_dir).get("status") == "completed"
    except (OSError, ValueError):
        return False


def settle_status(run_dir: str | Path, record: bool = True) -> tuple[dict[str, Any], bool]:
    """The run's manifest, with ``status`` ``interrupted`` when it says ``running`` but its
    process is gone (the run lock is free, or absent: a run from before run locks); and
    whether this call found it so (True only for a manifest that said ``running``).

    With ``record`` such a manifest is rewritten (atomically, under the run lock) with
    ``status: interrupted``, ``finished_at`` null (unknown) and a ``note``; when it cannot be
    written (a read-only folder) the status is still reported. A live run's manifest is never
    changed.

    Raises
    ------
    OSError, ValueError
        If ``manifest.json`` is missing or not JSON.
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest.get("status") != "running":
        return manifest, False
    try:
        fd = os.open(run_dir / RUN_LOCK, os.O_RDONLY)
    except FileNotFoundError:
        fd = None  # finished meanwhile (the owner removed its lock), or written before run locks
    except OSError:
        return manifest, False  # cannot tell
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return manifest, False  # its process holds the lock (really running), or no flock here
        manifest = read_manifest(run_dir)  # it may have finished before we looked at the lock
        if manifest.get("status") != "running":
            return manifest, False
        stage = manifest.get("current_stage")
        where = f"pid {manifest['pid']} on {manifest.get('host')}" if "pid" in manifest else "a process"
        manifest.update(
            status="interrupted",
            finished_at=None,
            note=f"its process ({where}) ended without finishing the run"
                 f"{f', during the {stage} stage' if stage else ''}; noticed at {datetime.now(timezone.utc).isoformat()}",
        )
        if record:
            try:
                artifacts.write_json(run_dir / MANIFEST, manifest)
                (run_dir / RUN_LOCK).unlink(missing_ok=True)
            except OSError:
                pass  # read-only: still reported as interrupted
        return manifest, True
    finally:
        if fd is not None:
            os.close(fd)
