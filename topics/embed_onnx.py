"""ONNX Runtime encoders (``embed.backend: onnx`` and ``onnx-int8``).

The configured sentence-transformers model's transformer is exported once with
``torch.onnx.export`` and kept in the artifact store (``<cache>/embedding-models/<key>/``,
key = model identity, backend and package versions). Pooling (mean, CLS or max, as the
model's ``1_Pooling/config.json`` says) and L2 normalisation are applied in NumPy, so the
vectors match the ``torch`` backend's (cosine >= 0.999 per document for fp32).

``onnx-int8`` quantises the exported MatMul weights to int8, per channel, with ONNX Runtime's
``quantize_dynamic`` (dynamic quantisation after Jacob et al., 2018): activations are
quantised at run time with one scale per batch, so a document's int8 vector depends slightly
on its batch-mates (cosine about 0.99 to fp32 either way).

Sentence-transformers' own ONNX backend needs ``optimum-onnx``, which pins a transformers
release older than the one the rest of the pipeline uses; hence the export here.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from topics.embed import (
    BACKEND_PACKAGES, EmbeddingError, Encoder, model_identity, precision_for, resolve_model, same_length_groups,
)
from topics.stage_cache import package_versions

_POOLING_MODES = {"cls": "pooling_mode_cls_token", "max": "pooling_mode_max_tokens", "mean": "pooling_mode_mean_tokens"}
_SUPPORTED_MODULES = ("Transformer", "Pooling", "Normalize")


def _model_dir(model: str, scratch: Path) -> Path:
    """A local directory holding the sentence-transformers model (hub names are saved to ``scratch``)."""
    resolved = Path(resolve_model(model))
    if resolved.is_dir():
        return resolved
    from topics.embed import load_model

    target = scratch / "model"
    load_model(model, "cpu").save(str(target))
    return target


def read_layout(root: Path) -> tuple[Path, str, int]:
    """(transformer folder, pooling mode, max_seq_length) from a sentence-transformers folder.

    Raises
    ------
    EmbeddingError
        If the model has modules other than Transformer, Pooling and Normalize (e.g. Dense),
        or a pooling mode other than mean, CLS or max.
    """
    modules_file = root / "modules.json"
    modules = json.loads(modules_file.read_text()) if modules_file.is_file() else [
        {"type": "sentence_transformers.models.Transformer", "path": ""},
        {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"},
    ]
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    unsupported = [k for k in kinds if k not in _SUPPORTED_MODULES]
    if unsupported or kinds[:1] != ["Transformer"]:
        raise EmbeddingError(f"embed.backend onnx supports Transformer + Pooling (+ Normalize) models; {root} has {kinds}")
    transformer = root / modules[0]["path"]
    mode = "mean"
    for module, kind in zip(modules, kinds):
        if kind == "Pooling":
            pooling = json.loads((root / module["path"] / "config.json").read_text())
            modes = [key for key, value in pooling.items() if key.startswith("pooling_mode_") and value]
            chosen = [name for name, key in _POOLING_MODES.items() if key in modes]
            if len(modes) != 1 or len(chosen) != 1:
                raise EmbeddingError(f"embed.backend onnx: pooling {pooling} of {root} is not one of mean, cls, max")
            mode = chosen[0]
    max_seq_length = 512
    for config_name in ("sentence_bert_config.json",):
        config_file = transformer / config_name
        if config_file.is_file():
            max_seq_length = int(json.loads(config_file.read_text()).get("max_seq_length") or max_seq_length)
    return transformer, mode, max_seq_length


def export(model: str, target: Path, quantized: bool) -> dict:
    """Export ``model``'s transformer to ``target/model.onnx`` (opset 17, dynamic batch and
    sequence axes), with its tokenizer and ``layout.json``; int8-quantise it if ``quantized``.

    Returns the layout written to ``layout.json`` (pooling mode, max_seq_length, input names).

    Raises
    ------
    EmbeddingError
        If the model cannot be loaded or exported.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    with tempfile.TemporaryDirectory() as scratch:
        root = _model_dir(model, Path(scratch))
        transformer_dir, mode, max_seq_length = read_layout(root)
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(transformer_dir))
            network = AutoModel.from_pretrained(str(transformer_dir), attn_implementation="eager").eval()
        except Exception as exc:  # noqa: BLE001 - format and file errors all mean "cannot export"
            raise EmbeddingError(f"embed.backend onnx: cannot load {transformer_dir}: {exc}") from exc
        sample = tokenizer(["an example sentence", "two"], padding=True, return_tensors="pt")
        names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]

        class LastHiddenState(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, *inputs):
                return self.inner(**dict(zip(names, inputs))).last_hidden_state

        fp32_path = target / ("model-fp32.onnx" if quantized else "model.onnx")
        with torch.no_grad():
            torch.onnx.export(
                LastHiddenState(network), tuple(sample[name] for name in names), str(fp32_path), dynamo=False,
                input_names=names, output_names=["last_hidden_state"], opset_version=17, do_constant_folding=True,
                dynamic_axes={**{name: {0: "batch", 1: "sequence"} for name in names},
                              "last_hidden_state": {0: "batch", 1: "sequence"}},
            )
        if quantized:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # Per-channel MatMul weights only: per-tensor int8 over every op gave mean cosine
            # 0.93 to fp32 on arXiv abstracts, this 0.993.
            quantize_dynamic(str(fp32_path), str(target / "model.onnx"), weight_type=QuantType.QInt8,
                             per_channel=True, op_types_to_quantize=["MatMul"])
            fp32_path.unlink()
        tokenizer.save_pretrained(str(target))
    layout = {"pooling": mode, "max_seq_length": max_seq_length, "inputs": names}
    (target / "layout.json").write_text(json.dumps(layout))
    return layout


