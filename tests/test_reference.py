"""Reference runs and drift, on real arXiv abstracts: a reference fitted without astro-ph, then
a new corpus (some documents seen before, a shifted mix, and the held-out astro-ph group)
assigned to it, under a real Prefect server."""

import json

import numpy as np
import pandas as pd
import pytest

from flows.cli import main
from topics import cluster, reduce
from topics.config import ClusterConfig, ReduceConfig, RepresentConfig
from topics.drift import match_topics
from topics.reference import MODEL_DIR, ReferenceRunError, check_vector_space, load_reference, member_thresholds, unit_rows
from topics.represent import represent
from topics.run import read_manifest

LABEL = ["corpus.label_column=label_archive"]


def _group(table, archive, start, stop):
    return table[table["label_archive"] == archive].iloc[start:stop]


@pytest.fixture(scope="module")
def corpora(arxiv_table, tmp_path_factory):
    """(reference file, new file): the reference has math, cond-mat and hep-th (90/90/60); the
    new corpus has 20 of the reference's documents, 20 more math, 90 more cond-mat and 60
    astro-ph, held out of the reference."""
    folder = tmp_path_factory.mktemp("reference_corpora")
    reference = pd.concat([_group(arxiv_table, "math", 0, 90), _group(arxiv_table, "cond-mat", 0, 90),
                           _group(arxiv_table, "hep-th", 0, 60)])
    seen = pd.concat([reference.iloc[:10], reference.iloc[90:100]])
    new = pd.concat([seen, _group(arxiv_table, "math", 90, 110), _group(arxiv_table, "cond-mat", 90, 180),
                     _group(arxiv_table, "astro-ph", 0, 60)])
    paths = folder / "reference.parquet", folder / "new.parquet"
    reference.reset_index(drop=True).to_parquet(paths[0])
    new.reset_index(drop=True).to_parquet(paths[1])
    return paths


@pytest.fixture(scope="module")
def reference_run(flow_runner, corpora):
    return flow_runner(*LABEL, input_path=corpora[0])


@pytest.fixture(scope="module")
def assigned_run(flow_runner, corpora, reference_run):
    return flow_runner(*LABEL, input_path=corpora[1], reference=reference_run)


def _drift(run_dir):
    return json.loads((run_dir / "drift.json").read_text())


def test_every_document_is_placed_and_seen_ones_keep_their_topic(reference_run, assigned_run):
    documents = pd.read_parquet(assigned_run / "documents.parquet")
    assert set(documents["status"]) <= {"seen", "assigned", "new", "outlier"}
    assert (documents["status"] == "seen").sum() == 20
    unseen = documents[documents["status"] != "seen"]  # a seen document may keep the outlier topic
    assert ((unseen["topic"] == -1) == (unseen["status"] == "outlier")).all()
    drift = _drift(assigned_run)
    assert drift["mode"] == "assign" and drift["n_docs"] == len(documents) == sum(drift["status_counts"].values())
    # Every topic of this run is one reference topic or one new topic.
    assert all(len(r["current_topics"]) <= 1 for r in drift["topics"])  # assignment maps topics one to one
    to_reference = {t: r["reference_topic"] for r in drift["topics"] for t in r["current_topics"]}
    new_ids = {t["current_topic"] for t in drift["new_topics"]}
    assert set(documents.loc[documents["topic"] >= 0, "topic"]) == set(to_reference) | new_ids
    assert not set(to_reference) & new_ids
    before = pd.read_parquet(reference_run / "documents.parquet").set_index("doc_id")["topic"]
    for row in documents[documents["status"] == "seen"].itertuples():
        assert to_reference.get(row.topic, -1) == before[row.doc_id]
    assigned = documents[documents["status"] == "assigned"]
    assert all(to_reference[t] is not None for t in assigned["topic"])


