"""all-MiniLM-L6-v2 in numpy: the published reference, and what the loader reads."""

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from consumers.sentiment.embedding import MAX_TOKENS, MiniLM, read_safetensors, shared_model


def test_the_sentence_transformers_reference_similarities_are_reproduced() -> None:
    # From the sentence-transformers README, for this model:
    # similarities [[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]]
    vectors = shared_model().encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarities = vectors @ vectors.T
    assert similarities[0, 1] == pytest.approx(0.6660, abs=1e-3)
    assert similarities[0, 2] == pytest.approx(0.1046, abs=1e-3)
    assert similarities[1, 2] == pytest.approx(0.1411, abs=1e-3)


def test_batches_pad_without_changing_a_texts_vector_and_long_texts_are_truncated() -> None:
    model = shared_model()
    alone = model.encode(["@InnovaShoes still waiting for my refund"])
    padded = model.encode(["@InnovaShoes still waiting for my refund", "a much longer text " * 20])
    np.testing.assert_allclose(alone[0], padded[0], atol=1e-5)
    long = model.encode(["shoe " * (MAX_TOKENS * 3)])
    assert long.shape == (1, 384) and np.isfinite(long).all()
    assert model.encode([]).shape == (0, 384)


def test_safetensors_are_read_by_name_shape_and_type(tmp_path: Path) -> None:
    data = np.arange(6, dtype=np.float32).tobytes() + np.array([7], dtype=np.int64).tobytes()
    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "I64", "shape": [1], "data_offsets": [24, 32]},
    }
    raw = json.dumps(header).encode()
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    tensors = read_safetensors(path)
    assert tensors["a"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert tensors["b"].tolist() == [7]
    assert set(tensors) == {"a", "b"}


def test_the_model_is_loaded_once_per_process() -> None:
    assert shared_model() is shared_model()
    assert isinstance(shared_model(), MiniLM)


def test_several_layers_come_from_one_pass_each_block_a_unit_vector() -> None:
    model = shared_model()
    texts = ["@InnovaShoes still waiting for my refund", "love these shoes"]
    stacked = model.encode_layers(texts, (4, 5, 6))
    assert stacked.shape == (2, 3 * 384)
    blocks = stacked.reshape(2, 3, 384)
    np.testing.assert_allclose(np.linalg.norm(blocks, axis=2), 1.0, atol=1e-5)
    np.testing.assert_allclose(blocks[:, 2], model.encode(texts), atol=1e-6)  # 6: the embedding
    assert not np.allclose(blocks[:, 0], blocks[:, 2], atol=1e-2)
    assert model.encode_layers([], (4, 6)).shape == (0, 768)
    with pytest.raises(ValueError, match="layers must be within"):
        model.encode_layers(texts, (0,))
