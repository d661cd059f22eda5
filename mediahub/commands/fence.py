"""The sandbox fence: a tenant's ffmpeg arguments checked one by one before any process starts.

ffmpeg reads and writes files through far more than ``-i`` and the output name (DESIGN.md, "Known
pitfalls"), so the command is walked as ffmpeg itself walks it: global options, then input options
up to each ``-i``, then output options up to each output name. What is allowed:

- inputs: the staged input files (``${INPUT_FILE…}``), opened later through the media input fence
  (named demuxer, ``-protocol_whitelist file,pipe``), or ``-f lavfi`` sources;
- one output: ``${OUTPUT_FILE}``, with a single-file muxer;
- ffmpeg's own options from an allowlist (``ALLOWED_OPTIONS``); everything else ffmpeg would read as a
  codec or format option (``-crf``, ``-movflags``…), minus a denylist, with a value that names no
  absolute path, no ``..`` and no URL;
- filters, minus those that open files, sockets or plugins, and file options of the rest only as
  plain names in the work folder.

A refusal names the argument (``CommandRefused``). The runner adds the second fence (no network,
rlimits, Landlock: see ``jail.py``), so a gap here still touches nothing outside the work folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mediahub.commands.filtergraph import GraphSyntaxError, parse_graph

MAX_ARGUMENTS = 256
MAX_ARGUMENT_LENGTH = 8192


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


class CommandRefused(ValueError):
    def __init__(self, argument: str, reason: str, index: int | None = None):
        self.argument, self.reason, self.index = argument, reason, index
        where = f"argument {index + 1} " if index is not None else ""
        shown = argument if len(argument) <= 80 else argument[:77] + "..."
        super().__init__(f"{where}{shown!r}: {reason}")


# ffmpeg's own options that take no value (``-noX`` negates those marked bool in ffmpeg).
FLAG_OPTIONS = _words(
    "y n hide_banner stdin nostdin stats nostats benchmark benchmark_all xerror copyts start_at_zero "
    "ignore_unknown copy_unknown recast_media debug_ts dump hex psnr qphist auto_conversion_filters "
    "noauto_conversion_filters accurate_seek noaccurate_seek re shortest bitexact copyinkf "
    "find_stream_info nofind_stream_info vn an sn dn force_fps fix_sub_duration"
)
# ffmpeg's own options that take a value and are harmless (no file, device or network access).
VALUE_OPTIONS = _words(
    "loglevel v max_alloc filter_threads filter_complex_threads max_error_rate cpuflags cpucount "
    "timelimit vsync fps_mode frame_drop_threshold async adrift_threshold copytb dts_delta_threshold "
    "dts_error_threshold abort_on stats_period "
    "f c codec vcodec acodec scodec dcodec map map_metadata map_chapters map_channel t to fs ss sseof "
    "seek_timestamp timestamp metadata program target apad frames vframes aframes dframes "
    "reinit_filter discard disposition isync itsoffset itsscale readrate tag vtag atag stag q qscale "
    "aq profile stream_loop thread_queue_size bits_per_raw_sample autorotate autoscale muxdelay "
    "muxpreload time_base enc_time_base bsf vbsf absf max_muxing_queue_size "
    "muxing_queue_data_threshold r fpsmax s aspect timecode pass pix_fmt rc_override intra_matrix "
    "inter_matrix chroma_intra_matrix top streamid force_key_frames ar ac vol sample_fmt "
    "channel_layout ch_layout guess_layout_max canvas_size b ab copypriorss"
)
FILTER_OPTIONS = frozenset({"filter", "vf", "af", "filter_complex", "lavfi"})
# Option whose value is a file ffmpeg writes (two-pass logs): a plain name in the work folder.
WRITE_FILE_OPTIONS = frozenset({"passlogfile"})
# ffmpeg's own options that are refused, and why.
REFUSED_OPTIONS = {
    **dict.fromkeys(
        ["filter_script", "filter_complex_script"], "reads a filtergraph from a file; give it inline"
    ),
    "attach": "attaches a file from disk",
    "dump_attachment": "writes attachments to files",
    **dict.fromkeys(["vstats", "vstats_file", "vstats_version"], "writes statistics to a file"),
    "sdp_file": "writes an SDP file",
    "report": "writes a report file",
    "progress": "reports progress, which the task does itself",
    **dict.fromkeys(["pre", "fpre", "vpre", "apre", "spre"], "reads options from preset files"),
    **dict.fromkeys(
        ["init_hw_device", "filter_hw_device", "hwaccel", "hwaccel_device", "hwaccel_output_format",
         "vaapi_device", "qsv_device"],
        "uses hardware devices",
    ),
    **dict.fromkeys(
        ["h", "help", "?", "version", "buildconf", "formats", "muxers", "demuxers", "devices", "codecs",
         "decoders", "encoders", "bsfs", "protocols", "filters", "pix_fmts", "layouts", "sample_fmts",
         "dispositions", "colors", "sources", "sinks", "hwaccels", "L"],
        "prints information instead of processing media",
    ),
}  # fmt: skip
# Codec and format (AVOption) names that would lift the input fence or open other files.
REFUSED_AVOPTIONS = {
    **dict.fromkeys(
        ["protocol_whitelist", "protocol_blacklist", "format_whitelist", "codec_whitelist", "enable_drefs",
         "use_absolute_path", "safe", "graph_file", "dumpgraph", "follow", "http_proxy", "headers",
         "listen", "reconnect", "method", "user_agent", "cookies", "key_info_file", "hls_key_info_file",
         "hls_segment_filename", "segment_list", "master_pl_name", "var_stream_map", "init_seg_name",
         "media_seg_name", "fifo_format", "dump_separator"],
        "is set by the sandbox or opens other files or addresses",
    ),
}  # fmt: skip

# Single-file muxers an output may name with -f (the output name's extension picks one otherwise).
OUTPUT_FORMATS = _words(
    "mp4 mov ipod ismv 3gp 3g2 psp f4v matroska webm mpegts mpeg vob dvd svcd vcd gif apng webp image2 "
    "mjpeg singlejpeg mp3 mp2 adts ac3 eac3 wav w64 flac ogg oga opus spx ogv avi flv mxf mxf_opatom "
    "nut srt webvtt ass ssa ipod h264 hevc rawvideo ivf null "
    "s16le s16be s24le s32le f32le f64le u8 s8 mulaw alaw"
)
OUTPUT_EXTENSIONS = _words(
    "mp4 m4v m4a mov 3gp mkv mka webm ts mpg gif apng png jpg jpeg webp bmp tiff mp3 mp2 aac ac3 eac3 "
    "wav flac ogg oga ogv opus avi flv mxf nut srt vtt ass h264 hevc ivf"
)

# Filters refused whatever their options: they open files, sockets or plugin libraries.
REFUSED_FILTERS = {
    **dict.fromkeys(["movie", "amovie"], "opens other files or URLs"),
    **dict.fromkeys(["zmq", "azmq"], "listens on a network socket"),
    **dict.fromkeys(["frei0r", "frei0r_src", "ladspa", "lv2"], "loads plugin libraries"),
    **dict.fromkeys(["lut3d", "lut1d", "cover_rect", "find_rect", "removelogo", "sofalizer"],
                    "reads a file"),
    **dict.fromkeys(["asr", "arnndn", "sr", "derain", "dnn_classify", "dnn_detect", "dnn_processing"],
                    "loads model files"),
    **dict.fromkeys(["program_opencl", "openclsrc", "xfade_opencl", "libplacebo"],
                    "loads shader or kernel files"),
    **dict.fromkeys(["cellauto", "life", "curves", "selectivecolor", "flite"],
                    "may read a file; pass the values inline"),
}  # fmt: skip
# Filters with file options: {option (and alias): how its value is checked}, and the order of their
# options up to the last file option (for values given without a key).
# "input": one of the command's input files (read); "write": a new plain name in the work folder;
# "refuse": the option is not allowed.
FILTER_FILE_OPTIONS: dict[str, tuple[dict[str, str], list[str]]] = {
    "subtitles": (
        {"filename": "input", "f": "input", "fontsdir": "refuse"},
        ["filename", "original_size", "fontsdir"],
    ),
    "ass": (
        {"filename": "input", "f": "input", "fontsdir": "refuse"},
        ["filename", "original_size", "fontsdir"],
    ),
    "drawtext": ({"fontfile": "refuse", "textfile": "refuse"}, ["fontfile", "text", "textfile"]),
    "showcqt": ({"fontfile": "refuse", "axisfile": "refuse"}, []),
    "sendcmd": ({"filename": "refuse", "f": "refuse"}, ["commands", "filename"]),
    "asendcmd": ({"filename": "refuse", "f": "refuse"}, ["commands", "filename"]),
    "vidstabdetect": ({"result": "write"}, ["result"]),
    "vidstabtransform": ({"input": "write"}, ["input"]),
    "psnr": ({"stats_file": "write", "f": "write"}, ["stats_file"]),
    "ssim": ({"stats_file": "write", "f": "write"}, ["stats_file"]),
    "vmafmotion": ({"stats_file": "write"}, ["stats_file"]),
    "metadata": ({"file": "write"}, ["mode", "key", "value", "function", "expr", "file"]),
    "ametadata": ({"file": "write"}, ["mode", "key", "value", "function", "expr", "file"]),
    "signature": ({"filename": "write"}, ["detectmode", "nb_inputs", "filename"]),
    "paletteuse": (
        {"debug_kdtree": "write"},
        ["dither", "bayer_scale", "diff_mode", "new", "alpha_threshold", "use_alpha", "debug_kdtree"],
    ),
    "firequalizer": (
        {"dumpfile": "write"},
        ["gain", "gain_entry", "delay", "accuracy", "wfunc", "fixed", "multi", "zero_phase", "scale",
         "dumpfile"],
    ),
    "deshake": (
        {"filename": "write"},
        ["x", "y", "w", "h", "rx", "ry", "edge", "blocksize", "contrast", "search", "filename"],
    ),
}  # fmt: skip

PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# A '/' or '~' that starts a word: an absolute (or home) path, after any separator ffmpeg uses.
_ABSOLUTE = re.compile(r"(^|[\s=:,;|'\"\[\]\\(){}<>])[/~]")
_PARENT = re.compile(r"(^|[/\\\s=:,;|'\"])\.\.($|[/\\\s:,;|'\"])")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _protocols() -> re.Pattern:
    # ffmpeg's protocol names (as ``ffmpeg -protocols`` lists them), each followed by ':'.
    names = _words(
        "async bluray cache concat concatf crypto data fd ffrtmpcrypt ffrtmphttp file ftp gopher gophers "
        "hls http httpproxy https icecast ipfs ipns librist libsrt libssh libzmq md5 mmsh mmst pipe "
        "prompeg rist rtmp rtmpe rtmps rtmpt rtmpte rtmpts rtp sctp sftp srt srtp subfile tcp tee tls "
        "udp udplite unix amqp smb"
    )
    return re.compile(r"(^|[^A-Za-z0-9_+.-])(" + "|".join(names) + r")(\+[A-Za-z0-9]+)*:", re.I)


_PROTOCOL = _protocols()


@dataclass
class InputSpec:
    """One ``-i`` of the command: a staged file (its index in the inputs) or a lavfi graph."""

    position: int  # index of the '-i' in the checked argv
    file_index: int | None = None
    lavfi: str | None = None


@dataclass
class CheckedCommand:
    argv: list[str]
    inputs: list[InputSpec] = field(default_factory=list)
    output_position: int = -1
    duration_limit: float | None = None  # a plain ``-t`` seconds value on the output, if any


def _plain_path_checks(value: str, argument: str, index: int, *, urls: bool) -> None:
    if "\x00" in value:
        raise CommandRefused(argument, "contains a NUL character", index)
    if _ABSOLUTE.search(value):
        raise CommandRefused(argument, "names an absolute path; only files in the work folder exist", index)
    if _PARENT.search(value):
        raise CommandRefused(argument, "leaves the work folder ('..')", index)
    if urls and (_URL.search(value) or _PROTOCOL.search(value)):
        raise CommandRefused(
            argument, "names a URL or protocol; only local files (file, pipe) are allowed", index
        )


def check_filtergraph(graph: str, argument: str, index: int, inputs: list[str], output: str) -> None:
    """Refuse filters that open files, sockets or plugins, and file options naming anything but
    plain names in the work folder."""
    _plain_path_checks(graph, argument, index, urls=False)
    try:
        filters = parse_graph(graph)
    except GraphSyntaxError as exc:
        raise CommandRefused(argument, f"is not a valid filtergraph: {exc}", index) from exc
    for spec in filters:
        reason = REFUSED_FILTERS.get(spec.name)
        if reason:
            raise CommandRefused(argument, f"the {spec.name} filter is not allowed: it {reason}", index)
        _plain_path_checks(spec.raw_args, argument, index, urls=False)
        file_options, order = FILTER_FILE_OPTIONS.get(spec.name, ({}, []))
        for position, (key, value) in enumerate(spec.options):
            _plain_path_checks(value, argument, index, urls=False)
            name = key if key is not None else (order[position] if position < len(order) else None)
            kind = file_options.get(name or "")
            if kind == "refuse":
                raise CommandRefused(argument, f"the {spec.name} option {name} reads a file", index)
            if kind == "input" and value not in inputs:
                raise CommandRefused(
                    argument, f"{spec.name} may only read the command's inputs (${{INPUT_FILE…}})", index
                )
            if kind == "write" and (not PLAIN_NAME.match(value) or value in inputs or value == output):
                raise CommandRefused(
                    argument, f"{spec.name} {name} must be a new plain file name in the work folder", index
                )


def _option_name(argument: str) -> tuple[str, str]:
    """``-c:v`` → ("c", ":v"); ``-b:a:0`` → ("b", ":a:0")."""
    body = argument[1:]
    name, sep, spec = body.partition(":")
    return name, sep + spec


def _seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def check_command(argv: list[str], inputs: list[str], output: str) -> CheckedCommand:
    """Check ``argv`` (wildcards already expanded: ``inputs`` are the staged input names in the
    work folder, ``output`` the output name). Returns where the inputs and the output are."""
    if not argv:
        raise CommandRefused("", "the command is empty")
    if len(argv) > MAX_ARGUMENTS:
        raise CommandRefused(argv[MAX_ARGUMENTS], f"more than {MAX_ARGUMENTS} arguments", MAX_ARGUMENTS)
    checked = CheckedCommand(argv=list(argv))
    pending_format: str | None = None  # -f seen since the last input/output
    outputs = 0
    i = 0
    while i < len(argv):
        argument = argv[i]
        if len(argument) > MAX_ARGUMENT_LENGTH:
            raise CommandRefused(argument, f"longer than {MAX_ARGUMENT_LENGTH} characters", i)
        if "\x00" in argument:
            raise CommandRefused(argument, "contains a NUL character", i)
        if argument == "--":
            raise CommandRefused(argument, "'--' is not allowed", i)
        if not (argument.startswith("-") and len(argument) > 1):
            # Anything that is not an option is an output file name for ffmpeg.
            outputs += 1
            if argument != output:
                raise CommandRefused(
                    argument, "only ${OUTPUT_FILE} may be an output (a stray value, or a second output?)", i
                )
            if outputs > 1:
                raise CommandRefused(argument, "only one output is allowed", i)
            if pending_format is not None and pending_format not in OUTPUT_FORMATS:
                raise CommandRefused(pending_format, "this output format is not allowed", i)
            checked.output_position = i
            pending_format = None
            i += 1
            continue

        name, _spec = _option_name(argument)
        if name.startswith("/"):
            raise CommandRefused(argument, "reads an option value from a file", i)
        reason = REFUSED_OPTIONS.get(name)
        if reason:
            raise CommandRefused(argument, f"is not allowed: it {reason}", i)
        if name in FLAG_OPTIONS:
            i += 1
            continue
        if i + 1 >= len(argv):
            raise CommandRefused(argument, "is missing its value", i)
        value = argv[i + 1]

        if name == "i":
            if outputs:
                raise CommandRefused(argument, "inputs must come before the output", i)
            if pending_format == "lavfi":
                check_filtergraph(value, value, i + 1, inputs, output)
                checked.inputs.append(InputSpec(position=i, lavfi=value))
            elif pending_format is not None:
                raise CommandRefused(
                    pending_format,
                    "-f on an input is only allowed for lavfi; files keep their detected format",
                    i,
                )
            elif value in inputs:
                checked.inputs.append(InputSpec(position=i, file_index=inputs.index(value)))
            else:
                raise CommandRefused(
                    value, "an input must be ${INPUT_FILE} (or _1.._n) or a lavfi source", i + 1
                )
            pending_format = None
        elif name == "f":
            if value != "lavfi" and value not in OUTPUT_FORMATS:
                raise CommandRefused(value, "this format is not allowed", i + 1)
            pending_format = value
        elif name in FILTER_OPTIONS:
            check_filtergraph(value, value, i + 1, inputs, output)
        elif name in WRITE_FILE_OPTIONS:
            if not PLAIN_NAME.match(value) or value in inputs or value == output:
                raise CommandRefused(value, "must be a new plain file name in the work folder", i + 1)
        elif name in VALUE_OPTIONS:
            _plain_path_checks(value, value, i + 1, urls=name not in ("metadata", "map", "program"))
            if name == "t" and checked.inputs:
                checked.duration_limit = _seconds(value)
        else:
            # Not ffmpeg's own option: ffmpeg reads it as a codec/format/muxer option with a value.
            if name in REFUSED_AVOPTIONS:
                raise CommandRefused(argument, f"is not allowed: it {REFUSED_AVOPTIONS[name]}", i)
            if not re.fullmatch(r"[A-Za-z0-9_+-]+", name):
                raise CommandRefused(argument, "is not an ffmpeg option", i)
            _plain_path_checks(value, value, i + 1, urls=True)
        i += 2

    if outputs == 0:
        raise CommandRefused(output, "the command has no output: put ${OUTPUT_FILE} last")
    if not checked.inputs:
        raise CommandRefused("-i", "the command has no input")
    if pending_format is not None:
        raise CommandRefused(pending_format, "options after the output do nothing")
    return checked