def test_held_out_group_forms_a_new_topic(assigned_run):
    documents = pd.read_parquet(assigned_run / "documents.parquet")
    astro = documents[documents["label"] == "astro-ph"]
    new_ids = {t["current_topic"] for t in _drift(assigned_run)["new_topics"]}
    assert new_ids, "the held-out astro-ph abstracts should form at least one new topic"
    in_new = documents[documents["topic"].isin(new_ids)]
    # The new topics are the held-out group's (astro-ph may form one or, on another machine's
    # floats, two of them: both were seen), at least one topic's worth of its documents
    # (cluster.min_cluster_size, 10) land there, few join a reference topic, the rest stay
    # outliers. How many stay outliers depends on the machine's floats: at least 24 of 60
    # reached a new topic on earlier machines, 11 on an AMD EPYC (38 outliers), so the test
    # asks for a topic's worth.
    assert (in_new["label"] == "astro-ph").mean() >= 0.8
    assert astro["topic"].isin(new_ids).sum() >= 10
    assert (astro["status"] == "assigned").mean() <= 0.2


def test_shared_topic_volumes_move_with_the_mix(reference_run, assigned_run):
    reference_docs = pd.read_parquet(reference_run / "documents.parquet")
    majority = reference_docs[reference_docs["topic"] >= 0].groupby("topic")["label"].agg(lambda s: s.mode()[0])
    change = pd.Series({r["reference_topic"]: r["change"] for r in _drift(assigned_run)["topics"]})
    by_archive = change.groupby(majority.reindex(change.index)).sum()
    # The new corpus has more cond-mat, less math and no new hep-th than the reference.
    assert by_archive["cond-mat"] > 0 and by_archive["math"] < 0 and by_archive["hep-th"] < 0


def test_drift_page_and_index_link(assigned_run):
    html = (assigned_run / "drift.html").read_text()
    assert "Drift against the reference run" in html and "Plotly.newPlot" in html
    index = (assigned_run / "index.html").read_text()
    assert 'href="drift.html"' in index and "new topic(s)" in index
    assert read_manifest(assigned_run)["reference"] == str(read_manifest(assigned_run)["reference"])


def test_saved_reference_loads_with_bertopic_and_transforms(reference_run, embedding_model):
    from bertopic import BERTopic

    model = BERTopic.load(str(reference_run / MODEL_DIR), embedding_model=embedding_model)
    topics = pd.read_parquet(reference_run / "topics.parquet")
    assert sorted(model.get_topics()) == sorted(topics["topic"])
    documents = pd.read_parquet(reference_run / "documents.parquet")
    sample = documents[documents["topic"] >= 0].groupby("topic").head(3)
    predicted, _ = model.transform(sample["text"].tolist())
    assert len(predicted) == len(sample)
    # After a safetensors load BERTopic assigns by topic-embedding similarity: most documents
    # land in the topic they were fitted in.
    assert (np.asarray(predicted) == sample["topic"].to_numpy()).mean() >= 0.6
    reference = load_reference(reference_run)
    assert len(reference.topics) == (topics["topic"] >= 0).sum() and reference.topic_embeddings.shape[0] == len(reference.topics)
    assert all(-1 <= t <= 1 for t in reference.topics["threshold"])


def test_refit_mode_matches_topics(flow_runner, corpora, reference_run):
    refit = flow_runner(*LABEL, "reference.mode=refit", input_path=corpora[1], reference=reference_run)
    drift = _drift(refit)
    assert drift["mode"] == "refit" and "status_counts" not in drift
    matched = [r for r in drift["topics"] if r["current_topics"]]
    assert matched and all(r["similarity"] >= drift["match_threshold"] for r in matched)
    documents = pd.read_parquet(refit / "documents.parquet")
    for r in drift["topics"]:
        assert r["size_now"] == documents["topic"].isin(r["current_topics"]).sum()
    assert "status" not in pd.read_parquet(refit / "documents.parquet").columns


def test_two_independent_fits_are_matched(arxiv_300_embedded):
    texts, ids, embeddings = arxiv_300_embedded
    fits = []
    for seed in (1, 2):
        reduced = reduce.reduce(embeddings, ReduceConfig(random_state=seed))
        labels, _ = cluster.cluster(reduced, ClusterConfig(cluster_selection_method="leaf"))
        result = represent(texts, ids, embeddings, labels, RepresentConfig(chain=[]))
        fits.append(result.topic_embeddings[(result.topics["topic"] >= 0).to_numpy()])
    for first, second in (fits, fits[::-1]):
        pairs = match_topics(first, second, threshold=0.8)
        # Most topics of each fit find a partner in the other.
        assert len(pairs) >= 0.6 * len(second), (len(pairs), len(first), len(second))
        assert len({c for _, c, _ in pairs}) == len(pairs)  # one partner per topic at most


