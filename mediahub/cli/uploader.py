"""``mediahub upload``: many files in parallel, resumable, small ones as a form POST and large ones
through the presigned direct-upload API (multipart parts in parallel).

Resuming rests on a journal (one JSON line per step, appended, so a kill can at worst cut the last
line): a file recorded as done is skipped without a request; a file that was being sent is first
looked up by its sha256 (the server may have stored it before the kill); an unfinished multipart
upload continues with the parts it lacks. Whatever slips through is caught by the server's own
dedupe (one media per sha256 and tenant), so no file ever becomes two media.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import mimetypes
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mediahub.cli.client import Api, CliError

CHUNK = 256 * 1024
PART_ATTEMPTS = 3

Progress = Callable[[int], None]  # bytes just sent (negative: an attempt restarts)


@dataclass(frozen=True)
class LocalFile:
    path: Path
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        return str(self.path)

    def same_as(self, entry: dict[str, Any]) -> bool:
        return entry.get("size") == self.size and entry.get("mtime_ns") == self.mtime_ns


@dataclass
class Result:
    path: str
    size: int
    status: str  # uploaded | duplicate | skipped (done by an earlier run) | failed
    media_id: str | None = None
    media_status: str | None = None
    reason: str | None = None
    code: str | None = None
    direct: bool = False
    media: dict[str, Any] | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("media")
        return data


@dataclass(frozen=True)
class Options:
    concurrency: int = 4
    title: str | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    auto_transcode: bool | None = None
    direct_threshold: int = 32 * 1024 * 1024


def discover(paths: list[Path], recursive: bool) -> list[LocalFile]:
    """The regular files named or inside the folders named (their subfolders with ``recursive``);
    hidden files are left out. A path that does not exist is an error before anything is sent."""
    found: dict[Path, LocalFile] = {}
    for given in paths:
        if not given.exists():
            raise CliError(f"No such file or folder: {given}", "not_found")
        if given.is_dir():
            candidates = sorted(given.rglob("*") if recursive else given.iterdir())
            candidates = [
                p for p in candidates if not any(part.startswith(".") for part in p.relative_to(given).parts)
            ]
        else:
            candidates = [given]
        for path in candidates:
            if path.is_file():
                stat = path.stat()
                resolved = path.resolve()
                found[resolved] = LocalFile(resolved, stat.st_size, stat.st_mtime_ns)
    return list(found.values())


class Journal:
    """The resumable state: an append-only JSON-lines file, replayed on load."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.done: dict[str, dict[str, Any]] = {}
        self.started: dict[str, dict[str, Any]] = {}
        self.direct: dict[str, dict[str, Any]] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    self._apply(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a kill
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the run

    def _apply(self, entry: dict[str, Any]) -> None:
        key, step = entry["path"], entry["step"]
        if step == "started":
            self.started[key] = entry
        elif step == "done":
            self.done[key] = entry
            self.direct.pop(key, None)
        elif step == "direct":
            self.direct[key] = {**entry, "etags": {}}
        elif step == "part" and key in self.direct:
            self.direct[key]["etags"][int(entry["part_number"])] = entry["etag"]

    def record(self, file: LocalFile, step: str, **fields: Any) -> None:
        entry = {"step": step, "path": file.key, "size": file.size, "mtime_ns": file.mtime_ns, **fields}
        with self.lock:
            self._apply(entry)
            self.fh.write(json.dumps(entry, separators=(",", ":")) + "\n")

    def finished(self, file: LocalFile) -> dict[str, Any] | None:
        entry = self.done.get(file.key)
        return entry if entry and file.same_as(entry) else None

    def maybe_sent(self, file: LocalFile) -> bool:
        entry = self.started.get(file.key)
        return bool(entry and file.same_as(entry))

    def pending_direct(self, file: LocalFile) -> dict[str, Any] | None:
        entry = self.direct.get(file.key)
        if not entry or not file.same_as(entry):
            return None
        if datetime.fromisoformat(entry["expires_at"].replace("Z", "+00:00")) <= datetime.now(UTC):
            return None
        return entry

    def close(self) -> None:
        self.fh.close()


class ProgressFile(io.FileIO):
    """A file that reports what is read from it (httpx reads the multipart body through it)."""

    def __init__(self, path: Path, progress: Progress) -> None:
        super().__init__(path, "rb")
        self.progress = progress
        self.sent = 0

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset == 0 and whence == 0 and self.sent:  # a retry re-reads the file
            self.progress(-self.sent)
            self.sent = 0
        return super().seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.sent += len(data)
        self.progress(len(data))
        return data


def _chunks(path: Path, offset: int, length: int, progress: Progress) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(offset)
        left = length
        while left > 0:
            data = fh.read(min(CHUNK, left))
            if not data:
                raise CliError(f"{path} changed while it was being uploaded", "file_changed")
            left -= len(data)
            progress(len(data))
            yield data


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while data := fh.read(1024 * 1024):
            digest.update(data)
    return digest.hexdigest()


class Uploader:
    def __init__(self, api: Api, journal: Journal, options: Options) -> None:
        self.api = api
        self.journal = journal
        self.options = options
        self.parts_pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="part")

    def close(self) -> None:
        self.parts_pool.shutdown(wait=False, cancel_futures=True)

    def upload(self, file: LocalFile, progress: Progress) -> Result:
        """One file, start to end; every failure becomes a ``failed`` result with its reason."""
        done = self.journal.finished(file)
        if done is not None:
            progress(file.size)
            return Result(file.key, file.size, "skipped", media_id=done.get("media_id"))
        direct = file.size > self.options.direct_threshold
        try:
            if self.journal.maybe_sent(file) and (existing := self._existing(file)) is not None:
                media, status = existing, "duplicate"
                progress(file.size)
            else:
                self.journal.record(file, "started")
                media, status = self._direct(file, progress) if direct else self._post(file, progress)
        except CliError as error:
            return Result(file.key, file.size, "failed", reason=error.message, code=error.code, direct=direct)
        except OSError as error:
            return Result(file.key, file.size, "failed", reason=str(error), code="file_error", direct=direct)
        self.journal.record(file, "done", status=status, media_id=media["id"])
        return Result(
            file.key, file.size, status, media["id"], media.get("status"), direct=direct, media=media
        )

    def _existing(self, file: LocalFile) -> dict[str, Any] | None:
        """The tenant's media with this file's sha256, if an earlier run got it stored."""
        digest = sha256_of(file.path)
        found = self.api.get("/media", sha256=digest, limit=1).get("media", [])
        # checked again here: a server that ignores the filter answers with some other media
        return found[0] if found and found[0].get("sha256") == digest else None

    def _fields(self) -> dict[str, str]:
        options = self.options
        fields = {"title": options.title, "description": options.description}
        if options.metadata:
            fields["metadata"] = json.dumps(options.metadata)
        if options.auto_transcode is not None:
            fields["auto_transcode"] = "true" if options.auto_transcode else "false"
        return {k: v for k, v in fields.items() if v is not None}

    def _post(self, file: LocalFile, progress: Progress) -> tuple[dict[str, Any], str]:
        with ProgressFile(file.path, progress) as fh:
            response = self.api.request(
                "POST",
                "/media",
                files={"file": (file.path.name, fh, "application/octet-stream")},
                data=self._fields(),
                expect=(200, 201),
            )
        media = response.json()
        return media, "duplicate" if response.status_code == 200 or media.get("duplicate") else "uploaded"

    def _direct(self, file: LocalFile, progress: Progress) -> tuple[dict[str, Any], str]:
        content_type = mimetypes.guess_type(file.path.name)[0] or "application/octet-stream"
        ticket = self.journal.pending_direct(file)
        if ticket is None:
            body: dict[str, Any] = {
                "filename": file.path.name,
                "size_bytes": file.size,
                "content_type": content_type,
            }
            for name, value in self._fields().items():
                body[name] = json.loads(value) if name in ("metadata", "auto_transcode") else value
            answer = self.api.post("/media/uploads", body)
            ticket = {
                "upload_id": answer["upload_id"],
                "expires_at": answer["expires_at"],
                "url": answer.get("url"),
                "parts": answer.get("parts") or [],
                "part_size": answer.get("part_size"),
                "content_type": content_type,
            }
            self.journal.record(file, "direct", **ticket)
            ticket = self.journal.pending_direct(file)
        headers = {"Content-Type": ticket["content_type"]}
        if ticket["url"]:
            self._put(ticket["url"], file, 0, file.size, progress, headers)
            parts = None
        else:
            parts = self._put_parts(file, ticket, progress)
        response = self.api.request(
            "POST",
            f"/media/uploads/{ticket['upload_id']}/complete",
            json={"parts": parts} if parts else {},
            expect=(200, 201),
        )
        media = response.json()
        return media, "duplicate" if response.status_code == 200 or media.get("duplicate") else "uploaded"

    def _put(
        self, url: str, file: LocalFile, offset: int, length: int, progress: Progress, headers: dict[str, str]
    ) -> str:
        """PUT one byte range (the whole file, or a part) and return its ETag; retried on failure."""
        for attempt in range(PART_ATTEMPTS):
            sent = 0

            def counted(n: int) -> None:
                nonlocal sent
                sent += n
                progress(n)

            try:
                response = self.api.put_storage(
                    url,
                    _chunks(file.path, offset, length, counted),
                    {**headers, "Content-Length": str(length)},
                )
                return response.headers.get("ETag", "")
            except CliError:
                progress(-sent)
                if attempt == PART_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _put_parts(self, file: LocalFile, ticket: dict[str, Any], progress: Progress) -> list[dict[str, Any]]:
        part_size = ticket["part_size"] or math.ceil(file.size / len(ticket["parts"]))
        etags: dict[int, str] = dict(ticket["etags"])
        progress(sum(min(part_size, file.size - (n - 1) * part_size) for n in etags))

        def send(part: dict[str, Any]) -> None:
            number = part["part_number"]
            offset = (number - 1) * part_size
            etag = self._put(part["url"], file, offset, min(part_size, file.size - offset), progress, {})
            etags[number] = etag
            self.journal.record(file, "part", part_number=number, etag=etag)

        missing = [part for part in ticket["parts"] if part["part_number"] not in etags]
        for future in [self.parts_pool.submit(send, part) for part in missing]:
            future.result()
        return [{"part_number": n, "etag": etags[n]} for n in sorted(etags)]


def default_journal_path(state_dir: Path, url: str, paths: list[Path]) -> Path:
    """One journal per server and set of arguments: rerunning the same command finds it."""
    key = "\n".join([url, *sorted(str(p.resolve()) for p in paths)])
    return state_dir / f"upload-{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsonl"
