"""llama-cpp-python's OpenAI-compatible server serving SmolLM2-135M, for the LLM tests.

Used two ways:

- :func:`serve` starts ``python -m llama_cpp.server`` on a free loopback port in its own
  process group, waits until it answers ``/v1/models``, yields its base URL and stops it.
  ``tests/test_llm_real.py`` uses it as a fixture.
- Run as a script (``make install-test`` does so right after installing the build), it
  prints the build's CPU features (llama.cpp's system info), starts the server, asks one chat
  completion and exits non-zero unless a reply came back. A build tuned to another CPU
  answers ``/v1/models`` and then dies on its first completion; this finds that before the
  suite does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from flows.local_server import free_port, stop_process_group, wait_until_answering

MODEL_ALIAS = "smollm2"


class ServerFailed(RuntimeError):
    """Raised when the server exits or does not answer; the message ends with its log."""


@contextmanager
def serve(gguf: Path, log_path: Path, startup_timeout_s: float = 120.0) -> Iterator[str]:
    """Serve ``gguf`` as model ``smollm2``; yields the base URL (``http://127.0.0.1:PORT/v1``).

    Raises
    ------
    ServerFailed
        If the server exits, or does not answer within ``startup_timeout_s`` seconds.
    """
    port = free_port()
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", MODEL_ALIAS,
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        try:
            wait_until_answering(process, f"http://127.0.0.1:{port}/v1/models", log_path, startup_timeout_s, "llama_cpp.server")
        except RuntimeError as exc:
            raise ServerFailed(str(exc)) from None
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_process_group(process)


def chat_once(base_url: str, timeout_s: float = 120.0) -> str:
    """One chat completion (plain HTTP, no client library); returns the reply's text."""
    body = json.dumps({
        "model": MODEL_ALIAS, "max_tokens": 16, "temperature": 0.0,
        "messages": [{"role": "user", "content": "Name one planet of the solar system."}],
    }).encode()
    request = urllib.request.Request(f"{base_url}/chat/completions", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.loads(response.read())["choices"][0]["message"]["content"]


def main() -> int:
    import tempfile

    import llama_cpp

    from topics.represent.llm_clients import smollm2_gguf_path

    print(f"llama-cpp-python {llama_cpp.__version__}: {llama_cpp.llama_print_system_info().decode().strip()}")
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "server.log"
        try:
            with serve(smollm2_gguf_path(), log_path) as base_url:
                started = time.monotonic()
                reply = chat_once(base_url)
        except ServerFailed as exc:  # its message ends with the server's log
            print(f"llama.cpp server check FAILED: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:  # e.g. the server died during the completion
            print(f"llama.cpp server check FAILED: {exc}\n{log_path.read_text()[-3000:]}", file=sys.stderr)
            return 1
    if not reply.strip():
        print("llama.cpp server check FAILED: the chat completion came back empty", file=sys.stderr)
        return 1
    print(f"llama.cpp server check: chat completion answered in {time.monotonic() - started:.1f} s: {reply.strip()!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
