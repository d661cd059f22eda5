"""Following ``GET /events/stream``: reconnects with ``Last-Event-ID`` and drops repeats, so a
caller sees every event once however often the connection drops."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from mediahub.cli import sse
from mediahub.cli.client import Api, CliError

# Ids remembered to drop the repeats a resume may replay (the server replays a short overlap).
_REMEMBERED_IDS = 2000
_RECONNECT_DELAY_SECONDS = 1.0


class EventStream:
    def __init__(self, api: Api, types: list[str] | None = None, media: str | None = None) -> None:
        self.api = api
        self.params = {k: v for k, v in {"types": ",".join(types or []) or None, "media": media}.items() if v}
        self.last_event_id: str | None = None
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.closed = False
        self.connected = False
        self.on_reconnect: Callable[[str], None] | None = None
        # Set once the server has answered (and so subscribed): events from then on are not missed.
        self.opened = threading.Event()
        self.on_open: Callable[[], None] | None = None  # called on the first connection

    def events(self) -> Iterator[dict[str, Any]]:
        """Each event body (``{id?, type, timestamp, data}``) once, forever (until ``close()``)."""
        while not self.closed:
            headers = {"Accept": "text/event-stream"}
            if self.last_event_id:
                headers["Last-Event-ID"] = self.last_event_id
            try:
                with self.api.stream("/events/stream", self.params, headers) as response:
                    if not self.connected and self.on_open is not None:
                        self.on_open()
                    self.connected = True
                    self.opened.set()
                    for event in sse.parse(response.iter_lines()):
                        body = json.loads(event.data)
                        if event.id:
                            if event.id in self.seen:
                                continue
                            self._remember(event.id)
                        yield body
            except CliError as error:
                if error.code == "event_expired":  # older than the retention: start afresh
                    self.last_event_id = None
                    self._reconnecting(error.message)
                    continue
                retryable = ("network_error", "too_many_streams", "stream_capacity")
                if not self.connected or error.code not in retryable:
                    raise  # a bad key or a server that is down: say so instead of waiting
                self._reconnecting(error.message)
            except httpx.TransportError as exc:  # the connection dropped mid-stream
                self._reconnecting(f"stream interrupted ({exc or type(exc).__name__})")
            if not self.closed:
                time.sleep(_RECONNECT_DELAY_SECONDS)

    def _remember(self, event_id: str) -> None:
        self.last_event_id = event_id
        self.seen[event_id] = None
        if len(self.seen) > _REMEMBERED_IDS:
            self.seen.popitem(last=False)

    def _reconnecting(self, why: str) -> None:
        if self.on_reconnect is not None:
            self.on_reconnect(why)

    def close(self) -> None:
        self.closed = True


class BackgroundStream:
    """An ``EventStream`` read by a thread into ``queue``; returns once subscribed (or failed).
    ``error`` says why it stopped (a server without the stream, a bad key...)."""

    def __init__(self, stream: EventStream, open_timeout: float = 15.0) -> None:
        self.stream = stream
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self.error: CliError | None = None
        threading.Thread(target=self._read, daemon=True, name="events").start()
        stream.opened.wait(open_timeout)

    def _read(self) -> None:
        try:
            for event in self.stream.events():
                self.queue.put(event)
        except CliError as error:
            self.error = error
            self.stream.opened.set()

    def get(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.stream.close()