class OnnxEncoder(Encoder):
    """A sentence-transformers model run by ONNX Runtime on the CPU (see the module docstring)."""

    def __init__(self, model: str = "default", quantized: bool = False, max_seq_length: int | None = None,
                 batch_size: int = 32, precision: str = "auto", store=None):
        import onnxruntime
        from transformers import AutoTokenizer

        from topics.derived_models import derived_model

        self.backend = "onnx-int8" if quantized else "onnx"
        self.device = "cpu"
        self.dtype = precision_for(self.backend, "cpu", precision)
        self.model_name = model
        self.batch_size = batch_size
        self.identity = model_identity(model)
        self.packages = package_versions(BACKEND_PACKAGES[self.backend])
        folder = derived_model(store, self.backend, {"model": self.identity, "packages": self.packages},
                               lambda target: export(model, target, quantized))
        layout = json.loads((folder / "layout.json").read_text())
        self.pooling, self.inputs = layout["pooling"], layout["inputs"]
        self.max_seq_length = max_seq_length  # the space's; None = the model's own
        self.seq_limit = max_seq_length or layout["max_seq_length"]
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
        probe = self.tokenizer(["dimension probe"], return_tensors="np")
        self.dim = int(self.session.run(["last_hidden_state"], {n: probe[n].astype(np.int64) for n in self.inputs})[0].shape[-1])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Batches hold texts of one token count only (no padding), as in
        :meth:`topics.embed.TorchEncoder.encode`; int8 activations are still quantised per batch."""
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for group in same_length_groups(self.tokenizer, texts, self.seq_limit):
            for start in range(0, len(group), self.batch_size):
                rows = group[start:start + self.batch_size]
                batch = self.tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=self.seq_limit,
                                       return_tensors="np")
                feed = {name: batch[name].astype(np.int64) for name in self.inputs}
                hidden = self.session.run(["last_hidden_state"], feed)[0]
                out[rows] = normalize(pool(hidden, feed["attention_mask"], self.pooling))
        return out


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Token states float32 (n, seq, dim) and attention mask (n, seq) -> (n, dim), as
    sentence-transformers' ``Pooling`` does for ``mode`` mean, cls or max."""
    if mode == "cls":
        return hidden[:, 0]
    weights = mask[..., None].astype(hidden.dtype)
    if mode == "max":
        return np.where(weights > 0, hidden, -1e9).max(axis=1)
    return (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero); float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.clip(norms, 1e-12, None), dtype=np.float32)
