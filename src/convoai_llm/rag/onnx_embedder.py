"""OnnxEmbedder: what both embedding models share — one onnxruntime session, passages in batches of similar
length run side by side on ``threads`` threads (one onnxruntime thread each: several one-thread runs use busy
cores better than one run spread over threads, measured in the README), one query at a time.

A model subclasses it, sets ``name``, ``model_id`` and ``dimension``, and turns texts into unit rows in
``_encode``.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from convoai_llm.rag.embed import Vectors, embed_in_batches


class OnnxEmbedder:
    """An onnxruntime embedding model (``embed.TextEmbedder``); ``custom_ops``: a custom-operator library
    the graph needs (onnxruntime-extensions' path, for a tokenizer inside the graph)."""

    name: str
    model_id: str
    dimension: int

    def __init__(self, model: Path, *, threads: int = 1, custom_ops: str | None = None) -> None:
        options = ort.SessionOptions()
        if custom_ops is not None:
            options.register_custom_ops_library(custom_ops)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        self._workers = max(1, threads)

    def embed(self, texts: list[str], *, batch_size: int = 32) -> Vectors:
        """One unit-length row per text, in batches of similar length run on ``threads`` threads."""
        return embed_in_batches(self._encode, texts, self.dimension, batch_size, self._workers)

    def embed_one(self, text: str) -> Vectors:
        """One query to its vector (1-D, unit length)."""
        row: Vectors = self._encode([text])[0]
        return row

    def _encode(self, texts: list[str]) -> Vectors:
        raise NotImplementedError
