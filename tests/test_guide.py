"""Guided topics (topics.guide, topics.guide_stage): zero-shot and seed topics on real arXiv
abstracts with the real model, the guide file, and a zero-shot run through the flow."""

import json

import numpy as np
import pandas as pd
import pytest

from flows.cli import main
from topics import embed, guide
from topics.config import ConfigError, GuideConfig, RunConfig
from topics.refine import uses_vocabulary
from topics.run import read_manifest
from topics.stage_cache import stage_key

ASTRO = "astrophysics, galaxies and stars"
NOBODY = "cooking recipes and restaurants"
# Measured on the 300-abstract slice with all-MiniLM-L6-v2 at the default threshold 0.35:
# 39 abstracts join ASTRO, 35 of them astro-ph (precision 0.897; 0.87 at 0.30, 0.97 at
# 0.40). The floors leave a margin for other CPUs and library versions.
PRECISION_FLOOR = 0.80
MIN_JOINED = 25


@pytest.fixture(scope="module")
def labels(arxiv_300):
    return pd.read_parquet(arxiv_300)["label"].to_numpy()


@pytest.fixture(scope="module")
def listed(embedding_model):
    return embed.encode([ASTRO, NOBODY], encoder=embedding_model, show_progress=False)


def test_zeroshot_collects_a_known_label(arxiv_300_embedded, listed, labels):
    embeddings = arxiv_300_embedded[2]
    assignment, similarity = guide.zeroshot_assign(embeddings, listed, 0.35)
    joined = assignment == 0
    precision = float(np.mean(labels[joined] == "astro-ph"))
    assert joined.sum() >= MIN_JOINED and precision >= PRECISION_FLOOR, (int(joined.sum()), precision)
    assert not (assignment == 1).any()  # nothing is about cooking
    # The threshold is honoured both ways, and a document joins its most similar listed topic.
    assert (similarity[assignment >= 0] >= 0.35).all() and (similarity[assignment < 0] < 0.35).all()
    np.testing.assert_allclose(similarity, (embeddings @ listed.T).max(axis=1), atol=1e-5)
    assert assignment.dtype == np.int64 and similarity.dtype == np.float32
    stricter, _ = guide.zeroshot_assign(embeddings, listed, 0.45)
    assert set(np.flatnonzero(stricter >= 0)) < set(np.flatnonzero(joined))


def test_seed_nudging(arxiv_300_embedded, embedding_model):
    embeddings = np.asarray(arxiv_300_embedded[2])
    before = embeddings.copy()
    seeds = embed.encode(["quantum qubit entanglement", "galaxy star redshift"], encoder=embedding_model, show_progress=False)
    nudged, y = guide.nudge(embeddings, seeds)
    np.testing.assert_array_equal(embeddings, before)  # the caller's array is not modified
    assert nudged.dtype == np.float32 and nudged.shape == embeddings.shape and y.dtype == np.int64
    moved, kept = y >= 0, y < 0
    assert moved.sum() > 10 and kept.sum() > 10
    np.testing.assert_array_equal(nudged[kept], embeddings[kept])
    np.testing.assert_allclose(nudged[moved], 0.75 * embeddings[moved] + 0.25 * seeds[y[moved]], atol=1e-6)
    # Each nudged document is closer (in cosine) to its seed topic than before.
    unit = nudged[moved] / np.linalg.norm(nudged[moved], axis=1, keepdims=True)
    assert ((unit * seeds[y[moved]]).sum(1) > (embeddings[moved] * seeds[y[moved]]).sum(1)).all()


def test_combine_labels_puts_listed_topics_first():
    labels = guide.combine_labels(np.array([1, -1, 0, -1, -1]), np.array([0, -1, 2]), n_listed=3)
    np.testing.assert_array_equal(labels, [1, 3, 0, -1, 5])


