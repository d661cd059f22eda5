"""``mediahub webhooks listen``: print the tenant's events as they happen and, with ``--forward-to``,
deliver each to a local URL exactly as a webhook endpoint would get it (Standard Webhooks headers,
signed with a secret printed at start), so a receiver can be built without a public URL."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import typer
from standardwebhooks import Webhook

from mediahub.cli import output
from mediahub.cli.base import JsonFlag, cli, webhooks_app
from mediahub.cli.events import EventStream

FORWARD_TIMEOUT_SECONDS = 10.0


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Forwarder:
    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.signer = Webhook(secret)
        self.http = httpx.Client(timeout=FORWARD_TIMEOUT_SECONDS)

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        """POST the event as a webhook delivery; the outcome as ``{status, duration_ms}`` or ``{error}``."""
        # The webhook body is the event without its id (the id travels as webhook-id).
        body = json.dumps(
            {"type": event["type"], "timestamp": event["timestamp"], "data": event["data"]},
            separators=(",", ":"),
        )
        msg_id = event.get("id") or f"msg_{uuid.uuid4().hex}"  # task.progress has no id of its own
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.signer.sign(msg_id, now, body),
        }
        started = time.monotonic()
        try:
            response = self.http.post(self.url, content=body.encode(), headers=headers)
        except httpx.TransportError as exc:
            return {"error": f"could not reach {self.url}: {exc or type(exc).__name__}"}
        return {"status": response.status_code, "duration_ms": round((time.monotonic() - started) * 1000)}

    def close(self) -> None:
        self.http.close()


def describe(event: dict[str, Any]) -> str:
    data = event["data"]
    if event["type"] == "task.progress":
        return f"{data.get('type')} {data.get('id')} {data.get('progress')}%"
    name = data.get("filename") or data.get("type") or ""
    status = data.get("status")
    return " ".join(str(part) for part in (name, data.get("id"), status) if part)


@webhooks_app.command("listen")
def listen(
    ctx: typer.Context,
    forward_to: Annotated[
        str | None, typer.Option("--forward-to", help="Deliver each event to this (local) URL, signed.")
    ] = None,
    events: Annotated[
        list[str] | None,
        typer.Option("--events", "-e", help="Event types (`task.*` allowed; comma-separated or repeated)."),
    ] = None,
    secret: Annotated[
        str | None, typer.Option("--secret", help="Signing secret (whsec_...); a new one is made if absent.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print each event as it happens, like `stripe listen` (Ctrl-C to stop)."""
    state = cli(ctx, as_json)
    api = state.api()
    types = [name.strip() for value in events or [] for name in value.split(",") if name.strip()]
    stream = EventStream(api, types=types)
    stream.on_reconnect = lambda why: output.err_console.print(
        f"[dim]reconnecting: {why}[/]", highlight=False
    )
    secret = secret or new_secret()
    forwarder = Forwarder(forward_to, secret) if forward_to else None

    def ready() -> None:  # once subscribed: from here on no event is missed
        if state.json:
            ready = {"listening": api.url, "forwarding_to": forward_to}
            output.print_json_line({"ready": {**ready, "signing_secret": secret} if forward_to else ready})
            return
        text = f"Ready. Listening to {api.url} events" + (
            f", forwarding to {forward_to}" if forward_to else ""
        )
        output.err_console.print(text + " (Ctrl-C to stop).", highlight=False)
        if forward_to:
            output.console.print(f"Signing secret: {secret}", highlight=False)

    stream.on_open = ready
    try:
        for event in stream.events():
            outcome = forwarder.deliver(event) if forwarder is not None else None
            if state.json:
                output.print_json_line({"event": event, **({"forward": outcome} if outcome else {})})
                continue
            line = f"{event['timestamp'][:19].replace('T', ' ')}  {event['type']:<16} {describe(event)}"
            if outcome is not None:
                line += f"  -> {outcome.get('status') or outcome.get('error')}"
            output.console.print(line, highlight=False, markup=False)
    except KeyboardInterrupt:
        pass
    finally:
        stream.close()
        if forwarder is not None:
            forwarder.close()
