"""A private, temporary Prefect server for one `topics run`.

Prefect's own ephemeral server shares the command's process group, so a Ctrl-C in the
terminal kills it mid-run and the run then spends minutes retrying a dead API. This one runs
``prefect server start`` in its own session, with its own Prefect home (SQLite), on a free
loopback port; it is stopped when the run ends, and asked to stop by the kernel
(``PR_SET_PDEATHSIG``) should the command be killed outright.

The Prefect home is ``$TMPDIR/topics-prefect-XXXXXXXX/`` with an owner lock beside it (see
:mod:`topics.owned_temp`), held by the command and by the server until both have ended;
:func:`sweep_prefect_homes` removes the homes of commands killed outright.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from topics.owned_temp import OwnedTempDir, sweep

PR_SET_PDEATHSIG = 1
HOME_PREFIX = "topics-prefect-"


def sweep_prefect_homes(parent: str | Path | None = None) -> list[Path]:
    """Remove the Prefect homes in ``parent`` (default: the temporary folder) whose command and
    server have both ended; returns them. A live run's home is never touched."""
    return sweep(parent or tempfile.gettempdir(), HOME_PREFIX)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (free when asked; another process may take it later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the server is still stopped on every normal exit


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the process's group (it must lead its own session), then SIGKILL after 15 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_answering(process: subprocess.Popen, url: str, log_path: Path, timeout_s: float, what: str) -> None:
    """Wait until the server ``process`` answers a GET of ``url``.

    Raises
    ------
    RuntimeError
        If the process exits or ``timeout_s`` passes first; the message names ``what``, says
        which, and ends with the server's log.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                state = f"exited with {process.returncode}" if process.poll() is not None else f"did not answer in {timeout_s:.0f} s"
                raise RuntimeError(f"{what} did not start ({state}): {log_path.read_text()[-2000:]}") from None
            time.sleep(0.25)


def wait_until_healthy(process: subprocess.Popen, port: int, log_path: Path, timeout_s: float) -> None:
    """Wait until the Prefect server ``process`` answers ``/api/health`` on ``port`` (see
    :func:`wait_until_answering`)."""
    wait_until_answering(process, f"http://127.0.0.1:{port}/api/health", log_path, timeout_s, "the Prefect server")


@contextmanager
def private_prefect_server(startup_timeout_s: float = 180.0) -> Iterator[dict[str, str]]:
    """Start a server; yields the environment (``PREFECT_HOME``, ``PREFECT_API_URL``) to use it.

    Raises
    ------
    RuntimeError
        If the server does not answer its health check within ``startup_timeout_s``; the
        message carries the end of its log.
    """
    owned = OwnedTempDir(tempfile.gettempdir(), HOME_PREFIX)
    home = owned.path
    port = free_port()
    settings = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
    }
    env = {**os.environ, **settings}
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect)] if prefect.exists() else [sys.executable, "-m", "prefect"]
    log_path = home / "server.log"
    try:
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [*command, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_stop_with_parent,
                pass_fds=[owned.lock_fd],  # the server holds the home's lock too, until it ends
            )
    except BaseException:
        owned.release(remove=True)
        raise
    try:
        wait_until_healthy(process, port, log_path, startup_timeout_s)
        yield {**settings, "TOPICS_PREFECT_SERVER_PID": str(process.pid)}
    finally:
        stop_process_group(process)
        owned.release(remove=True)
