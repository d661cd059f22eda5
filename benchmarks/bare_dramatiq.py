"""The bare-Dramatiq baseline of ``benchmarks/tasks.py``: a no-op actor on the same broker.

Loaded by a ``dramatiq`` worker command (``python -m dramatiq benchmarks.bare_dramatiq``) and by
the benchmark, which sends the messages. The actor only counts itself in Redis, noting when the
first and the last of ``total`` messages ran.
"""

from __future__ import annotations

import os
import time

import dramatiq
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

BROKER_URL = os.environ["BROKER_URL"]
KEY = f"{os.environ['REDIS_KEY_PREFIX']}-bare-dramatiq"

if BROKER_URL.startswith("amqp"):
    broker = RabbitmqBroker(url=BROKER_URL)
else:
    broker = RedisBroker(url=BROKER_URL, namespace=KEY)
dramatiq.set_broker(broker)
counter = redis.Redis.from_url(os.environ["REDIS_URL"])


@dramatiq.actor(queue_name="bare_noop", max_retries=0)
def noop(total: int) -> None:
    done = counter.incr(KEY)
    if done == 1:
        counter.set(f"{KEY}:first", time.time())
    if done == total:
        counter.set(f"{KEY}:last", time.time())
