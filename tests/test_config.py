from pathlib import Path

import pytest

from topics.config import ConfigError, RunConfig, build_config, load_config

REPO = Path(__file__).resolve().parents[1]


def test_default_yaml_equals_builtin_defaults():
    assert load_config(REPO / "configs" / "default.yaml") == RunConfig()


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match=r"cluster\.min_cluster_sise: unknown key"):
        build_config({"cluster": {"min_cluster_sise": 5}})


def test_file_problems_name_their_line(tmp_path):
    """A key the file set is named with its line; one an override replaced is not (the
    override, not the file line, holds the bad value)."""
    file = tmp_path / "c.yaml"
    file.write_text("reduce:\n  n_neighbours: 10\n  min_dist: 0.0\nproject:\n  min_dist: 7x\n")
    with pytest.raises(ConfigError, match=rf"^reduce\.n_neighbours \({file}, line 2\): unknown key; project\.min_dist \({file}, line 5\): "):
        load_config(file)
    with pytest.raises(ConfigError, match=r"project\.min_dist: expected a number, not the text '7y'") as caught:
        load_config(file, ["project.min_dist=7y"])
    assert f"reduce.n_neighbours ({file}, line 2)" in str(caught.value)
    # A bad override alone is the override's problem, not the file's.
    fine = tmp_path / "fine.yaml"
    fine.write_text("reduce:\n  n_neighbors: 10\n")
    with pytest.raises(ConfigError, match=r"^cluster\.min_cluster_size: ") as caught:
        load_config(fine, ["cluster.min_cluster_size=1"])
    assert "fine.yaml" not in str(caught.value)


def test_unknown_section_is_named():
    with pytest.raises(ConfigError, match=r"clustr: unknown key"):
        build_config({"clustr": {}})


def test_bad_value_is_named():
    with pytest.raises(ConfigError, match=r"cluster\.min_cluster_size"):
        build_config({}, ["cluster.min_cluster_size=1"])
    with pytest.raises(ConfigError, match=r"embed\.device"):
        build_config({}, ["embed.device=tpu"])


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_nan_and_infinity_are_named_as_such(value):
    with pytest.raises(ConfigError, match=r"refine\.outliers\.threshold: Input should be a finite number"):
        build_config({}, [f"refine.outliers.threshold={value}"])


@pytest.mark.parametrize("key", ["execution.processes", "cluster.min_cluster_size", "refine.nr_topics", "refine.outliers.threshold"])
@pytest.mark.parametrize("value", ["true", "false"])
def test_a_boolean_is_not_a_number(key, value):
    # pydantic alone reads true as 1 and false as 0.
    with pytest.raises(ConfigError, match=rf"{key.replace('.', '[.]')}: expected a number.*, not the boolean {value}"):
        build_config({}, [f"{key}={value}"])
    assert build_config({}, [f"embed.show_progress={value}"]).embed.show_progress is (value == "true")


def test_a_boolean_for_a_number_names_what_else_the_key_takes():
    with pytest.raises(ConfigError, match=r"refine[.]nr_topics: expected a number, 'auto' or null, not the boolean false"):
        build_config({}, ["refine.nr_topics=false"])
    # YAML reads "yes" as true: the message says why a word became a boolean.
    with pytest.raises(ConfigError, match=r"execution[.]processes: expected a number or null, not the boolean true [(]YAML reads"):
        build_config({}, ["execution.processes=yes"])


@pytest.mark.parametrize(("override", "message"), [
    ("represent.ngram_range=[1]", r"represent[.]ngram_range: too few values [(]item 2 is missing[)]$"),
    ("execution.processes=", r"execution[.]processes: empty value; give a number"),
    ("represent.token_pattern=", r"represent[.]token_pattern: matches the empty string"),
    ("represent.token_pattern=(a)(b)", r"represent[.]token_pattern: at most one capturing group"),
    ("cluster.min_cluster_size=abc", r"cluster[.]min_cluster_size: expected a whole number, not the text 'abc'$"),
    ("cluster.min_cluster_size=2.5", r"cluster[.]min_cluster_size: expected a whole number, not the number 2.5$"),
    ("reduce.min_dist=[1]", r"reduce[.]min_dist: expected a number, not a list$"),
    ("represent.ngram_range=[1, 2, 3]", r"represent[.]ngram_range: too many values [(]at most 2[)]$"),
    ("represent.ngram_range=1", r"represent[.]ngram_range: expected a list \(\[a, b\]\), not the number 1$"),
])
def test_errors_are_worded_for_the_key_not_for_pydantic(override, message):
    with pytest.raises(ConfigError, match=message) as caught:
        build_config({}, [override])
    assert "Value error" not in str(caught.value) and "Field required" not in str(caught.value)
    assert "Config" not in str(caught.value)  # no class names


def test_a_key_repeated_in_a_file_is_refused(tmp_path):
    # Plain YAML keeps the last one: the first cluster section's settings would be dropped.
    file = tmp_path / "twice.yaml"
    file.write_text("cluster:\n  min_cluster_size: 5\ncluster:\n  min_samples: 3\n")
    with pytest.raises(ConfigError, match=r"twice[.]yaml, line 3, column 1: key 'cluster' appears twice in one mapping"):
        load_config(file)


def test_overrides_parse_yaml_scalars_and_win_over_file(tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text("cluster:\n  min_cluster_size: 20\nrepresent:\n  stop_words: null\n")
    config = load_config(file, ["cluster.min_cluster_size=7", "represent.ngram_range=[1, 2]", "embed.max_seq_length=null"])
    assert config.cluster.min_cluster_size == 7
    assert config.represent.ngram_range == (1, 2)
    assert config.represent.stop_words is None
    assert config.embed.max_seq_length is None


def test_override_needs_section_and_equals():
    with pytest.raises(ConfigError, match="section.key=value"):
        build_config({}, ["cluster.min_cluster_size"])
    with pytest.raises(ConfigError, match="section.key"):
        build_config({}, ["verbose=1"])


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cluster: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(listy)


def test_ngram_range_must_be_ordered():
    with pytest.raises(ConfigError, match="represent.ngram_range"):
        build_config({"represent": {"ngram_range": [2, 1]}})


@pytest.mark.parametrize("override, key", [
    ("keywords.top_n=0", "keywords.top_n"),
    ("keywords.keyphrase_ngram_range=[2, 1]", "keywords.keyphrase_ngram_range"),
    ("keywords.diversity=1.5", "keywords.diversity"),
    ("keywords.diversty=0.3", "keywords.diversty: unknown key"),
])
def test_keywords_settings_are_checked(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        build_config({}, [override])


def test_keywords_settings_parse():
    config = build_config({}, ["keywords.enabled=true", "keywords.keyphrase_ngram_range=[1, 2]", "keywords.use_mmr=true"])
    assert config.keywords.enabled and config.keywords.keyphrase_ngram_range == (1, 2) and config.keywords.use_mmr
    assert not RunConfig().keywords.enabled


def test_execution_processes():
    from topics.chunk_work import available_cores

    assert build_config({}).execution.local_processes() == available_cores()
    assert build_config({}, ["execution.processes=3"]).execution.local_processes() == 3
    with pytest.raises(ConfigError, match=r"execution\.processes"):
        build_config({}, ["execution.processes=0"])


def test_a_section_given_a_value_is_named_without_class_names(tmp_path):
    file = tmp_path / "flat.yaml"
    file.write_text("cluster: 5\n")
    with pytest.raises(ConfigError, match=rf"^cluster \({file}, line 1\): expected a section of keys, not the number 5$"):
        load_config(file)
