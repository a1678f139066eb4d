"""Models derived from the configured embedding model (an ONNX export, a static distillation),
built once and kept in the artifact store under ``embedding-models/<key>/``.

The key hashes the backend and everything that shapes the derived files (the source model's
identity, the converting packages' versions), so a changed model or upgraded converter builds
anew. Building happens under the store's per-key lock, so concurrent runs build it once.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from topics.artifacts import ArtifactStore, CorruptArtifact, stable_key

logger = logging.getLogger(__name__)

STAGE = "embedding-models"


def derived_model(store: ArtifactStore | None, backend: str, identity: dict, build: Callable[[Path], dict]) -> Path:
    """The folder holding ``backend``'s files for ``identity``, built by ``build(folder)`` when
    missing or damaged. Without a store the files go to a temporary folder that lives as long
    as the process.

    Returns the folder (inside the store: read it, never write to it).
    """
    if store is None:
        folder = Path(tempfile.mkdtemp(prefix=f"topics-{backend}-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        build(folder)
        return folder
    key = stable_key(STAGE, backend, identity)
    with store.lock(STAGE, key):
        try:
            return store.get(STAGE, key).path
        except KeyError:
            pass
        except CorruptArtifact as exc:
            logger.warning("rebuilding the %s model: %s", backend, exc)
            store.discard(STAGE, key)
        logger.info("building the %s embedding model once (kept in %s)", backend, store.entry_dir(STAGE, key))
        entry = store.put(STAGE, key, lambda writer: {"backend": backend, **identity, "layout": build(writer.path)})
    return entry.path
