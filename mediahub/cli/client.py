"""The HTTP side of the CLI: API.md's error shape as ``CliError``, 429/503 retried after
``Retry-After``, network errors naming the URL. Speaks only the public API (no server code)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx

API_PREFIX = "/api/v1"
# Answers worth waiting for: rate limited, or a dependency briefly down (both carry Retry-After).
RETRY_STATUSES = (429, 503)
MAX_RETRIES = 5
MAX_RETRY_WAIT_SECONDS = 60.0


class CliError(Exception):
    """An error to show the user as ``message (code)``, never as a traceback."""

    def __init__(self, message: str, code: str = "error", status: int | None = None, details=None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details or {}

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        if self.status is not None:
            body["status"] = self.status
        return {"error": body}


def error_from(response: httpx.Response) -> CliError:
    """The API's ``{"error": {code, message, details}}``, or a plain description of a foreign answer."""
    try:
        error = response.json()["error"]
        return CliError(error["message"], error["code"], response.status_code, error.get("details"))
    except (ValueError, KeyError, TypeError):
        reason = response.reason_phrase or "error"
        return CliError(
            f"{response.request.url} answered {response.status_code} {reason}",
            "http_error",
            response.status_code,
        )


def network_error(url: object, exc: httpx.TransportError) -> CliError:
    reason = str(exc) or type(exc).__name__
    return CliError(f"Could not reach {url}: {reason}", "network_error")


def retry_after(response: httpx.Response, attempt: int) -> float:
    try:
        wait = float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        wait = 2.0**attempt
    return min(max(wait, 0.0), MAX_RETRY_WAIT_SECONDS)


class Api:
    """One client (thread-safe connection pool) per command; paths are relative to ``/api/v1``."""

    def __init__(self, url: str, api_key: str | None, *, concurrency: int = 4, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        headers = {"User-Agent": "mediahub-cli"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        limits = httpx.Limits(
            max_connections=concurrency * 2 + 4, max_keepalive_connections=concurrency * 2 + 4
        )
        self.http = httpx.Client(
            base_url=self.url + API_PREFIX, headers=headers, timeout=timeout, limits=limits
        )
        # Presigned storage URLs must not get our Authorization header.
        self.storage = httpx.Client(timeout=timeout, limits=limits)
        # Called with the seconds to wait before a retry (the upload display shows it).
        self.on_retry = None

    def close(self) -> None:
        self.http.close()
        self.storage.close()

    def request(
        self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201, 204), **kwargs
    ) -> httpx.Response:
        """Send, retrying 429/503 after ``Retry-After``; any other unexpected status is a ``CliError``.

        A file body is re-read from its start on each attempt (httpx seeks file objects to 0).
        """
        for attempt in range(MAX_RETRIES + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise network_error(self.url + API_PREFIX + path, exc) from None
            if response.status_code in expect:
                return response
            if response.status_code in RETRY_STATUSES and attempt < MAX_RETRIES:
                wait = retry_after(response, attempt)
                if self.on_retry is not None:
                    self.on_retry(wait)
                time.sleep(wait)
                continue
            raise error_from(response)
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=clean).json()

    def post(self, path: str, body: Any = None, **kwargs) -> Any:
        response = self.request("POST", path, json=body, **kwargs)
        return response.json() if response.content else None

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def put_storage(self, url: str, content: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        """PUT to a presigned storage URL (a direct upload's object or part)."""
        try:
            response = self.storage.put(url, content=content, headers=headers)
        except httpx.TransportError as exc:
            raise network_error(url.split("?", 1)[0], exc) from None
        if response.status_code >= 300:
            raise CliError(
                f"Storage refused the upload ({response.status_code}): {response.text[:200]}",
                "storage_error",
                response.status_code,
            )
        return response

    @contextlib.contextmanager
    def stream(self, path: str, params: dict[str, Any], headers: dict[str, str]) -> Iterator[httpx.Response]:
        """An open streaming GET (the events stream); errors are raised before the body is read."""
        request = self.http.build_request(
            "GET", path, params=params, headers=headers, timeout=httpx.Timeout(10.0, read=90.0)
        )
        try:
            response = self.http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise network_error(request.url, exc) from None
        try:
            if response.status_code != 200:
                response.read()
                raise error_from(response)
            yield response
        finally:
            response.close()
