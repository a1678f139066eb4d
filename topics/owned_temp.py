"""Temporary folders that a process owns through a lock, and the sweep of those whose owner died.

A run makes temporary folders (cache entries being written, a private Prefect home). A run
killed with SIGKILL cannot remove them. So each such folder ``<parent>/<prefix>XXXXXXXX/``
comes with a lock file beside it, ``<parent>/<prefix>XXXXXXXX.lock``, held with ``flock`` by
its owner for as long as the folder is in use. The kernel releases the lock when the last
process holding it ends, however it ends. :func:`sweep` removes a folder only when it can
take that lock, so a folder a live process is writing is never touched.

The lock file is created and locked *before* the folder exists, so a folder whose lock file
is free really has no owner. Folders without a lock file (left by earlier versions) are not
touched: ``topics cache prune`` removes old ones from the cache.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path

LOCK_SUFFIX = ".lock"
# A lock file whose folder is not there yet may belong to an owner between creating the lock
# and locking it; only one this old is an orphan.
ORPHAN_LOCK_AGE_S = 60.0


class OwnedTempDir:
    """A fresh folder ``<parent>/<prefix>XXXXXXXX`` and the held lock that marks it in use.

    Parameters
    ----------
    parent : folder to create it in (made if missing)
    prefix : start of its name; :func:`sweep` is given the same prefix
    mode : permission bits of the lock file (the folder is made 0700; chmod it to share it)

    The lock is held until :meth:`release`. Child processes may share it
    (``subprocess.Popen(pass_fds=[owned.lock_fd])``): the folder then stays in use until they
    end too.
    """

    def __init__(self, parent: str | Path, prefix: str, mode: int = 0o600):
        parent = Path(parent)
        parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd, lock_name = tempfile.mkstemp(prefix=prefix, suffix=LOCK_SUFFIX, dir=parent)
            os.fchmod(fd, mode)
            try:
                # Blocking: a sweeper that took this brand-new lock lets go at once.
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:
                pass  # a filesystem without flock: a sweep cannot take the lock either
            path = Path(lock_name[: -len(LOCK_SUFFIX)])
            try:
                path.mkdir(mode=0o700)
                break
            except FileExistsError:  # a folder of the same name without this lock: draw again
                os.close(fd)
                Path(lock_name).unlink(missing_ok=True)
        self.path = path
        self.lock_path = Path(lock_name)
        self.lock_fd: int | None = fd

    def release(self, remove: bool = True) -> None:
        """Remove the folder (unless ``remove`` is false, e.g. after renaming it away) and the
        lock file, then let go of the lock. Safe to call twice."""
        if self.lock_fd is None:
            return
        if remove:
            shutil.rmtree(self.path, ignore_errors=True)
        self.lock_path.unlink(missing_ok=True)
        os.close(self.lock_fd)
        self.lock_fd = None


def sweep(parent: str | Path, prefix: str) -> list[Path]:
    """Remove the folders ``<parent>/<prefix>*`` made by :class:`OwnedTempDir` whose owner is
    gone (their lock file's lock is free), and their lock files.

    Returns the folders removed. A missing ``parent`` is nothing to sweep; files that cannot
    be opened or removed (another user's) are skipped.
    """
    parent = Path(parent)
    if not parent.is_dir():
        return []
    removed = []
    for lock_path in sorted(parent.glob(f"{prefix}*{LOCK_SUFFIX}")):
        folder = lock_path.with_name(lock_path.name[: -len(LOCK_SUFFIX)])
        try:
            fd = os.open(lock_path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # its owner is alive (or locks do not work here: cannot tell)
            os.close(fd)
            continue
        try:
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
                if not folder.exists():
                    removed.append(folder)
            elif time.time() - lock_path.stat().st_mtime < ORPHAN_LOCK_AGE_S:
                continue  # maybe an owner about to lock it and make its folder
            lock_path.unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed
