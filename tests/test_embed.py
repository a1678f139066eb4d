import shutil

import numpy as np
import pytest

from topics import embed


def test_encode_shape_dtype_and_norm(arxiv_300_embedded):
    texts, _, embeddings = arxiv_300_embedded
    assert embeddings.shape == (len(texts), 384)
    assert embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)


def test_a_vector_does_not_depend_on_its_batch(arxiv_300_embedded):
    texts, _, embeddings = arxiv_300_embedded
    encoder = embed.TorchEncoder(device="cpu")
    for i in (0, 7, 150):
        np.testing.assert_array_equal(encoder.encode([texts[i]])[0], embeddings[i])


def test_similar_texts_are_closer_than_unrelated(arxiv_300_embedded):
    texts, _, embeddings = arxiv_300_embedded
    again = embed.encode([texts[0], "A recipe for banana bread with walnuts."], show_progress=False, batch_size=2)
    np.testing.assert_allclose(again[0], embeddings[0], atol=1e-4)  # batch size does not change the result
    assert float(again[0] @ embeddings[0]) > float(again[1] @ embeddings[0]) + 0.5


def test_model_identity_follows_content_not_path(tmp_path):
    source = embed.resolve_model("default")
    copy = tmp_path / "copied-model"
    shutil.copytree(source, copy)
    assert embed.model_identity(str(copy)).split("@")[1] == embed.model_identity("default").split("@")[1]
    (copy / "config.json").write_text((copy / "config.json").read_text() + " ")
    embed.model_identity.cache_clear()
    assert embed.model_identity(str(copy)).split("@")[1] != embed.model_identity("default").split("@")[1]


def test_any_local_model_path_loads(tmp_path):
    copy = tmp_path / "mini"
    shutil.copytree(embed.resolve_model("default"), copy)
    vectors = embed.encode(["a short text"], model=str(copy), show_progress=False)
    assert vectors.shape == (1, 384)


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(embed.EmbeddingError, match="embed.model"):
        embed.load_model(str(tmp_path / "no-such-model"), device="cpu")


def test_hub_name_offline_is_refused_at_once(monkeypatch):
    """A hub name that is not in the Hugging Face cache, offline: refused by the check, before
    sentence-transformers' download retries; the bundled model and local folders pass."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(embed.EmbeddingError, match="'no-such-model' is not a local folder nor in the Hugging Face cache, and HF_HUB_OFFLINE"):
        embed.check_model_available("no-such-model")
    embed.check_model_available("default")
    embed.check_model_available(embed.resolve_model("default"))


def test_auto_device_on_this_machine():
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert embed.resolve_device("auto") in (expected, "mps")
    assert embed.resolve_device("cpu") == "cpu"


# --- backends -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def models_store(tmp_path_factory):
    """One store for the derived models (ONNX exports, the static distillation), built once."""
    from topics.artifacts import ArtifactStore

    return ArtifactStore(tmp_path_factory.mktemp("models"))


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8", "static"])
def test_backend_loads_offline_with_the_models_dimension(backend, models_store, arxiv_300_embedded, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts, _, torch_vectors = arxiv_300_embedded
    encoder = embed.load_encoder(backend=backend, store=models_store)
    vectors = embed.encode_in_batches(encoder, texts[:40])
    assert vectors.shape == (40, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosine = (vectors * torch_vectors[:40]).sum(axis=1)
    if backend == "onnx":
        assert cosine.min() >= 0.999  # the same network, exported
    elif backend == "onnx-int8":
        assert cosine.mean() >= 0.98, cosine.mean()  # int8 weights: close, not equal
    else:  # static token vectors live in a space of their own: check they still mean something
        probe = embed.encode_in_batches(encoder, [texts[0] + " We release our code.", "A recipe for banana bread with walnuts."])
        assert float(probe[0] @ vectors[0]) > float(probe[1] @ vectors[0]) + 0.1
    # Built once, kept in the store, and loaded from there the second time.
    folders = sorted((models_store.root / "embedding-models").glob("*/_entry.json"))
    again = embed.load_encoder(backend=backend, store=models_store)
    assert sorted((models_store.root / "embedding-models").glob("*/_entry.json")) == folders
    # Same batches, same vectors (int8 quantises activations per batch, so batch-mates matter).
    np.testing.assert_allclose(embed.encode_in_batches(again, texts[:40]), vectors, atol=1e-6)


def test_each_backend_is_its_own_vector_space():
    from typing import get_args

    from topics.config import EmbedConfig

    assert get_args(EmbedConfig.model_fields["backend"].annotation) == embed.BACKENDS  # settings and code in step
    spaces = [embed.vector_space(backend=b, device="cpu") for b in embed.BACKENDS]
    assert len({str(s) for s in spaces}) == len(embed.BACKENDS)
    assert [s["dtype"] for s in spaces] == ["fp32", "fp32", "int8", "fp32"]
    # The device alone does not change fp32 vectors' space; fp16 does.
    assert embed.vector_space(device="cpu", precision="fp32") == embed.vector_space(device="cuda", precision="fp32")
    assert embed.vector_space(device="cuda")["dtype"] == "fp16"


def test_fp16_off_cuda_is_a_clear_error():
    with pytest.raises(embed.EmbeddingError, match="fp16 needs"):
        embed.vector_space(device="cpu", precision="fp16")
    with pytest.raises(embed.EmbeddingError, match="fp16 needs"):
        embed.vector_space(backend="onnx-int8", device="cuda", precision="fp16")
    with pytest.raises(embed.EmbeddingError, match="unknown"):
        embed.vector_space(backend="tensorrt")
