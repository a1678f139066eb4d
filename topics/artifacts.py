"""The content-addressed artifact store, and the only module that writes files.

An entry is a directory ``<root>/<stage>/<key>/`` holding the stage's files (``.npy`` arrays,
Parquet tables, JSON) and ``_entry.json``, which lists every file's size and SHA-256 and the
stage's metadata. Entries are written into a private temporary directory under
``<stage>/.tmp/`` (held by the writer's lock, so :meth:`ArtifactStore.sweep_temporary`
removes it only once the writer is gone), each file fsynced, then renamed into place in one
step, so a reader never sees a partial entry; ``_entry.json`` is the completion marker. Two processes computing the same key both write privately and the
first rename wins; the other's copy is discarded, as both hold the same result.

Reading verifies sizes and checksums; a truncated or corrupt entry raises
:class:`CorruptArtifact`, and :meth:`ArtifactStore.discard` moves it aside so the stage is
recomputed.

Outside the store, :func:`write_bytes` and friends give the same temp-fsync-rename guarantee
for single files (run directories use them).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from topics.owned_temp import LOCK_SUFFIX, OwnedTempDir
from topics.owned_temp import sweep as sweep_owned

ENTRY_FILE = "_entry.json"
_TMP_DIR = ".tmp"
# mkstemp creates 0600 files; outputs are meant to be shared like any file the user writes.
_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
_TRASH_DIR = ".trash"
_LOCK_DIR = ".locks"
_DAY = 86400.0


class CorruptArtifact(RuntimeError):
    """Raised when an entry's files do not match the sizes and checksums it recorded."""


def stable_key(*parts: Any) -> str:
    """SHA-256 (hex, 40 chars) of JSON-serialisable ``parts``, canonically ordered."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def file_sha256(path: Path, chunk_bytes: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        handle.flush()
        os.fsync(handle.fileno())


# --- single files, atomically -------------------------------------------------------------

def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)
        _fsync_file(tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    return _atomic(Path(path), lambda tmp: tmp.write_bytes(data))


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def write_parquet(path: str | Path, table: pd.DataFrame) -> Path:
    return _atomic(Path(path), lambda tmp: table.to_parquet(tmp, index=False, compression="zstd"))


def write_csv(path: str | Path, table: pd.DataFrame) -> Path:
    return _atomic(Path(path), lambda tmp: table.to_csv(tmp, index=False))


def write_npy(path: str | Path, array: np.ndarray) -> Path:
    # np.save appends ".npy" to names without it; write through a handle to keep the name.
    def save(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(array), allow_pickle=False)

    return _atomic(Path(path), save)


def copy_file(source: str | Path, target: str | Path) -> Path:
    return _atomic(Path(target), lambda tmp: shutil.copyfile(source, tmp))


# --- the store ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """A verified store entry: its directory and the metadata the stage recorded."""

    stage: str
    key: str
    path: Path
    meta: dict[str, Any]
    created: float

    def file(self, name: str) -> Path:
        return self.path / name

    def array(self, name: str, mmap: bool = True) -> np.ndarray:
        """Load ``name`` (an ``.npy`` file), memory-mapped read-only by default."""
        return np.load(self.path / name, mmap_mode="r" if mmap else None, allow_pickle=False)

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.path / name)

    def json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text(encoding="utf-8"))


class EntryWriter:
    """Collects an entry's files in a private directory; :meth:`ArtifactStore.put` commits it."""

    def __init__(self, path: Path):
        self.path = path

    def array(self, name: str, array: np.ndarray) -> None:
        with open(self.path / name, "wb") as handle:
            np.save(handle, np.ascontiguousarray(array), allow_pickle=False)

    def table(self, name: str, table: pd.DataFrame) -> None:
        table.to_parquet(self.path / name, index=False, compression="zstd")

    def json(self, name: str, data: Any) -> None:
        (self.path / name).write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")

    def bytes(self, name: str, data: bytes) -> None:
        (self.path / name).write_bytes(data)

    def text(self, name: str, text: str) -> None:
        self.bytes(name, text.encode("utf-8"))