def test_reassigned_outliers_do_not_set_thresholds(arxiv_300_embedded):
    _, _, embeddings = arxiv_300_embedded
    doc_topics = np.zeros(len(embeddings), dtype=np.int64)
    centre = unit_rows(embeddings).mean(axis=0, keepdims=True)
    similarity = unit_rows(embeddings) @ unit_rows(centre)[0]
    # The 30 % least similar documents stand for outliers that outlier reduction moved in.
    reassigned = similarity < np.percentile(similarity, 30)
    (with_all,) = member_thresholds(embeddings, doc_topics, centre, [0])
    (core_only,) = member_thresholds(embeddings, doc_topics, centre, [0], reassigned)
    assert core_only == pytest.approx(float(np.percentile(similarity[~reassigned], 5)), abs=1e-6)
    assert core_only > with_all
    # A topic made only of reassigned documents falls back to all of them.
    (fallback,) = member_thresholds(embeddings, doc_topics, centre, [0], np.ones(len(embeddings), dtype=bool))
    assert fallback == pytest.approx(with_all)


def test_a_run_that_cannot_serve_as_reference_is_refused(capsys, tmp_path, reference_run):
    err = main(["run", "--reference", str(tmp_path)])
    assert err == 2 and "no manifest.json" in capsys.readouterr().err
    with pytest.raises(ReferenceRunError, match="no such run directory"):
        load_reference(tmp_path / "missing")
    code = main(["run", "--reference", str(reference_run), "--set", "embed.model=/nonexistent/model"])
    assert code == 2


def test_unseen_texts_are_not_seen_and_one_new_group_forms_one_topic(reference_run, arxiv_table):
    """A new corpus of 60 cond-mat and 60 held-out astro-ph abstracts the reference does not
    hold: none is seen; the one new theme forms a new topic (HDBSCAN alone would call a single
    group noise)."""
    from topics import embed
    from topics.reference_assign import assign

    reference = load_reference(reference_run)
    new = pd.concat([_group(arxiv_table, "cond-mat", 200, 260), _group(arxiv_table, "astro-ph", 100, 160)])
    texts = new["text"].tolist()
    embeddings = embed.encode(texts, show_progress=False)
    result = assign(texts, embeddings, reduce.reduce(embeddings), reference, "auto", ClusterConfig())
    assert "seen" not in set(result.status)
    astro = (new["label_archive"] == "astro-ph").to_numpy()
    assert result.new_topics and (result.status[astro] == "new").mean() >= 0.6
    assert pd.Series(result.labels[astro]).value_counts().iloc[0] >= 0.5 * astro.sum()


def test_damaged_reference_files_are_named(reference_run, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(reference_run, broken)
    (broken / MODEL_DIR / "reference.json").write_text("{}")
    with pytest.raises(ReferenceRunError, match="model/reference.json is damaged"):
        load_reference(broken)
    (broken / MODEL_DIR / "topic_embeddings.npy").unlink()
    with pytest.raises(ReferenceRunError, match="model/topic_embeddings.npy is missing"):
        load_reference(broken)
    with pytest.raises(ReferenceRunError, match="not a directory"):
        load_reference(broken / "manifest.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReferenceRunError, match="no manifest.json"):
        load_reference(tmp_path / "empty")


def test_vectors_of_another_model_or_backend_are_refused():
    info = {"embedding_model": "mini@sha256:ab", "embedding_backend": "torch/fp32"}
    check_vector_space("ref", info, "mini@sha256:ab", "torch/fp32")
    check_vector_space("ref", {"embedding_model": "mini@sha256:ab"}, "mini@sha256:ab", "torch/fp32")  # saved before backends
    with pytest.raises(ReferenceRunError, match="embed.backend"):
        check_vector_space("ref", info, "mini@sha256:ab", "static/fp32")
    with pytest.raises(ReferenceRunError, match="embed.backend"):
        check_vector_space("ref", info, "mini@sha256:ab", "torch/fp16")
    with pytest.raises(ReferenceRunError, match="embed.model"):
        check_vector_space("ref", info, "other@sha256:cd", "torch/fp32")
