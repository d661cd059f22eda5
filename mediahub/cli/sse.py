"""A Server-Sent Events parser (the WHATWG event-stream format) over decoded lines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None  # this event's own ``id:`` line, if it had one


def parse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Yield each event of the stream; comments (heartbeats) and ``retry:`` are skipped."""
    event, data, event_id = "", [], None
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield ServerSentEvent(event or "message", "\n".join(data), event_id)
            event, data, event_id = "", [], None
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field == "id" and "\0" not in value:
            event_id = value
