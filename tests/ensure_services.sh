#!/usr/bin/env bash
# Start the local RabbitMQ and Redis the tests use when they are installed but stopped.
# Servers given by RABBITMQ_URL / REDIS_URL elsewhere are left alone; a missing one is reported by
# the test session itself with what to install.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  return 1
}

if ! port_open 6379 && command -v redis-server >/dev/null; then
  echo "starting redis-server"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379 || echo "redis-server did not come up"
fi

if ! port_open 5672 && command -v rabbitmq-server >/dev/null; then
  echo "starting rabbitmq-server"
  rabbitmq-server -detached
  wait_port 5672 || echo "rabbitmq-server did not come up"
fi
exit 0
