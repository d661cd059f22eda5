"""A small per-process LRU of recent outputs, in front of the ``derived/`` objects in storage: a hot
image is answered without a storage round trip. Entries are keyed by storage key, which names the
media and its content, and are only reached after the media was found for the caller."""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.conf import settings


class OutputCache:
    def __init__(self, max_bytes: int, max_item_bytes: int):
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._size = 0
        self.max_bytes = max_bytes
        self.max_item_bytes = max_item_bytes

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_item_bytes or len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size += len(data) - (len(old) if old is not None else 0)
            self._items[key] = data
            while self._size > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)


_cache: OutputCache | None = None


def output_cache() -> OutputCache:
    global _cache
    if _cache is None or _cache.max_bytes != settings.IMAGE_TRANSFORM_MEMORY_CACHE_BYTES:
        _cache = OutputCache(settings.IMAGE_TRANSFORM_MEMORY_CACHE_BYTES, max_item_bytes=2 * 1024 * 1024)
    return _cache
