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


def test_which_stage_runs_in_the_background(tmp_path):
    """Only the map, only locally with more than one process, only above its fit_sample and
    with work to do (not stored, or refreshed): then its UMAP work runs in worker processes."""
    import numpy as np

    from topics import stages
    from topics.artifacts import ArtifactStore
    from topics.stage_graph import BACKGROUND, runs_in_background, waits_before

    store = ArtifactStore(tmp_path)
    store.put("embed", "e1", lambda writer: writer.array("embeddings.npy", np.zeros((100, 4), dtype=np.float32)))
    keys = {"embed": "e1"}

    def plan(*overrides):
        return RunPlan(load_config(None, ["project.fit_sample=50", "reduce.fit_sample=50", *overrides]), "c.parquet")

    assert BACKGROUND == {"project": "render"} and waits_before("render") == ("project",) and waits_before("cluster") == ()
    assert runs_in_background(plan("execution.processes=2"), "project", store, keys)
    assert not runs_in_background(plan("execution.processes=2"), "reduce", store, keys)
    assert not runs_in_background(plan("execution.processes=1"), "project", store, keys)
    assert not runs_in_background(plan("execution.processes=2", "execution.task_runner=dask"), "project", store, keys)
    assert not runs_in_background(plan("execution.processes=2", "project.fit_sample=100"), "project", store, keys)
    stored = plan("execution.processes=2")
    key = stages.reduction_key("project", store, "e1", stored.settings.project)
    store.put("project", key, lambda writer: writer.array("coordinates.npy", np.zeros((100, 2), dtype=np.float32)))
    assert not runs_in_background(stored, "project", store, keys)
    assert runs_in_background(stored, "project", store, keys, refresh=True)
