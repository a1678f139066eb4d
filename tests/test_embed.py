import shutil

import numpy as np
import pytest

from topics import embed


def test_encode_shape_dtype_and_norm(arxiv_300_embedded):
    texts, _, embeddings = arxiv_300_embedded
    assert embeddings.shape == (len(texts), 384)
    assert embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)


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


def test_auto_device_on_this_machine():
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert embed.resolve_device("auto") in (expected, "mps")
    assert embed.resolve_device("cpu") == "cpu"
