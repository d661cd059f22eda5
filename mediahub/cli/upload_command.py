"""``mediahub upload``: the display (rich progress, summary table) and ``--wait`` around the uploader."""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from mediahub.cli import output
from mediahub.cli.base import JsonFlag, app, cli
from mediahub.cli.client import Api, CliError
from mediahub.cli.events import BackgroundStream, EventStream
from mediahub.cli.uploader import (
    Journal,
    LocalFile,
    Options,
    Result,
    Uploader,
    default_journal_path,
    discover,
)

SETTLED = ("ready", "failed")
POLL_SECONDS = 2.0


def parse_size(text: str) -> int:
    units = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3}
    number = text.strip().upper().rstrip("IB") if text.upper().endswith("IB") else text.strip().upper()
    digits = number.rstrip("KMGB")
    try:
        return int(float(digits) * units[number[len(digits) :]])
    except (ValueError, KeyError):
        raise typer.BadParameter(f"not a size: {text!r} (e.g. 32MB)") from None


def parse_metadata(pairs: list[str]) -> dict[str, str]:
    metadata = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {pair!r}", param_hint="--metadata")
        metadata[key] = value
    return metadata


@app.command()
def upload(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to upload.")],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Include subfolders.")] = False,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=64)] = 4,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow processing until each media is ready.")
    ] = False,
    title: Annotated[str | None, typer.Option(help="Title of every uploaded media.")] = None,
    description: Annotated[str | None, typer.Option(help="Description of every uploaded media.")] = None,
    metadata: Annotated[
        list[str] | None, typer.Option("--metadata", "-m", help="key=value (repeatable).")
    ] = None,
    transcode: Annotated[
        bool | None, typer.Option("--transcode/--no-transcode", help="Override the tenant's auto_transcode.")
    ] = None,
    direct_threshold: Annotated[
        str, typer.Option(help="Files above this size go through presigned direct upload.")
    ] = "32MB",
    state_file: Annotated[
        Path | None, typer.Option("--state", help="Resume journal (default: one per server and arguments).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Upload files in parallel; rerun the same command after a crash or Ctrl-C to resume.

    Exit status 1 if any file failed (or, with --wait, failed processing).
    """
    state = cli(ctx, as_json)
    api = state.api(concurrency=concurrency)
    files = discover(paths, recursive)
    if not files:
        raise CliError("No files to upload.", "no_files")
    journal_path = state_file or default_journal_path(
        Path(typer.get_app_dir("mediahub")) / "state", api.url, paths
    )
    options = Options(
        concurrency=concurrency,
        title=title,
        description=description,
        metadata=parse_metadata(metadata or []) or None,
        auto_transcode=transcode,
        direct_threshold=parse_size(direct_threshold),
    )
    follower = Follower(api) if wait else None  # subscribed before anything is sent: nothing missed
    journal = Journal(journal_path)
    try:
        results = _upload_all(api, journal, options, files, show=not state.json)
        if follower is not None:
            follower.wait(results, show=not state.json)
    except KeyboardInterrupt:
        # Every finished step is already in the journal (one flushed line each); requests in flight
        # are dropped, and the rerun finds what the server got by its sha256.
        output.err_console.print(f"Interrupted. Run the same command again to resume ({journal_path}).")
        sys.stderr.flush()
        os._exit(130)
    finally:
        journal.close()
        if follower is not None:
            follower.close()
    failed = [r for r in results if r.status == "failed" or r.media_status == "failed"]
    if state.json:
        output.print_json(
            {
                "files": [r.as_json() for r in results],
                "summary": summary(results),
                "state_file": str(journal_path),
            }
        )
    else:
        print_summary(results, journal_path, wait)
    if failed:
        raise typer.Exit(1)


def _upload_all(
    api: Api, journal: Journal, options: Options, files: list[LocalFile], show: bool
) -> list[Result]:
    total_bytes = sum(f.size for f in files)
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    results: list[Result] = []
    uploader = Uploader(api, journal, options)
    with Progress(*columns, console=output.err_console, disable=not show, transient=False) as progress:
        overall = progress.add_task(f"0/{len(files)} files", total=total_bytes)
        lock = threading.Lock()

        def one(file: LocalFile) -> Result:
            bar = progress.add_task(file.path.name, total=file.size, visible=show)

            def sent(n: int) -> None:
                progress.advance(bar, n)
                progress.advance(overall, n)

            try:
                return uploader.upload(file, sent)
            finally:
                progress.remove_task(bar)

        pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="upload")
        try:
            futures = [pool.submit(one, file) for file in files]
            for future in as_completed(futures):
                result = future.result()
                with lock:
                    results.append(result)
                    progress.update(overall, description=f"{len(results)}/{len(files)} files")
        finally:
            # On Ctrl-C: nothing queued starts any more (a `with` would wait for every file).
            pool.shutdown(wait=False, cancel_futures=True)
            uploader.close()
    order = {f.key: i for i, f in enumerate(files)}
    return sorted(results, key=lambda r: order[r.path])


def summary(results: list[Result]) -> dict[str, int]:
    counts = {"uploaded": 0, "duplicate": 0, "skipped": 0, "failed": 0}
    for result in results:
        counts[result.status] += 1
    counts["processing_failed"] = sum(r.media_status == "failed" for r in results)
    return counts


def print_summary(results: list[Result], journal_path: Path, waited: bool) -> None:
    columns = ["file", "result", "media", "size"] + (["processing"] if waited else []) + ["reason"]
    rows = []
    for r in results:
        row = [Path(r.path).name, r.status, r.media_id, output.human_bytes(r.size)]
        rows.append(
            row + ([r.media_status] if waited else []) + [f"{r.reason} ({r.code})" if r.reason else None]
        )
    counts = summary(results)
    title = (
        f"{counts['uploaded']} uploaded, {counts['duplicate']} duplicates, "
        f"{counts['skipped']} already done, {counts['failed']} failed"
    )
    output.console.print(output.table(columns, rows, title=title))
    output.err_console.print(f"Resume journal: {journal_path}", highlight=False)


class Follower:
    """``--wait``: each media's processing, from the events stream (or by polling a server that
    has none), shown as one bar per media."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.events = BackgroundStream(EventStream(api, types=["task.progress", "task.failed", "media.*"]))

    def close(self) -> None:
        self.events.close()

    def wait(self, results: list[Result], show: bool) -> None:
        waiting = {r.media_id: r for r in results if r.media_id and r.status != "failed"}
        for result in list(waiting.values()):  # settled before the stream could tell (or duplicates)
            result.media_status = self.api.get(f"/media/{result.media_id}")["status"]
            if result.media_status in SETTLED:
                del waiting[result.media_id]
        if not waiting:
            return
        columns = (TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=output.err_console, disable=not show) as progress:
            bars: dict[str, TaskID] = {
                media_id: progress.add_task(f"processing {Path(r.path).name}", total=100)
                for media_id, r in waiting.items()
            }
            last_poll = 0.0
            while waiting:
                if self.events.error is not None or time.monotonic() - last_poll > 30:
                    # no stream (or a long silence): ask the server itself
                    last_poll = time.monotonic()
                    for media_id in list(waiting):
                        self._settle(
                            waiting, media_id, self.api.get(f"/media/{media_id}")["status"], progress, bars
                        )
                    if self.events.error is not None:
                        time.sleep(POLL_SECONDS)
                        continue
                event = self.events.get(timeout=1.0)
                if event is None:
                    continue
                data = event["data"]
                if event["type"] == "task.progress" and data.get("media") in bars:
                    progress.update(bars[data["media"]], completed=data["progress"])
                elif event["type"].startswith("media.") and data.get("id") in waiting:
                    self._settle(waiting, data["id"], data.get("status"), progress, bars)

    @staticmethod
    def _settle(
        waiting: dict[str, Result], media_id: str, status: str | None, progress: Progress, bars
    ) -> None:
        if status in SETTLED:
            waiting.pop(media_id).media_status = status
            progress.update(bars[media_id], completed=100)
