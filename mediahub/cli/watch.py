"""``mediahub tasks watch``: a live table of running and queued tasks with progress, ETA and queue
position. Progress and state changes come from the events stream; the lists are re-read every few
seconds for what no event carries (queue positions move as other tasks start)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from mediahub.cli import output
from mediahub.cli.base import JsonFlag, cli, tasks_app
from mediahub.cli.client import Api
from mediahub.cli.events import BackgroundStream, EventStream

OPEN = ("processing", "pending", "scheduled")
FINISHED = ("task.completed", "task.failed", "task.cancelled", "task.deleted")
# A finished task stays on screen this long, so its end is seen.
LINGER_SECONDS = 5.0
BAR_WIDTH = 20


def progress_bar(percent: int) -> str:
    filled = round(BAR_WIDTH * percent / 100)
    return "█" * filled + "░" * (BAR_WIDTH - filled) + f" {percent:3d}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Board:
    """The tasks on screen, keyed by id."""

    def __init__(self, task_type: str | None) -> None:
        self.task_type = task_type
        self.tasks: dict[str, dict[str, Any]] = {}
        self.gone_at: dict[str, float] = {}

    def refresh(self, api: Api) -> None:
        fresh: dict[str, dict[str, Any]] = {}
        for status in OPEN:
            page = api.get("/tasks", status=status, type=self.task_type, include="eta", limit=100)
            fresh.update((task["id"], task) for task in page["tasks"])
        for task_id in set(self.tasks) - set(fresh):
            self.gone_at.setdefault(task_id, time.monotonic())
            fresh[task_id] = self.tasks[task_id]
        self.tasks = fresh

    def apply(self, event: dict[str, Any]) -> None:
        data = event["data"]
        if self.task_type and data.get("type") != self.task_type:
            return
        task_id = data["id"]
        if event["type"] == "task.progress":
            if task_id in self.tasks:
                self.tasks[task_id].update(data)
            return
        self.tasks[task_id] = {**self.tasks.get(task_id, {}), **data}
        if event["type"] in FINISHED:
            self.gone_at[task_id] = time.monotonic()

    def prune(self) -> None:
        now = time.monotonic()
        for task_id, since in list(self.gone_at.items()):
            if now - since > LINGER_SECONDS:
                self.tasks.pop(task_id, None)
                del self.gone_at[task_id]

    def ordered(self) -> list[dict[str, Any]]:
        rank = {"processing": 0, "pending": 1, "scheduled": 2}
        return sorted(
            self.tasks.values(),
            key=lambda t: (rank.get(t["status"], 3), t.get("queue_position") or 0, t.get("created_at", "")),
        )

    def table(self, note: str = "") -> Table:
        columns = ("id", "type", "status", "progress", "eta", "queue", "media")
        rows = [
            [
                task["id"],
                task["type"],
                task["status"],
                progress_bar(int(task.get("progress") or 0)),
                duration(task.get("eta_seconds")),
                task.get("queue_position"),
                task.get("media"),
            ]
            for task in self.ordered()
        ]
        running = sum(t["status"] == "processing" for t in self.tasks.values())
        queued = sum(t["status"] in ("pending", "scheduled") for t in self.tasks.values())
        return output.table(columns, rows, title=f"{running} running, {queued} queued{note}")


@tasks_app.command("watch")
def tasks_watch(
    ctx: typer.Context,
    type: Annotated[str | None, typer.Option(help="Only tasks of this type.")] = None,
    interval: Annotated[float, typer.Option(help="Seconds between re-reads of the task lists.")] = 3.0,
    as_json: JsonFlag = False,
) -> None:
    """A live table of running and queued tasks (Ctrl-C to stop). With --json: one snapshot a line."""
    state = cli(ctx, as_json)
    api = state.api()
    board = Board(type)
    board.refresh(api)
    stream = BackgroundStream(EventStream(api, types=["task.*"]))
    note = "" if stream.error is None else f" (no live events: {stream.error.message}; polling)"
    last_read = time.monotonic()
    try:
        if state.json:
            while True:
                output.print_json_line({"tasks": board.ordered()})
                last_read = _follow(
                    api, board, stream, last_read, interval, until=time.monotonic() + interval
                )
        else:
            with Live(
                board.table(note), console=output.console, refresh_per_second=4, transient=False
            ) as live:
                while True:
                    last_read = _follow(
                        api, board, stream, last_read, interval, until=time.monotonic() + 0.25
                    )
                    live.update(board.table(note))
    except KeyboardInterrupt:
        pass
    finally:
        stream.close()


def _follow(
    api: Api, board: Board, stream: BackgroundStream, last_read: float, interval: float, until: float
) -> float:
    """Apply events until ``until``; re-read the lists when ``interval`` has passed. Returns when
    the lists were last read."""
    while (left := until - time.monotonic()) > 0:
        event = stream.get(timeout=left)
        if event is not None:
            board.apply(event)
    if time.monotonic() - last_read >= interval:
        board.refresh(api)
        last_read = time.monotonic()
    board.prune()
    return last_read
