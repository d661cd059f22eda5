"""The ``mediahub`` console script: every command module registered on the typer app, and the one
place that turns errors into messages."""

from __future__ import annotations

import os
import sys
import traceback

from rich.markup import escape

from mediahub.cli import commands, listen, output, upload_command, watch  # noqa: F401 - they register
from mediahub.cli.base import app
from mediahub.cli.client import CliError

# --- the entry point ---


def run() -> None:
    """Console script: API and network errors become ``Error: message (code)`` and exit 1, never a
    traceback (``MEDIAHUB_DEBUG=1`` shows it). Usage errors, --help and Ctrl-C are typer's."""
    as_json = "--json" in sys.argv[1:]
    try:
        app()
    except CliError as error:
        _report(error, as_json)
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - the one place that turns a bug into a message
        if os.environ.get("MEDIAHUB_DEBUG"):
            traceback.print_exc()
        _report(CliError(f"unexpected {type(error).__name__}: {error}", "internal_error"), as_json)
        sys.exit(1)


def _report(error: CliError, as_json: bool) -> None:
    if as_json:
        output.print_json(error.as_json())
    else:
        message = f"[bold red]Error:[/] {escape(error.message)} [dim]({escape(error.code)})[/]"
        output.err_console.print(message, highlight=False)
