"""Cold, warm and clustering-changed runs of `topics run` against one cache, side by side
with plain BERTopic (which has no stage cache, so every re-run costs a full fit).

    .venv/bin/python benchmarks/cache.py [--corpus PATH] [--docs N] [--skip-bertopic]

Prints one table: per scenario the sum of stage seconds (from the run's manifest), the
process wall time, and the start-up part of it (imports plus Prefect's temporary server,
i.e. wall time before the flow's first line), each with its ratio to the cold run.
Targets: warm <= 0.05x cold and clustering-changed <= 0.15x cold, on stage seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "arxiv_kaggle_metadata_first2000.parquet"
COLUMNS = ["corpus.id_column=arxiv_id", "corpus.time_column=created", "corpus.label_column=label", "corpus.title_column=title"]


def timed_run(corpus: Path, cache: Path, root: Path, extra: list[str]) -> dict:
    command = [sys.executable, "-m", "flows.cli", "run", "--input", str(corpus)]
    for item in [*COLUMNS, f"cache.dir={cache}", f"output.root={root}", "embed.show_progress=false", *extra]:
        command += ["--set", item]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    started = time.time()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.time() - started
    if done.returncode != 0:
        raise SystemExit(f"run failed:\n{done.stderr[-3000:]}")
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    flow_start = datetime.fromisoformat(manifest["started_at"]).timestamp()
    return {
        "stage_s": sum(s["seconds"] for s in manifest["stages"]),
        "wall_s": wall,
        "startup_s": flow_start - started,
        "stages": {s["name"]: (round(s["seconds"], 2), s["hit"]) for s in manifest["stages"]},
    }


def plain_bertopic(corpus: Path, docs: int | None) -> float:
    """Seconds for one BERTopic fit_transform (model load included, imports not) with the same
    model, UMAP and HDBSCAN settings."""
    code = f"""
import time, pandas as pd
from bertopic import BERTopic
from hdbscan import HDBSCAN
from sentence_transformers import SentenceTransformer
from sklearn.feature_extraction.text import CountVectorizer
from umap import UMAP
from topics.embed import resolve_model
texts = pd.read_parquet({str(corpus)!r})["text"].tolist()[:{docs or 10**9}]
t = time.time()  # after imports, like the stage seconds it is compared with
model = BERTopic(
    embedding_model=SentenceTransformer(resolve_model("default"), device="cpu"),
    umap_model=UMAP(n_components=5, n_neighbors=15, min_dist=0.0, metric="cosine", random_state=42),
    hdbscan_model=HDBSCAN(min_cluster_size=10, metric="euclidean", prediction_data=True),
    vectorizer_model=CountVectorizer(stop_words="english"),
)
model.fit_transform(texts)
print(time.time() - t)
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"BERTopic failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--docs", type=int, default=None, help="use only the first N documents")
    parser.add_argument("--skip-bertopic", action="store_true")
    args = parser.parse_args()
    corpus = args.corpus
    with tempfile.TemporaryDirectory(prefix="topics-bench-") as tmp:
        tmp = Path(tmp)
        if args.docs:
            import pandas as pd

            corpus = tmp / "corpus.parquet"
            pd.read_parquet(args.corpus).head(args.docs).to_parquet(corpus)
        cache, root = tmp / "cache", tmp / "runs"
        rows = {
            "cold": timed_run(corpus, cache, root, []),
            "warm (nothing changed)": timed_run(corpus, cache, root, []),
            "clustering changed": timed_run(corpus, cache, root, ["cluster.min_cluster_size=15"]),
        }
        bertopic_s = None if args.skip_bertopic else plain_bertopic(corpus, None)

    cold = rows["cold"]
    print(f"corpus: {args.corpus.name}" + (f" (first {args.docs})" if args.docs else ""))
    print(f"{'scenario':<24} {'stage s':>9} {'x cold':>7} {'wall s':>8} {'x cold':>7} {'start-up s':>11}")
    for name, row in rows.items():
        print(
            f"{name:<24} {row['stage_s']:>9.1f} {row['stage_s'] / cold['stage_s']:>7.3f} "
            f"{row['wall_s']:>8.1f} {row['wall_s'] / cold['wall_s']:>7.3f} {row['startup_s']:>11.1f}"
        )
    if bertopic_s is not None:
        print(f"{'plain BERTopic, any run':<24} {bertopic_s:>9.1f} {bertopic_s / cold['stage_s']:>7.3f} {'':>8} {'':>7} {'':>11}")
    print("\nper stage (seconds, hit):")
    for name, row in rows.items():
        print(f"  {name:<24} {row['stages']}")
    warm_ratio = rows["warm (nothing changed)"]["stage_s"] / cold["stage_s"]
    changed_ratio = rows["clustering changed"]["stage_s"] / cold["stage_s"]
    print(f"\ntargets: warm {warm_ratio:.3f} <= 0.05: {warm_ratio <= 0.05}; clustering changed {changed_ratio:.3f} <= 0.15: {changed_ratio <= 0.15}")


if __name__ == "__main__":
    main()