def test_guide_files(tmp_path):
    csv = tmp_path / "g.csv"
    csv.write_text('topic,description,seed_words\nAstro,"astrophysics, galaxies and stars",\n,,"qubit, entanglement"\n')
    resolved = guide.resolve(GuideConfig(file=str(csv)))
    assert resolved.names == ("Astro",) and resolved.texts == (ASTRO,) and resolved.seed_topics == (("qubit", "entanglement"),)
    yml = tmp_path / "g.yaml"
    yml.write_text(f"zeroshot_topics:\n  - topic: Astro\n    description: {ASTRO}\nseed_topics:\n  - [qubit, entanglement]\n")
    # The file's content is the key, not its path or format.
    assert guide.resolve(GuideConfig(file=str(yml))).settings() == resolved.settings()
    assert guide.resolve(GuideConfig(zeroshot_topics=[ASTRO])).settings()["zeroshot"]["texts"] == [ASTRO]
    with pytest.raises(ValueError, match="not both"):
        GuideConfig(file=str(csv), zeroshot_topics=["x"])


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("name, content, expected", [
    ("missing.csv", None, "missing.csv: not found"),
    ("bad.csv", "name,seeds\nx,y\n", "bad.csv: CSV columns must be among topic, description, seed_words"),
    ("twice.csv", "topic\nAstro\nAstro\n", "twice.csv: topic 'Astro' is listed twice"),
    ("bad.yaml", "zeroshot_topics: [a, b\n", "bad.yaml, line 2: not valid YAML"),
    ("keys.yaml", "topics: [a]\n", "keys.yaml: expected a mapping with keys zeroshot_topics and/or seed_topics"),
    ("empty.yaml", "seed_topics: []\n", "empty.yaml: lists no zero-shot topic and no seed topic"),
    ("g.txt", "a\n", "g.txt: unknown format .txt"),
])
def test_bad_guide_file_exits_2(capsys, tmp_path, name, content, expected):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert expected in _error(capsys, ["run", "--set", f"guide.file={path}"])


def test_bad_guide_settings_exit_2(capsys, tmp_path):
    assert "guide.zeroshot_min_similarity: Input should be less than or equal to 1" in _error(
        capsys, ["run", "--set", "guide.zeroshot_topics=[a]", "--set", "guide.zeroshot_min_similarity=1.5"])
    assert "guide.zeroshot_topics: a listed topic is empty" in _error(capsys, ["run", "--set", "guide.zeroshot_topics=['a', ' ']"])
    assert "guide.seed_topics" in _error(capsys, ["run", "--set", "guide.seed_topics=[[a, '']]"])
    assert "refine.nr_topics (5) would merge the listed topics" in _error(
        capsys, ["run", "--set", "guide.zeroshot_topics=[a]", "--set", "refine.nr_topics=5"])
    assert "cannot be combined with --reference" in _error(
        capsys, ["run", "--set", "guide.seed_topics=[[a]]", "--reference", str(tmp_path)])


# --- through the flow ------------------------------------------------------------------------

def _keys(run_dir):
    return {s["name"]: (s["key"], s["hit"]) for s in read_manifest(run_dir)["stages"]}


def test_unguided_keys_are_unchanged(arxiv_run, flow_runner):
    """Without guide settings no stage reads the guide: every key follows the recipe it had
    before guided topics existed, so existing caches stay valid."""
    manifest = read_manifest(arxiv_run)
    settings = RunConfig.model_validate(manifest["config"])
    key = {name: k for name, (k, _) in _keys(arxiv_run).items()}
    assert "guide" not in key
    # Below reduce.fit_sample the threshold does not shape the reduction, so it is not in the key.
    assert key["reduce"] == stage_key("reduce", {"embed": key["embed"]}, settings.reduce.model_dump(mode="json", exclude={"fit_sample"}))
    assert key["project"] == stage_key("project", {"embed": key["embed"]}, settings.project.model_dump(mode="json", exclude={"fit_sample"}))
    assert key["cluster"] == stage_key("cluster", {"reduce": key["reduce"]}, settings.cluster.model_dump(mode="json"))
    assert not uses_vocabulary(settings.refine)
    assert key["refine"] == stage_key("refine", {"corpus": key["load"], "embed": key["embed"], "cluster": key["cluster"]},
                                      {"refine": settings.refine.model_dump(mode="json")})
    assert key["represent"] == stage_key("represent", {"corpus": key["load"], "embed": key["embed"], "refine": key["refine"]},
                                         settings.represent.term_settings())
    # A guide threshold alone lists no topic: the same keys, every stage reused.
    again = _keys(flow_runner("guide.zeroshot_min_similarity=0.5"))
    assert {n: k for n, (k, _) in again.items()} == key and all(hit for _, hit in again.values())


