"""Static embeddings (``embed.backend: static``): a model2vec model distilled from the
configured sentence-transformers model (Tulkens & van Dongen, 2024, "Model2Vec").

Distillation embeds every token of the model's vocabulary once, with the model itself, and
keeps those token vectors (SIF-weighted; no PCA, so the model's dimension is kept). A
document's vector is then the mean of its tokens' vectors: no transformer runs at encoding
time, which makes it one to two orders of magnitude faster than the ``torch`` backend, at a
cost in quality that varies by corpus (see ``benchmarks/README.md``).

The distilled model is built once (about 2 minutes on 2 CPU cores for all-MiniLM-L6-v2) and
kept in the artifact store, ``<cache.dir>/embedding-models/<key>/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from topics.embed import (
    BACKEND_PACKAGES, STATIC_DISTILL, EmbeddingError, Encoder, model_identity, precision_for, resolve_device, resolve_model,
)
from topics.embed_onnx import normalize
from topics.stage_cache import package_versions



def distill_into(model: str, target: Path) -> dict:
    """Distil ``model`` with model2vec and save it to ``target``; returns the settings used.

    Raises
    ------
    EmbeddingError
        If model2vec's distillation extra is missing or the model cannot be distilled.
    """
    try:
        from model2vec.distill import distill
    except ImportError as exc:
        raise EmbeddingError(f"embed.backend static needs model2vec with its distill extra: pip install 'model2vec[distill]' ({exc})") from exc
    resolved = resolve_model(model)
    device = resolve_device("auto")
    try:
        static = distill(resolved, device="cpu" if device == "mps" else device, **STATIC_DISTILL)
    except Exception as exc:  # noqa: BLE001 - hub, format and tokenizer errors all mean "cannot distil"
        raise EmbeddingError(f"embed.backend static: cannot distil {resolved!r}: {exc}") from exc
    static.save_pretrained(str(target))
    return dict(STATIC_DISTILL)


class StaticEncoder(Encoder):
    """Mean of distilled token vectors, L2-normalised (see the module docstring)."""

    def __init__(self, model: str = "default", batch_size: int = 1024, precision: str = "auto", store=None):
        from model2vec import StaticModel

        from topics.derived_models import derived_model

        self.backend = "static"
        self.device = "cpu"
        self.dtype = precision_for("static", "cpu", precision)
        self.batch_size = max(batch_size, 256)  # no forward pass: large batches cost nothing
        self.identity = model_identity(model)
        self.model_name = model
        self.packages = package_versions(BACKEND_PACKAGES["static"])
        folder = derived_model(store, "static", {"model": self.identity, "packages": self.packages, **STATIC_DISTILL},
                               lambda target: distill_into(model, target))
        self.model = StaticModel.from_pretrained(str(folder))
        self.dim = int(self.model.dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=False)
        return normalize(vectors)