class ArtifactStore:
    """Content-addressed entries under ``root`` (see the module docstring for the layout).

    The constructor only records ``root``; directories are made on first write.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def entry_dir(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def has(self, stage: str, key: str) -> bool:
        """Whether a committed entry exists (not verified; :meth:`get` verifies)."""
        return (self.entry_dir(stage, key) / ENTRY_FILE).is_file()

    def get(self, stage: str, key: str, verify: bool = True) -> Entry:
        """Open an entry.

        Raises
        ------
        KeyError
            If no committed entry has this key.
        CorruptArtifact
            If ``verify`` and a file is missing, truncated or altered.
        """
        path = self.entry_dir(stage, key)
        record_path = path / ENTRY_FILE
        if not record_path.is_file():
            raise KeyError(f"{stage}/{key}")
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CorruptArtifact(f"{stage}/{key}: unreadable {ENTRY_FILE}: {exc}") from None
        try:
            os.utime(record_path)  # marks the entry as used, for `prune`
        except OSError:
            pass  # a read-only cache is still readable
        if verify:
            for name, info in record.get("files", {}).items():
                file = path / name
                if not file.is_file():
                    raise CorruptArtifact(f"{stage}/{key}: file {name} is missing")
                size = file.stat().st_size
                if size != info["size"]:
                    raise CorruptArtifact(f"{stage}/{key}: {name} has {size} bytes, expected {info['size']}")
                if file_sha256(file) != info["sha256"]:
                    raise CorruptArtifact(f"{stage}/{key}: {name} does not match its checksum")
        return Entry(stage=stage, key=key, path=path, meta=record.get("meta", {}), created=record.get("created", 0.0))

    def put(self, stage: str, key: str, fill: Callable[[EntryWriter], dict[str, Any] | None], replace: bool = False) -> Entry:
        """Write an entry atomically: ``fill`` writes files through the writer and returns metadata.

        With ``replace`` an existing entry is swapped for the new one (``--refresh``);
        otherwise an entry committed meanwhile by another process is kept and returned.
        """
        # The temporary folder is held under a lock while it is written, so that
        # sweep_temporary removes it only once this process is gone.
        owned = OwnedTempDir(self.root / stage / _TMP_DIR, prefix=f"{key}.", mode=FILE_MODE)
        tmp = owned.path
        os.chmod(tmp, 0o777 & ~_UMASK)
        try:
            meta = fill(EntryWriter(tmp)) or {}
            files = {}
            for file in sorted(tmp.iterdir()):
                _fsync_file(file)
                files[file.name] = {"size": file.stat().st_size, "sha256": file_sha256(file)}
            record = {"stage": stage, "key": key, "created": time.time(), "files": files, "meta": meta}
            (tmp / ENTRY_FILE).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
            _fsync_file(tmp / ENTRY_FILE)
            _fsync_dir(tmp)
            final = self.entry_dir(stage, key)
            if replace and final.exists():
                self._move_aside(final)
            if final.exists() and not self.has(stage, key):
                self._move_aside(final)  # a directory without its marker is never an entry
            try:
                os.rename(tmp, final)
            except OSError:
                if not self.has(stage, key):
                    raise
                # Another process committed the same key first; its result is equivalent.
                shutil.rmtree(tmp, ignore_errors=True)
            _fsync_dir(final.parent)
        finally:
            owned.release(remove=True)  # after a successful rename there is nothing left to remove
        return self.get(stage, key, verify=False)

    def discard(self, stage: str, key: str) -> None:
        """Move an entry aside (then delete it), e.g. after :class:`CorruptArtifact`."""
        path = self.entry_dir(stage, key)
        if path.exists():
            self._move_aside(path)

    def _move_aside(self, path: Path) -> None:
        trash = self.root / _TRASH_DIR
        trash.mkdir(parents=True, exist_ok=True)
        target = trash / f"{path.parent.name}-{path.name}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return  # another process moved it first
        shutil.rmtree(target, ignore_errors=True)

    @contextmanager
    def lock(self, stage: str, key: str) -> Iterator[None]:
        """Exclusive lock on one key across processes (``flock``; released if the holder dies)."""
        path = self.root / stage / _LOCK_DIR / f"{key}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def prune(self, older_than_days: float) -> list[dict[str, Any]]:
        """Delete entries not used for ``older_than_days`` days, and temporary directories left
        by killed runs that are as old. Returns the entries deleted (as :meth:`entries`)."""
        cutoff = time.time() - older_than_days * _DAY
        removed = []
        for row in self.entries():
            if row["last_used"] < cutoff:
                with self.lock(row["stage"], row["key"]):
                    self.discard(row["stage"], row["key"])
                (self.root / row["stage"] / _LOCK_DIR / f"{row['key']}.lock").unlink(missing_ok=True)
                removed.append(row)
        self.sweep_temporary()
        for leftovers in [*self.root.glob(f"*/{_TMP_DIR}/*"), *self.root.glob(f"{_TRASH_DIR}/*")]:
            if leftovers.name.endswith(LOCK_SUFFIX) or Path(f"{leftovers}{LOCK_SUFFIX}").exists():
                continue  # a folder with an owner lock: sweep_temporary removed it if its owner is gone
            if leftovers.stat().st_mtime < cutoff:
                shutil.rmtree(leftovers, ignore_errors=True)
        return removed

    def sweep_temporary(self) -> list[Path]:
        """Remove what killed processes left: temporary entry folders whose writer is gone
        (its lock is free; see :mod:`topics.owned_temp`) and anything in the trash (only ever
        being deleted). Returns the paths removed; a live writer's folder is never touched."""
        if not self.root.is_dir():
            return []
        removed = []
        for tmp_root in sorted(self.root.glob(f"*/{_TMP_DIR}")):
            removed += sweep_owned(tmp_root, prefix="")
        for leftover in sorted(self.root.glob(f"{_TRASH_DIR}/*")):
            shutil.rmtree(leftover, ignore_errors=True)
            if not leftover.exists():
                removed.append(leftover)
        return removed

    def entries(self) -> list[dict[str, Any]]:
        """Every committed entry: stage, key, created and last_used (epoch seconds), bytes."""
        rows = []
        if not self.root.is_dir():
            return rows
        for stage_dir in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for entry_dir in sorted(p for p in stage_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                record_path = entry_dir / ENTRY_FILE
                if not record_path.is_file():
                    continue
                try:
                    record = json.loads(record_path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    record = {}
                size = sum(f.stat().st_size for f in entry_dir.iterdir() if f.is_file())
                rows.append(
                    {
                        "stage": stage_dir.name,
                        "key": entry_dir.name,
                        "created": record.get("created", 0.0),
                        "last_used": record_path.stat().st_mtime,
                        "bytes": size,
                    }
                )
        return rows
