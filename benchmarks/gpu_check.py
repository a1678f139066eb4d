"""The GPU embedding path, checked on a CUDA machine that is offline and brings its own Python
and torch (see gpu_check.sh, which runs the `check` step there).

    .venv/bin/python benchmarks/gpu_check.py prepare [DIR]   # here, on the CPU: writes DIR
    python3 benchmarks/gpu_check.py check [DIR]              # there, with topics/ on PYTHONPATH

`prepare` writes DIR (default build/gpu_check, under 64 MiB so that it can travel with the
working tree): the default model with fp16 weights (`model/`), 100,000 real documents
(`texts.parquet`: Debian package descriptions, then health-news tweets) and fp32 CPU vectors
of the first 512 of them (`cpu_vectors.npy`).

`check` embeds all 100,000 with the torch backend on `device: auto` (CUDA, so fp16), prints
documents a second, and compares the first 512 vectors with the CPU ones: it exits 1 unless
every cosine is >= 0.99.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"
N_DOCS = 100_000
N_REFERENCE = 512


def prepare(folder: Path) -> None:
    import pandas as pd

    from topics import embed

    folder.mkdir(parents=True, exist_ok=True)
    debian = pd.read_parquet(CORPORA / "debian_bookworm_package_descriptions.parquet", columns=["text"])
    tweets = pd.read_parquet(CORPORA / "health_news_tweets.parquet", columns=["text"])
    texts = pd.concat([debian, tweets], ignore_index=True)["text"].fillna("").astype(str)
    texts = texts[texts.str.strip() != ""].head(N_DOCS).reset_index(drop=True)
    texts.to_frame("text").to_parquet(folder / "texts.parquet", compression="zstd")
    model = embed.load_model("default", device="cpu")
    np.save(folder / "cpu_vectors.npy", embed.encode(texts.head(N_REFERENCE).tolist(), device="cpu", show_progress=False,
                                                     encoder=model))
    model.half().save(str(folder / "model"))
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    print(f"{folder}: {len(texts)} texts, model in fp16, {N_REFERENCE} CPU vectors; {size / 2**20:.1f} MiB")


def check(folder: Path) -> int:
    import pandas as pd
    import torch

    from topics import embed

    texts = pd.read_parquet(folder / "texts.parquet")["text"].tolist()
    texts = texts[: int(os.environ.get("GPU_CHECK_DOCS", len(texts)))]  # fewer, for a trial on a CPU
    print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}"
          + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))
    space = embed.vector_space(str(folder / "model"), "torch", "auto", "auto")
    encoder = embed.TorchEncoder(str(folder / "model"), device="auto", batch_size=256)
    print(f"device {encoder.device}, dtype {encoder.dtype} (vector space dtype {space['dtype']})")
    embed.encode_in_batches(encoder, texts[:2048])  # warm-up: kernels, allocator
    if encoder.device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    vectors = embed.encode_in_batches(encoder, texts)
    if encoder.device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    reference = np.load(folder / "cpu_vectors.npy")[: len(vectors)]
    cosine = (vectors[: len(reference)] * reference).sum(axis=1)
    print(f"embedded {len(texts)} documents in {seconds:.1f} s: {len(texts) / seconds:.0f} documents/s")
    print(f"cosine to CPU fp32 over {len(reference)} documents: min {cosine.min():.5f}, mean {cosine.mean():.5f}")
    norms = np.linalg.norm(vectors, axis=1)
    ok = bool(cosine.min() >= 0.99 and np.allclose(norms, 1.0, atol=1e-2) and vectors.dtype == np.float32)
    print("GPU check: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    step = sys.argv[1] if len(sys.argv) > 1 else "check"
    where = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "build" / "gpu_check"
    if step == "prepare":
        prepare(where)
    elif step == "check":
        sys.exit(check(where))
    else:
        sys.exit(f"unknown step {step!r}: prepare or check")
