"""The shared Redis client (rate limits, cancel signals); keys always carry REDIS_KEY_PREFIX."""

from functools import cache

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


@cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def key(*parts: object) -> str:
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])


@receiver(setting_changed)
def _forget_client(setting: str, **kwargs) -> None:
    # Tests point REDIS_URL elsewhere with override_settings; the cached client must follow.
    if setting == "REDIS_URL":
        get_redis.cache_clear()
