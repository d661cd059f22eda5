"""Command presets are fenced when saved, so a preset that could never run is a 400 at once."""

from __future__ import annotations

from typing import Any

from mediahub.commands.fence import OUTPUT_EXTENSIONS, CommandRefused, check_command
from mediahub.commands.wildcards import Files, WildcardError, expand, split_command
from mediahub.errors import Invalid
from tenants.models import Tenant

# Stand-ins for checking a preset before it has inputs: as many as the command refers to.
SAMPLE_INPUTS = [f"input_{n}.mp4" for n in range(1, 9)]


def check_command_preset(tenant: Tenant, fields: dict[str, Any]) -> None:
    extension = fields.get("output_extension") or ""
    if extension not in OUTPUT_EXTENSIONS:
        raise Invalid({"output_extension": [f"Output files may be {', '.join(sorted(OUTPUT_EXTENSIONS))}."]})
    files = Files(SAMPLE_INPUTS, SAMPLE_INPUTS, f"output.{extension}", f"output.{extension}")
    # Parameters without a default get a sample value: their real values are checked at run time.
    params = {
        name: value if value is not None else "1" for name, value in (fields.get("params") or {}).items()
    }
    try:
        expanded = expand(split_command(fields["command"]), files, params)
        check_command(expanded.argv, files.inputs, files.output)
    except WildcardError as exc:
        field = exc.field_name if exc.field_name in ("command", "params") else "command"
        raise Invalid({field: [str(exc)]}) from exc
    except CommandRefused as exc:
        raise Invalid({"command": [f"Refused {exc}."]}) from exc
