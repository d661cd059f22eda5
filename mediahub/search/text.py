"""The one text a media is embedded (and full-text indexed) by.

Built from the title, description, filename words and metadata values; for documents, the start of
the extracted text; then whatever each registered text source adds.

Extension point: ``register_text_source(fn)`` where ``fn(media) -> str | None`` returns extra text
for a media (e.g. the transcript a transcription plugin stored) or None. Sources run in registration
order each time the text is built, inside the embedding task; a source whose data changed should
call ``mediahub.search.services.request_embedding(media=...)`` so the media is embedded again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from mediahub.media import storage
from mediahub.media.models import Media

logger = logging.getLogger(__name__)

TextSource = Callable[[Media], str | None]

_sources: list[TextSource] = []


def register_text_source(source: TextSource) -> TextSource:
    """Add ``source`` to every media's text (usable as a decorator; registering twice is a no-op)."""
    if source not in _sources:
        _sources.append(source)
    return source


def build_text(media: Media) -> str:
    """The media's text: whitespace collapsed, at most ``EMBEDDING_TEXT_MAX_CHARS`` characters."""
    parts = [media.title, media.description, filename_words(media.filename)]
    parts += list(_metadata_values(media.metadata))
    if media.type == Media.Type.DOCUMENT:
        parts.append(document_text(media, settings.EMBEDDING_DOCUMENT_CHARS))
    for source in _sources:
        parts.append(source(media) or "")
    text = " ".join(" ".join(part.split()) for part in parts if part and part.strip())
    return text[: settings.EMBEDDING_TEXT_MAX_CHARS]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def filename_words(filename: str) -> str:
    """``kitten_on-a.couch.JPG`` → ``kitten on a couch`` (the extension says nothing)."""
    stem = filename.rsplit(".", 1)[0] if "." in filename.strip(".") else filename
    return " ".join(re.split(r"[\W_]+", stem)).strip()


def _metadata_values(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _metadata_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _metadata_values(item)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def document_text(media: Media, limit: int) -> str:
    """The first ``limit`` characters of a document's text (plain text or PDF); "" if unreadable."""
    if not media.original_key:
        return ""
    with tempfile.TemporaryDirectory(dir=settings.TASK_WORKDIR_ROOT) as folder:
        path = Path(folder) / "original"
        storage.get_store().download_file(media.original_key, path)
        try:
            if media.content_type == "application/pdf":
                return _pdf_text(path, limit)
            with path.open(encoding="utf-8", errors="replace") as fh:
                return fh.read(limit)
        except Exception as exc:  # a hostile or broken file: the other fields still count
            logger.warning("no text extracted from media %s: %s", media.pk, exc)
            return ""


def _pdf_text(path: Path, limit: int) -> str:
    from pypdf import PdfReader

    collected, size = [], 0
    for page in PdfReader(path).pages:
        text = page.extract_text() or ""
        collected.append(text)
        size += len(text)
        if size >= limit:
            break
    return " ".join(collected)[:limit]
