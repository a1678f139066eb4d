"""Run identity and the run directory's manifest.

A run id is a UTC timestamp plus a random suffix (``20261130T064512Z-3f9a1c``); the run
directory is created exclusively, so an id is never reused. ``manifest.json`` is rewritten
atomically as the run advances; its ``status`` is ``running``, then ``completed`` or
``failed``. A directory whose manifest does not say ``completed`` is not a finished run.
"""

from __future__ import annotations

import json
import platform
import secrets
import time
import traceback
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from topics import artifacts

MANIFEST = "manifest.json"
ERROR_LOG = "error.log"
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
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise RunDirectoryError(f"--out {path}: exists and is not an empty directory")
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
        self.data: dict[str, Any] = {
            "run_id": run_id,
            "status": "running",
            "started_at": datetime.now(timezone.utc).isoformat(),
            "finished_at": None,
            "current_stage": None,
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


def error_line(error: BaseException) -> str:
    """One line for a failure: the message of a settings or input error (its text names the
    problem), else the exception's type and message, first line only."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text if isinstance(error, ValueError) and text else f"{type(error).__name__}: {text}".rstrip(": ")


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / MANIFEST).read_text(encoding="utf-8"))


def is_completed(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a finished run (its manifest says ``completed``)."""
    try:
        return read_manifest(run_dir).get("status") == "completed"
    except (OSError, ValueError):
        return False
