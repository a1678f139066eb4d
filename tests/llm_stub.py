"""A stub OpenAI-compatible server for the LLM tests: it stands in for faults a real server
cannot be made to produce on demand (the happy path is tested against a real model)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Reply:
    status: int = 200
    content: str | None = '{"label": "Galaxy evolution", "summary": "Distant galaxies."}'
    delay_s: float = 0.0
    raw_body: bytes | None = None  # sent instead of a chat completion
    headers: dict = field(default_factory=dict)


class StubServer:
    """A stub standing in for an OpenAI-compatible server (``POST /v1/chat/completions``).

    It exists for the faults a real server cannot be made to produce on demand: 5xx and 429
    answers, slow replies, garbage bodies, a 401 echoing the key. ``behave(n, request)``
    scripts the reply to the n-th request (0-based). It records every request and the
    largest number handled at once.
    """

    def __init__(self, behave: Callable[[int, dict], Reply], port: int = 0):
        self.behave = behave
        self.requests: list[dict] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                self._send(200, json.dumps({"object": "list", "data": [{"id": "stub-model", "object": "model"}]}).encode())

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                body["authorization"] = self.headers.get("authorization", "")
                with stub._lock:
                    n = len(stub.requests)
                    stub.requests.append(body)
                    stub.active += 1
                    stub.max_active = max(stub.max_active, stub.active)
                # The request stops counting as active before its reply is written: the client
                # may send its next request as soon as it reads the reply, before this thread
                # would reach a later decrement.
                done = threading.Event()

                def finished():
                    if not done.is_set():
                        done.set()
                        with stub._lock:
                            stub.active -= 1

                try:
                    reply = stub.behave(n, body)
                    time.sleep(reply.delay_s)
                    finished()
                    if self.path != "/v1/chat/completions":
                        self._send(404, b'{"error": {"message": "not found"}}')
                    elif reply.raw_body is not None:
                        self._send(reply.status, reply.raw_body, reply.headers, content_type="text/html")
                    else:
                        self._send(reply.status, json.dumps(completion(reply.content, body.get("model"))).encode(), reply.headers)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)
                finally:
                    finished()

            def _send(self, status, payload, headers=None, content_type="application/json"):
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def completion(content, model) -> dict:
    return {
        "id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": model or "stub",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


