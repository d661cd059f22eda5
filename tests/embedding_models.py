"""Embedding models for tests (``EMBEDDING_MODEL``): the real MiniLM, counting its calls."""

from __future__ import annotations

import threading

import numpy as np

from mediahub.search.embedder import MiniLM


class CountingMiniLM(MiniLM):
    """Records the size of every ``embed`` call (class-wide: the process builds one instance)."""

    calls: list[int] = []
    lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self.lock:
            CountingMiniLM.calls.append(len(texts))
        return super().embed(texts)
