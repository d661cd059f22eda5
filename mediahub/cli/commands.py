"""The short commands: login, media, tasks (but ``watch``), search."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from mediahub.cli import config, output
from mediahub.cli.base import JsonFlag, Limit, Offset, app, cli, media_app, tasks_app
from mediahub.cli.client import Api, CliError

# --- configuration ---


@app.command()
def login(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option("--url", help="Server base URL.")] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="API key (asked for if not given).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a URL and key against the server and save them (0600) for later commands."""
    state = cli(ctx, as_json)
    url = (
        url or state.url or config.load().get("url") or typer.prompt("Server URL", default=config.DEFAULT_URL)
    )
    api_key = api_key or state.api_key or typer.prompt("API key", hide_input=True)
    api = Api(url, api_key)
    try:
        tenant = api.get("/tenant")
    finally:
        api.close()
    path = config.save(url.rstrip("/"), api_key)
    if state.json:
        output.print_json({"url": url.rstrip("/"), "tenant": tenant, "config": str(path)})
    else:
        output.console.print(f"Logged in to {url} as tenant [bold]{tenant['name']}[/] (saved in {path}).")


# --- media ---

MEDIA_COLUMNS = ("id", "type", "status", "filename", "size", "created")


def media_row(media: dict[str, Any]) -> list[Any]:
    return [
        media["id"],
        media["type"],
        media["status"],
        media.get("title") or media["filename"],
        output.human_bytes(media.get("size_bytes")),
        media["created_at"][:19].replace("T", " "),
    ]


@media_app.command("ls")
def media_ls(
    ctx: typer.Context,
    type: Annotated[str | None, typer.Option(help="video, audio, image or document.")] = None,
    status: Annotated[str | None, typer.Option(help="uploaded, processing, ready, failed...")] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Title or filename contains.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    as_json: JsonFlag = False,
) -> None:
    """List media, newest first."""
    state = cli(ctx, as_json)
    page = state.api().get("/media", type=type, status=status, q=query, limit=limit, offset=offset)
    if state.json:
        output.print_json(page)
        return
    title = f"{len(page['media'])} of {page['total']} media"
    output.console.print(output.table(MEDIA_COLUMNS, map(media_row, page["media"]), title=title))


@media_app.command("get")
def media_get(ctx: typer.Context, media_id: str, as_json: JsonFlag = False) -> None:
    """Show one media."""
    state = cli(ctx, as_json)
    media = state.api().get(f"/media/{media_id}")
    if state.json:
        output.print_json(media)
    else:
        output.show_object(media)


@media_app.command("rm")
def media_rm(
    ctx: typer.Context,
    media_ids: Annotated[list[str], typer.Argument(help="One or more media ids.")],
    as_json: JsonFlag = False,
) -> None:
    """Delete media (their stored files too; their open tasks are cancelled)."""
    state = cli(ctx, as_json)
    for media_id in media_ids:
        state.api().delete(f"/media/{media_id}")
        if not state.json:
            output.console.print(f"Deleted {media_id}")
    if state.json:
        output.print_json({"deleted": media_ids})


