"""Per-tenant API rate limit (``API_RATE_LIMIT_PER_MINUTE``), shared by every API process via Redis."""

from __future__ import annotations

import logging
import math
import uuid

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from mediahub import redis
from tenants.models import Tenant

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60

# Sliding window log, atomically: drop entries older than the window, admit the request when fewer
# than ``limit`` remain (recording it), otherwise answer how long until the oldest entry leaves.
# Redis's clock is the one clock, whatever host the API process runs on.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(window))
  return {1, '0'}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tostring(tonumber(oldest[2]) + window - now)}
"""


class TenantRateThrottle(BaseThrottle):
    """Runs after authentication, keyed by the tenant (all of its keys share the budget).

    If Redis is unreachable the request is let through: a rate limiter must not take the API down.
    """

    def allow_request(self, request: Request, view) -> bool:
        limit = settings.API_RATE_LIMIT_PER_MINUTE
        if not isinstance(request.user, Tenant) or limit <= 0:
            return True
        client = redis.get_redis()
        try:
            allowed, wait = client.register_script(_SLIDING_WINDOW)(
                keys=[redis.key("ratelimit", "api", request.user.pk)],
                args=[WINDOW_SECONDS, limit, uuid.uuid4().hex],
            )
        except RedisError as exc:
            logger.warning("rate limit not enforced, Redis unavailable: %s", exc)
            return True
        self.wait_seconds = max(1, math.ceil(float(wait)))
        return bool(allowed)

    def wait(self) -> int:
        return self.wait_seconds  # type: ignore[has-type]
