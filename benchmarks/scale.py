"""Stage time, peak memory and output size at 2k, 20k and 63k documents (and 1M): ours
against plain BERTopic doing the same work on the same embeddings.

    .venv/bin/python benchmarks/scale.py [--sizes 2000 20000 63000] [--million] [--repeat N] [--cache DIR]

The documents are a seeded sample (numpy seed 0) of the whole real documents in the scale
corpus (``benchmarks/scale_corpus.py``, built first when missing); ``--million`` adds a row
of ours (``represent.chain: []`` only) on the whole 1,000,000-text corpus, with the seconds
its load and embedding took. Each sample is embedded once with
``embed.backend: static`` (torch would take about 14 hours for 1M here) through the
pipeline's store, default ``outputs/.bench-cache``, and both sides read those vectors.

Each side runs in a child process of its own, so peak RSS (``resource`` ``ru_maxrss`` of the
child) is measured the same way for both, imports included (the shared libraries are imported
before either side's clock starts):

- ours: every stage after ``embed`` recomputed (cold), in-process through the stage graph
  (:func:`topics.stage_graph.run_plan`; Prefect's start-up is not counted), with
  ``represent.chain: []``; a second row adds the default chain's extra cost;
- plain: ``BERTopic(umap_model=UMAP(same settings), hdbscan_model=HDBSCAN(same settings))``
  ``.fit_transform(docs, embeddings)`` with its default representation, then its 2-D map
  (UMAP with our ``project`` settings) and ``visualize_documents`` written with
  ``write_html``. Its stage times come from timing its UMAP and HDBSCAN objects.

The ratio of stage time leaves out our ``evaluate`` stage (coherence, diversity, scores
against labels), which plain BERTopic does not do; its seconds are in a column of their own.

``--repeat N`` runs each side N times, alternating, and reports each stage's median seconds,
the largest peak RSS and every run's total.

Output size: ours, the render entry (every page and table a run publishes); plain, the
``visualize_documents`` HTML. Targets: stage time <= 1.05x plain; peak RSS <= 0.5x plain at
63k; 1M: peak RSS < 16 GB, stages after embedding < 45 minutes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SCALE_CORPUS = REPO / "outputs" / "scale" / "corpus_1m.parquet"
STAGE_COLUMNS = ("reduce", "project", "cluster", "represent", "evaluate", "render")
# Work plain BERTopic does not do (coherence, diversity and label scores), left out of the
# like-for-like ratio.
OURS_ONLY = ("evaluate",)


def sample_corpus(n_docs: int | None, folder: Path) -> Path:
    """A Parquet file of ``n_docs`` whole documents of the scale corpus (all texts if None)."""
    if not SCALE_CORPUS.exists():
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "scale_corpus.py")], check=True)
    table = pd.read_parquet(SCALE_CORPUS, columns=["doc_id", "text", "kind"])
    if n_docs is not None:
        documents = table[table["kind"] == "document"]
        rows = np.sort(np.random.default_rng(0).choice(len(documents), size=min(n_docs, len(documents)), replace=False))
        table = documents.iloc[rows]
    path = folder / f"scale_{len(table)}.parquet"
    table[["doc_id", "text"]].to_parquet(path, index=False)
    return path


def settings(chain: bool, overrides: list[str]):
    from topics.config import load_config

    items = ["corpus.id_column=doc_id", "embed.backend=static", "embed.show_progress=false", *overrides]
    return load_config(None, [*items, *([] if chain else ["represent.chain=[]"])])


def embed_once(corpus: Path, cache: Path, overrides: list[str]) -> None:
    from topics.artifacts import ArtifactStore
    from topics.stage_graph import RunPlan

    plan, store, keys = RunPlan(settings(False, overrides), str(corpus)), ArtifactStore(cache), {}
    for name in ("load", "embed"):
        keys[name] = plan.call(name, store, keys).key


def child_ours(corpus: Path, cache: Path, chain: bool, overrides: list[str], cold_from: str = "reduce") -> dict:
    # The libraries both sides use are imported before the clock starts, as plain's are.
    import bertopic  # noqa: F401
    import hdbscan  # noqa: F401
    import umap  # noqa: F401

    from topics.artifacts import ArtifactStore
    from topics.stage_graph import RunPlan, run_plan

    plan, store, seconds = RunPlan(settings(chain, overrides), str(corpus)), ArtifactStore(cache), {}
    stages = plan.stages()
    cold = set(stages[stages.index(cold_from):])  # earlier stages come from the store
    started = time.perf_counter()
    keys = run_plan(plan, store, refresh=cold, on_result=lambda r: seconds.__setitem__(r.name, r.seconds))
    # Above fit_sample the map runs beside the stages after it, so the stages' sum overstates.
    stages_wall = time.perf_counter() - started
    render = store.get("render", keys["render"], verify=False).path
    seconds["represent"] = seconds.pop("refine", 0.0) + seconds["represent"] + seconds.pop("label", 0.0)
    # The largest worker process of UMAP's fit or transform chunks (none below fit_sample), as it
    # measured itself: a spawned worker's ru_maxrss would count the memory of the process it forked from.
    metas = [store.get(name, keys[name], verify=False).meta for name in ("reduce", "project")]
    workers = [meta.get("worker_rss_mib", 0) for meta in metas]
    return {"seconds": seconds, "worker_peak_rss": max(workers) * 2**20, "stages_wall": stages_wall,
            "worker_processes": max(meta.get("worker_processes", 0) for meta in metas),
            "output_bytes": sum(f.stat().st_size for f in render.rglob("*") if f.is_file()),
            "n_topics": int(store.get("represent", keys["represent"], verify=False).table("topics.parquet")["topic"].max() + 1)}


def child_plain(corpus: Path, cache: Path, overrides: list[str]) -> dict:
    import hdbscan
    from bertopic import BERTopic
    from umap import UMAP

    from topics.artifacts import ArtifactStore
    from topics.stage_graph import RunPlan

    config = settings(False, overrides)
    plan, store, keys = RunPlan(config, str(corpus)), ArtifactStore(cache), {}
    for name in ("load", "embed"):
        keys[name] = plan.call(name, store, keys).key
    texts = store.get("load", keys["load"]).table("documents.parquet")["text"].tolist()
    embeddings = np.asarray(store.get("embed", keys["embed"]).array("embeddings.npy"))
    seconds: dict[str, float] = {}

    class TimedUMAP(UMAP):
        def fit(self, *args, **kwargs):
            started = time.perf_counter()
            result = super().fit(*args, **kwargs)
            seconds["reduce"] = time.perf_counter() - started
            return result

    class TimedHDBSCAN(hdbscan.HDBSCAN):
        def fit(self, *args, **kwargs):
            started = time.perf_counter()
            result = super().fit(*args, **kwargs)
            seconds["cluster"] = time.perf_counter() - started
            return result

    r, c, p = config.reduce, config.cluster, config.project
    model = BERTopic(
        umap_model=TimedUMAP(n_components=r.n_components, n_neighbors=r.n_neighbors, min_dist=r.min_dist, metric=r.metric,
                             random_state=r.random_state, low_memory=True),
        hdbscan_model=TimedHDBSCAN(min_cluster_size=c.min_cluster_size, metric=c.metric,
                                   cluster_selection_method=c.cluster_selection_method, prediction_data=True),
    )
    started = time.perf_counter()
    model.fit_transform(texts, embeddings)
    seconds["represent"] = time.perf_counter() - started - seconds["reduce"] - seconds["cluster"]
    started = time.perf_counter()
    coordinates = UMAP(n_components=2, n_neighbors=p.n_neighbors, min_dist=p.min_dist, metric=p.metric,
                       random_state=p.random_state, low_memory=True).fit_transform(embeddings)
    seconds["project"] = time.perf_counter() - started
    started = time.perf_counter()
    html = Path(tempfile.mkdtemp(prefix="plain-map-")) / "documents.html"
    model.visualize_documents(texts, reduced_embeddings=coordinates).write_html(html)
    seconds["render"] = time.perf_counter() - started
    return {"seconds": seconds, "output_bytes": html.stat().st_size, "n_topics": len(model.get_topic_info()) - 1}


def measure(side: str, corpus: Path, cache: Path, overrides: list[str], cold_from: str = "reduce") -> dict:
    """Run one side in a child process; its stage seconds, peak RSS (bytes) and output bytes,
    or its failure."""
    command = [sys.executable, __file__, "--child", side, "--corpus", str(corpus), "--cache", str(cache),
               "--cold-from", cold_from, *[arg for item in overrides for arg in ("--set", item)]]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        return {"failed": f"exit {done.returncode}: {(done.stderr.strip().splitlines() or ['?'])[-1][:120]}", "wall_s": wall}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def median_of(results: list[dict]) -> dict:
    """One result from repeated runs of a side: each stage's median seconds, the largest peak
    RSS, and the totals of every run (``totals``); the first failure if any run failed."""
    failed = [result for result in results if "failed" in result]
    if failed:
        return failed[0]
    combined = dict(results[-1])
    combined["seconds"] = {name: float(np.median([r["seconds"].get(name, 0.0) for r in results])) for name in STAGE_COLUMNS}
    combined["peak_rss"] = max(r["peak_rss"] for r in results)
    combined["totals"] = [sum(r["seconds"].get(name, 0.0) for name in STAGE_COLUMNS) for r in results]
    return combined


def row(label: str, n_docs: int, result: dict, plain: dict | None) -> str:
    if "failed" in result:
        return f"{n_docs:>9,} {label:<18} failed after {result['wall_s']:.0f} s: {result['failed']}"
    s = result["seconds"]
    total = sum(s.get(name, 0.0) for name in STAGE_COLUMNS)
    cells = " ".join(f"{s.get(name, 0.0):>9.1f}" for name in STAGE_COLUMNS)
    text = (f"{n_docs:>9,} {label:<18} {cells} {total:>8.1f} {result['peak_rss'] / 2**20:>8.0f} "
            f"{result['output_bytes'] / 1e6:>7.1f} {result['n_topics']:>6}")
    if plain and "failed" not in plain:
        plain_total = sum(plain["seconds"].get(name, 0.0) for name in STAGE_COLUMNS)
        same_work = total - sum(s.get(name, 0.0) for name in OURS_ONLY)
        text += f"   x{same_work / plain_total:.2f} time, x{result['peak_rss'] / plain['peak_rss']:.2f} RSS"
    if len(result.get("totals", [])) > 1:
        text += f"   (runs' totals {' '.join(f'{t:.1f}' for t in result['totals'])} s)"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[2000, 20000, 63000])
    parser.add_argument("--million", action="store_true", help="add ours on the whole 1M-text corpus")
    parser.add_argument("--cache", type=Path, default=REPO / "outputs" / ".bench-cache")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="section.key=value for both sides")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run each side N times, alternating, and report each stage's median seconds "
                             "(and the largest peak RSS): stage times on a shared machine spread by several percent")
    parser.add_argument("--child", choices=["ours", "ours-chain", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cold-from", default="reduce", metavar="STAGE",
                        help="recompute ours from this stage on; earlier stages are read from the store "
                             "(e.g. to time the stages after clustering again on 1M)")
    args = parser.parse_args()

    if args.child:
        if args.child == "plain":
            result = child_plain(args.corpus, args.cache, args.overrides)
        else:
            result = child_ours(args.corpus, args.cache, args.child == "ours-chain", args.overrides, args.cold_from)
        result["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
        print(json.dumps(result))
        return

    header = (f"{'docs':>9} {'run':<18} " + " ".join(f"{name + ' s':>9}" for name in STAGE_COLUMNS)
              + f" {'total s':>8} {'RSS MiB':>8} {'out MB':>7} {'topics':>6}   ours/plain (time without evaluate)")
    print(header)
    work = Path(tempfile.mkdtemp(prefix="topics-scale-"))
    for n_docs in [*args.sizes, *([None] if args.million else [])]:
        corpus = sample_corpus(n_docs, work)
        n = len(pd.read_parquet(corpus, columns=["doc_id"]))
        started = time.perf_counter()
        embed_once(corpus, args.cache, args.overrides)
        embed_seconds = time.perf_counter() - started
        # At 1M only ours without the chain runs: plain BERTopic fits UMAP on every point
        # (hours here), and the chain's KeyBERT cost is already measured at 63k.
        whole = n_docs is None
        sides = ["ours"] if whole else ["plain", "ours", "ours-chain"]
        runs: dict[str, list[dict]] = {side: [] for side in sides}
        for _ in range(args.repeat):  # alternating, so a slow spell of the machine hits every side
            for side in sides:
                runs[side].append(measure(side, corpus, args.cache, args.overrides, args.cold_from if side == "ours" else "reduce"))
        ours, plain = median_of(runs["ours"]), None if whole else median_of(runs["plain"])
        print(row("ours, chain []", n, ours, plain), flush=True)
        if not whole:
            print(row("ours, default chain", n, median_of(runs["ours-chain"]), plain), flush=True)
            print(row("plain BERTopic", n, plain, None), flush=True)
        else:
            print(f"{'':>9} load and embed (static backend, cached when seen before): {embed_seconds:.0f} s", flush=True)
            if "stages_wall" in ours:
                print(f"{'':>9} stages after embedding, wall: {ours['stages_wall']:.0f} s (the map runs beside "
                      "the stages after it, so this is less than the stages' sum)", flush=True)
            if ours.get("worker_peak_rss"):
                worst = ours["peak_rss"] + ours["worker_processes"] * ours["worker_peak_rss"]
                print(f"{'':>9} largest UMAP worker process (fit or transform chunks): {ours['worker_peak_rss'] / 2**20:.0f} MiB; "
                      f"at most {worst / 2**30:.1f} GiB in all if the run's process and {ours['worker_processes']} such "
                      "workers peaked at once", flush=True)


if __name__ == "__main__":
    main()
