"""A Redis semaphore whose slots expire one by one: the per-endpoint concurrency bound.

Dramatiq's ``ConcurrentRateLimiter`` keeps one counter whose TTL every acquire refreshes, so a slot
leaked by a killed worker never comes back while the endpoint stays busy. Here each holder is a
member of a sorted set scored by its own expiry, and expired holders are dropped on every acquire.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from mediahub import redis

# Atomically: drop expired holders, then take a slot if one is free. KEYS[1] the set; ARGV: now
# (ms), this holder's expiry (ms), the limit, the holder's token.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
"""


class Slots:
    def __init__(self, name: str, limit: int, ttl_seconds: float) -> None:
        self.key = redis.key("slots", name)
        self.limit = limit
        self.ttl_ms = int(ttl_seconds * 1000)

    def acquire(self) -> str | None:
        """A token holding one slot until released or expired, or None when all are taken."""
        token = uuid.uuid4().hex
        now_ms = int(time.time() * 1000)
        taken = redis.get_redis().eval(_ACQUIRE, 1, self.key, now_ms, now_ms + self.ttl_ms, self.limit, token)
        return token if taken else None

    def release(self, token: str) -> None:
        redis.get_redis().zrem(self.key, token)

    @contextmanager
    def hold(self) -> Iterator[bool]:
        """``with slots.hold() as acquired:`` releases the slot on the way out."""
        token = self.acquire()
        try:
            yield token is not None
        finally:
            if token is not None:
                self.release(token)
