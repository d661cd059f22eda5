"""The ``mediahub`` command tree (typer apps), its global options and what commands share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import typer

from mediahub.cli import config
from mediahub.cli.client import Api, CliError

app = typer.Typer(
    name="mediahub",
    help="Command-line client of a mediahub server (its public HTTP API only).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
media_app = typer.Typer(help="List, show, delete and download media.", no_args_is_help=True)
tasks_app = typer.Typer(help="List, follow, cancel and retry background tasks.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook tools.", no_args_is_help=True)
app.add_typer(media_app, name="media")
app.add_typer(tasks_app, name="tasks")
app.add_typer(webhooks_app, name="webhooks")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of tables.")]
Limit = Annotated[int, typer.Option(help="How many to list (at most 100).")]
Offset = Annotated[int, typer.Option(help="How many to skip.")]


@dataclass
class Cli:
    """What the global options decided; commands reach the API through ``api()``."""

    url: str | None = None
    api_key: str | None = None
    json: bool = False
    _api: Api | None = field(default=None, repr=False)

    def api(self, concurrency: int = 4) -> Api:
        if self._api is None:
            url, key = config.resolve(self.url, self.api_key)
            if not key:
                raise CliError(
                    "No API key: run `mediahub login`, set MEDIAHUB_API_KEY or pass --api-key.", "no_api_key"
                )
            self._api = Api(url, key, concurrency=concurrency)
        return self._api


def cli(ctx: typer.Context, as_json: bool = False) -> Cli:
    state: Cli = ctx.find_root().obj
    state.json = state.json or as_json
    return state


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option("--url", envvar="MEDIAHUB_URL", help="Server base URL.")] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="MEDIAHUB_API_KEY", help="API key (mh_live_...).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    ctx.obj = Cli(url=url, api_key=api_key, json=as_json)
    ctx.call_on_close(lambda: ctx.obj._api and ctx.obj._api.close())
