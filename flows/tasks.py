"""One Prefect task per pipeline stage, each a thin call into :mod:`topics.stages`.

Tasks pass the cache directory and entry keys, never arrays: Prefect pickles and hashes task
inputs and results, and large arrays live in the artifact store. Prefect's own result cache
is off (``NO_CACHE``): the artifact store is the cache.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from topics import stages
from topics.artifacts import ArtifactStore
from topics.config import (
    ClusterConfig, CorpusConfig, EmbedConfig, GuideConfig, KeywordsConfig, LLMConfig, ProjectConfig, ReduceConfig,
    ReferenceConfig, RefineConfig, RenderConfig, RepresentConfig,
)


@task(name="load", cache_policy=NO_CACHE)
def load_task(cache_dir: str, input_path: str, config: CorpusConfig, refresh: bool = False) -> dict:
    return stages.load(ArtifactStore(cache_dir), input_path, config, refresh).as_dict()


@task(name="embed", cache_policy=NO_CACHE)
def embed_task(cache_dir: str, corpus_key: str, config: EmbedConfig, refresh: bool = False) -> dict:
    return stages.embed(ArtifactStore(cache_dir), corpus_key, config, refresh).as_dict()


@task(name="guide", cache_policy=NO_CACHE)
def guide_task(cache_dir: str, embed_key: str, config: GuideConfig, embed_config: EmbedConfig, refresh: bool = False) -> dict:
    return stages.guide(ArtifactStore(cache_dir), embed_key, config, embed_config, refresh).as_dict()


@task(name="reduce", cache_policy=NO_CACHE)
def reduce_task(cache_dir: str, embed_key: str, config: ReduceConfig, guide_key: str | None = None, refresh: bool = False) -> dict:
    return stages.reduce(ArtifactStore(cache_dir), embed_key, config, refresh, guide_key).as_dict()


@task(name="project", cache_policy=NO_CACHE)
def project_task(cache_dir: str, embed_key: str, config: ProjectConfig, refresh: bool = False) -> dict:
    return stages.project(ArtifactStore(cache_dir), embed_key, config, refresh).as_dict()


@task(name="cluster", cache_policy=NO_CACHE)
def cluster_task(cache_dir: str, reduce_key: str, config: ClusterConfig, guide_key: str | None = None, refresh: bool = False) -> dict:
    return stages.cluster(ArtifactStore(cache_dir), reduce_key, config, refresh, guide_key).as_dict()


@task(name="refine", cache_policy=NO_CACHE)
def refine_task(
    cache_dir: str, corpus_key: str, embed_key: str, cluster_key: str, config: RefineConfig, represent_config: RepresentConfig,
    refresh: bool = False,
) -> dict:
    return stages.refine(ArtifactStore(cache_dir), corpus_key, embed_key, cluster_key, config, represent_config, refresh).as_dict()


@task(name="assign", cache_policy=NO_CACHE)
def assign_task(
    cache_dir: str, corpus_key: str, embed_key: str, reduce_key: str, reference_dir: str, config: ReferenceConfig,
    cluster_config: ClusterConfig, refresh: bool = False,
) -> dict:
    return stages.assign(
        ArtifactStore(cache_dir), corpus_key, embed_key, reduce_key, reference_dir, config, cluster_config, refresh,
    ).as_dict()


@task(name="represent", cache_policy=NO_CACHE)
def represent_task(
    cache_dir: str, corpus_key: str, embed_key: str, labels_key: str, config: RepresentConfig, embed_config: EmbedConfig,
    labels_stage: str = "refine", guide_key: str | None = None, refresh: bool = False,
) -> dict:
    return stages.represent(
        ArtifactStore(cache_dir), corpus_key, embed_key, labels_key, config, embed_config, refresh, labels_stage, guide_key,
    ).as_dict()


@task(name="drift", cache_policy=NO_CACHE)
def drift_task(
    cache_dir: str, corpus_key: str, represent_key: str, reference_dir: str, config: ReferenceConfig,
    assign_key: str | None = None, refresh: bool = False,
) -> dict:
    return stages.drift(ArtifactStore(cache_dir), corpus_key, represent_key, reference_dir, config, assign_key, refresh).as_dict()


@task(name="label", cache_policy=NO_CACHE)
def label_task(cache_dir: str, corpus_key: str, represent_key: str, config: LLMConfig, refresh: bool = False) -> dict:
    return stages.label(ArtifactStore(cache_dir), corpus_key, represent_key, config, refresh).as_dict()


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate_task(cache_dir: str, corpus_key: str, reduce_key: str, represent_key: str, config: RepresentConfig, refresh: bool = False) -> dict:
    return stages.evaluate(ArtifactStore(cache_dir), corpus_key, reduce_key, represent_key, config, refresh).as_dict()


@task(name="keywords", cache_policy=NO_CACHE)
def keywords_task(
    cache_dir: str, corpus_key: str, embed_key: str, config: KeywordsConfig, embed_config: EmbedConfig,
    represent_config: RepresentConfig, refresh: bool = False,
) -> dict:
    return stages.keywords(ArtifactStore(cache_dir), corpus_key, embed_key, config, embed_config, represent_config, refresh).as_dict()


@task(name="render", cache_policy=NO_CACHE)
def render_task(
    cache_dir: str, corpus_key: str, project_key: str, cluster_key: str | None, represent_key: str, label_key: str,
    evaluate_key: str, config: RenderConfig, assign_key: str | None = None, drift_key: str | None = None,
    keywords_key: str | None = None, refresh: bool = False,
) -> dict:
    return stages.render(
        ArtifactStore(cache_dir), corpus_key, project_key, cluster_key, represent_key, label_key, evaluate_key, config,
        refresh, assign_key, drift_key, keywords_key,
    ).as_dict()
