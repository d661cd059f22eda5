"""Reading an ffmpeg filtergraph the way libavfilter does, to see which filters it names and with
which options (``scale=w=1280:h=-2,split[a][b];[a]palettegen[p]``).

Two levels of quoting apply, as in ffmpeg: the graph level (``'…'`` and ``\\`` around ``, ; [ ] =``)
and then the option level (``'…'`` and ``\\`` around ``: =``). The fence checks the values after
both, and the raw text too, so an escape cannot hide a path.
"""

from __future__ import annotations

from dataclasses import dataclass

WHITESPACE = " \n\t\r"


class GraphSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class FilterSpec:
    name: str
    raw_args: str  # after graph-level unescaping
    options: list[tuple[str | None, str]]  # (key or None for a positional value, value)


def get_token(text: str, pos: int, terms: str) -> tuple[str, int]:
    """``av_get_token``: read up to an unquoted, unescaped character of ``terms``; quotes and
    backslashes are removed, surrounding unquoted whitespace trimmed. Returns (token, next pos)."""
    while pos < len(text) and text[pos] in WHITESPACE:
        pos += 1
    out: list[str] = []
    keep = 0  # characters up to here are not trailing whitespace (quoted or escaped ones count)
    while pos < len(text) and text[pos] not in terms:
        char = text[pos]
        pos += 1
        if char == "\\" and pos < len(text):
            out.append(text[pos])
            pos += 1
            keep = len(out)
        elif char == "'":
            end = text.find("'", pos)
            if end < 0:
                end = len(text)
            out.append(text[pos:end])
            pos = min(end + 1, len(text))
            keep = len(out)
        else:
            out.append(char)
            if char not in WHITESPACE:
                keep = len(out)
    return "".join(out[:keep]), pos


def _labels(text: str, pos: int) -> int:
    """Skip ``[label]`` pads (and whitespace) from ``pos``."""
    while True:
        while pos < len(text) and text[pos] in WHITESPACE:
            pos += 1
        if pos < len(text) and text[pos] == "[":
            end = text.find("]", pos)
            if end < 0:
                raise GraphSyntaxError("An unterminated [label].")
            pos = end + 1
        else:
            return pos


def parse_options(args: str) -> list[tuple[str | None, str]]:
    """A filter's ``key=value:key=value`` (or positional ``value:value``) options."""
    options: list[tuple[str | None, str]] = []
    pos = 0
    while pos < len(args):
        token, end = get_token(args, pos, "=:")
        if end < len(args) and args[end] == "=":
            value, end = get_token(args, end + 1, ":")
            options.append((token, value))
        else:
            options.append((None, token))
        pos = end + 1  # past the ':'
    return options


def parse_graph(text: str) -> list[FilterSpec]:
    """Every filter of the graph, in order. ``GraphSyntaxError`` for text libavfilter would not
    accept either (an empty filter name, an unterminated label)."""
    filters: list[FilterSpec] = []
    pos = 0
    while True:
        pos = _labels(text, pos)
        if pos >= len(text):
            break
        name, pos = get_token(text, pos, "=,;[")
        if not name:
            raise GraphSyntaxError("A filter without a name.")
        raw_args = ""
        if pos < len(text) and text[pos] == "=":
            raw_args, pos = get_token(text, pos + 1, "[],;")
        filters.append(FilterSpec(name.split("@", 1)[0], raw_args, parse_options(raw_args)))
        pos = _labels(text, pos)
        if pos < len(text):
            if text[pos] not in ",;":
                raise GraphSyntaxError(f"Unexpected {text[pos]!r} in the filtergraph.")
            pos += 1
    return filters
