"""The one stage graph (topics.stage_graph) against the stage cache's declared inputs."""

import pytest

from topics.config import RunConfig, load_config
from topics.stage_cache import ALL_STAGES, INPUTS
from topics.stage_graph import RunPlan


def _plans():
    plain = RunConfig()
    everything = load_config(None, ["guide.zeroshot_topics=[physics]", "keywords.enabled=true"])
    refit = load_config(None, ["reference.mode=refit"])
    return [
        RunPlan(plain, "c.parquet"),
        RunPlan(everything, "c.parquet"),
        RunPlan(plain, "c.parquet", reference_dir="/runs/old"),
        RunPlan(refit, "c.parquet", reference_dir="/runs/old"),
    ]


@pytest.mark.parametrize("plan", _plans(), ids=["plain", "guided+keywords", "assign", "refit"])
def test_every_stage_follows_its_inputs(plan):
    """Each stage comes after every input it has in this run, in ALL_STAGES order."""
    names = plan.stages()
    assert names[0] == "load" and names[-1] == "render"
    assert list(names) == [stage for stage in ALL_STAGES if stage in names]
    for position, name in enumerate(names):
        assert {parent for parent in INPUTS[name] if parent in names} <= set(names[:position])


def test_which_stages_a_run_has():
    plain, guided, assigning, refitting = _plans()
    assert plain.stages() == ("load", "embed", "reduce", "project", "cluster", "refine", "represent", "label", "evaluate", "render")
    assert {"guide", "keywords"} <= set(guided.stages())
    assert "assign" in assigning.stages() and not {"cluster", "refine"} & set(assigning.stages())
    assert assigning.labels_stage == "assign" and refitting.labels_stage == "refine"
    assert {"cluster", "refine", "drift"} <= set(refitting.stages())


def test_a_stage_outside_the_plan_is_refused(tmp_path):
    from topics.artifacts import ArtifactStore

    with pytest.raises(KeyError, match="assign is not a stage of this run"):
        RunPlan(RunConfig(), "c.parquet").call("assign", ArtifactStore(tmp_path), {})