@media_app.command("download")
def media_download(
    ctx: typer.Context,
    media_id: str,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="File or folder (default: here).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Download a media's original file."""
    state = cli(ctx, as_json)
    api = state.api()
    media = api.get(f"/media/{media_id}")
    target = out or Path(".")
    if target.is_dir():
        target = target / Path(media["filename"]).name
    location = api.request("GET", f"/media/{media_id}/download", expect=(302,)).headers["Location"]
    written = 0
    try:
        with api.storage.stream("GET", location, follow_redirects=True) as response:
            if response.status_code != 200:
                raise CliError(f"Storage answered {response.status_code} for the download", "storage_error")
            with open(target, "wb") as fh:
                for data in response.iter_bytes(256 * 1024):
                    fh.write(data)
                    written += len(data)
    except httpx.TransportError as exc:
        raise CliError(f"Could not reach {location.split('?', 1)[0]}: {exc}", "network_error") from None
    if state.json:
        output.print_json({"id": media_id, "path": str(target), "size_bytes": written})
    else:
        output.console.print(f"Saved {target} ({output.human_bytes(written)})")


# --- tasks ---

TASK_COLUMNS = ("id", "type", "status", "progress", "media", "created")


def task_row(task: dict[str, Any]) -> list[Any]:
    return [
        task["id"],
        task["type"],
        task["status"],
        f"{task['progress']}%",
        task.get("media"),
        task["created_at"][:19].replace("T", " "),
    ]


@tasks_app.command("ls")
def tasks_ls(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="pending, scheduled, processing, completed...")] = None,
    type: Annotated[str | None, typer.Option(help="A task type, e.g. VideoTranscoding.")] = None,
    media: Annotated[str | None, typer.Option(help="Tasks of this media.")] = None,
    batch: Annotated[str | None, typer.Option(help="Tasks of this batch.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    as_json: JsonFlag = False,
) -> None:
    """List tasks, newest first."""
    state = cli(ctx, as_json)
    page = state.api().get(
        "/tasks", status=status, type=type, media=media, batch=batch, limit=limit, offset=offset
    )
    if state.json:
        output.print_json(page)
        return
    title = f"{len(page['tasks'])} of {page['total']} tasks"
    output.console.print(output.table(TASK_COLUMNS, map(task_row, page["tasks"]), title=title))


@tasks_app.command("get")
def tasks_get(ctx: typer.Context, task_id: str, as_json: JsonFlag = False) -> None:
    """Show one task (with its ETA or queue position when the server gives them)."""
    state = cli(ctx, as_json)
    task = state.api().get(f"/tasks/{task_id}")
    if state.json:
        output.print_json(task)
    else:
        output.show_object(task)


def _task_action(ctx: typer.Context, task_ids: list[str], action: str, as_json: bool) -> None:
    state = cli(ctx, as_json)
    tasks = [state.api().post(f"/tasks/{task_id}/{action}") for task_id in task_ids]
    if state.json:
        output.print_json(tasks[0] if len(tasks) == 1 else {"tasks": tasks})
    else:
        output.console.print(output.table(TASK_COLUMNS, map(task_row, tasks)))


@tasks_app.command("cancel")
def tasks_cancel(
    ctx: typer.Context, task_ids: Annotated[list[str], typer.Argument()], as_json: JsonFlag = False
) -> None:
    """Cancel pending, scheduled or running tasks (a running ffmpeg is stopped)."""
    _task_action(ctx, task_ids, "cancel", as_json)


@tasks_app.command("retry")
def tasks_retry(
    ctx: typer.Context, task_ids: Annotated[list[str], typer.Argument()], as_json: JsonFlag = False
) -> None:
    """Run failed or cancelled tasks again."""
    _task_action(ctx, task_ids, "retry", as_json)


@tasks_app.command("stats")
def tasks_stats(
    ctx: typer.Context,
    type: Annotated[str | None, typer.Option(help="Only this task type.")] = None,
    since: Annotated[str | None, typer.Option(help="Created at or after (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Created before (ISO 8601).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Counts by status and type, durations and success rate."""
    state = cli(ctx, as_json)
    stats = state.api().get("/tasks/stats", type=type, start_date=since, end_date=until)
    if state.json:
        output.print_json(stats)
        return
    statuses = stats["by_status"]
    output.console.print(
        output.table(list(statuses), [list(statuses.values())], title=f"{stats['total']} tasks")
    )
    types = stats["by_type"]
    output.console.print(output.table(("type", "tasks"), types.items()))
    summary = {k: v for k, v in stats.items() if k not in ("by_status", "by_type", "total")}
    output.show_object(summary)


# --- search ---


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for (meaning and words).")],
    type: Annotated[str | None, typer.Option(help="video, audio, image or document.")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
    as_json: JsonFlag = False,
) -> None:
    """Search the tenant's media (semantic and full-text), best first."""
    state = cli(ctx, as_json)
    page = state.api().get("/search", q=query, type=type, limit=limit, offset=offset)
    if state.json:
        output.print_json(page)
        return
    rows = [[f"{hit['score']:.3f}", hit.get("match"), *media_row(hit["media"])] for hit in page["results"]]
    title = f"{len(rows)} of {page['total']} results for {query!r}"
    output.console.print(output.table(("score", "match", *MEDIA_COLUMNS), rows, title=title))