def test_zeroshot_run(arxiv_run, flow_runner, tmp_path):
    listing = tmp_path / "guide.csv"
    listing.write_text(f'topic,description\nAstronomy,"{ASTRO}"\nCooking,{NOBODY}\n')
    run_dir = flow_runner(f"guide.file={listing}")
    stages = _keys(run_dir)
    assert [name for name in stages][:3] == ["load", "embed", "guide"]
    assert all(stages[name][1] for name in ("load", "embed", "reduce", "project"))  # reused from the plain run
    assert stages["reduce"][0] == _keys(arxiv_run)["reduce"][0]

    topics = pd.read_parquet(run_dir / "topics.parquet").set_index("label")
    documents = pd.read_parquet(run_dir / "documents.parquet")
    astro, cooking = topics.loc["Astronomy"], topics.loc["Cooking"]
    assert bool(astro["zeroshot"]) and bool(cooking["zeroshot"]) and topics["zeroshot"].sum() == 2
    assert astro["name"] == f"{astro['topic']}_Astronomy" and astro["size"] >= MIN_JOINED and len(astro["terms"]) > 0
    assert cooking["size"] == 0 and list(cooking["terms"]) == [] and cooking["topic"] == topics["topic"].max()
    members = documents[documents["topic"] == astro["topic"]]
    assert len(members) == astro["size"] and (members["zeroshot_topic"] == "Astronomy").all()
    assert members["probability"].isna().all() and documents["zeroshot_topic"].notna().sum() == astro["size"]
    assert (members["label"] == "astro-ph").mean() >= PRECISION_FLOOR

    flat = pd.read_csv(run_dir / "topics.csv")
    assert flat.loc[flat["label"] == "Cooking", "size"].tolist() == [0]
    index = (run_dir / "index.html").read_text()
    assert "Cooking" in index and "Astronomy" in index
    scores = {row["name"]: row for row in json.loads((run_dir / "metrics.json").read_text())["labels"]["zeroshot"]}
    assert scores["Astronomy"]["majority_label"] == "astro-ph" and scores["Astronomy"]["precision"] >= PRECISION_FLOOR
    assert scores["Cooking"]["size"] == 0 and scores["Cooking"]["precision"] is None
    assert "Listed (zero-shot) topics" in (run_dir / "classification.html").read_text()



@pytest.mark.parametrize("body, problem", [
    ("zeroshot_topics: 42\n", "zeroshot_topics: expected a list, found int"),
    ("zeroshot_topics: true\n", "zeroshot_topics: expected a list, found bool"),
    ("zeroshot_topics: Astro\n", "zeroshot_topics: expected a list, found str"),
    ("zeroshot_topics: {topic: Astro, description: stars}\n", "zeroshot_topics: expected a list, found dict"),
    ("seed_topics: galaxy\n", "seed_topics: expected a list, found str"),
    ("zeroshot_topics: [Graph theory, ' graph  THEORY']\n", "is listed twice"),
])
def test_guide_yaml_of_the_wrong_shape_is_refused(tmp_path, body, problem):
    from topics.guide_file import read_guide_file

    path = tmp_path / "guide.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=problem):
        read_guide_file(path)
    with pytest.raises(ConfigError, match="is a folder"):
        read_guide_file(tmp_path)
