"""Every parser answers any input with a result or one `BadInputError`, never another exception.

Hypothesis throws arbitrary and mutated input at the audio loader, the prompt builder, the
storyboard and project readers and the run-log reader. Each test counts the examples it tried and
how each ended, prints the tally (`pytest -rP` shows it) and checks that enough were tried.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hear2see_desktop.core.audio import SAMPLE_RATE_HZ, Audio, load_audio
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.project import Project, last_render_path, load_project, project_frame_paths, save_project
from hear2see_desktop.core.prompt.builder import build_prompt
from hear2see_desktop.core.prompt.styles import style_names
from hear2see_desktop.core.prompt.tokens import SPECIAL_TOKENS, clip_token_count
from hear2see_desktop.core.runlog import append_record, find_record, mean_ratings, rate_run, read_log
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.storyboard.board import Storyboard, build_storyboard, load_storyboard
from hear2see_desktop.core.transcript import Transcript, Word
from tests.speech import ffmpeg_encode, tone

_FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fuzz(examples: int) -> settings:
    """No deadline (ffmpeg and the disk vary on a loaded machine) and a fixed number of examples."""
    return settings(_FUZZ, max_examples=examples)


class Tally:
    """How many examples a property test tried and how each one ended."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.outcomes: Counter[str] = Counter()

    def __call__(self, outcome: str) -> None:
        self.outcomes[outcome] += 1

    def report(self, at_least: int) -> None:
        total = sum(self.outcomes.values())
        print(f"{self.name}: {total} examples, all survived: {dict(sorted(self.outcomes.items()))}")
        assert total >= at_least, f"only {total} examples ran"


def one_sentence(message: str) -> bool:
    """What a user sees: one line ending in a full stop, no traceback."""
    return message.endswith(".") and "\n" not in message and "Traceback" not in message


def outcome_of(call: Callable[[], object], tally: Tally) -> object | None:
    """Run `call`; a BadInputError is a fine answer (tallied by its first words), anything else fails."""
    try:
        result = call()
    except BadInputError as error:
        assert one_sentence(str(error)), repr(str(error))
        tally("BadInputError: " + " ".join([w for w in str(error).split() if w.isalpha()][:3]))
        return None
    tally("result")
    return result


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**20, max_value=10**400)
    | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


# Values that break number handling: floats that aren't finite, ints no float can hold, look-alikes.
ODD_VALUES = st.sampled_from(
    [10**400, -(10**400), 2**63, 1e308, -1e-320, math.nan, math.inf, -math.inf, -0.0, True, False, None, "", "1.5",
     [], {}, [0.0, 1.0], {"start_s": 0}]
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- audio --------------------------------------------------------------------------------------

AUDIO_SUFFIXES = [".wav", ".mp3", ".flac", ".ogg", ".m4a", ".txt", ""]
MAGICS = [b"", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"fLaC", b"OggS\x00\x02", b"ID3\x03\x00", b"\xff\xfb\x90\x00",
          b"\x00\x00\x00\x20ftypM4A ", b"RF64", b"FORM\x00\x00\x00\x10AIFF", b".snd"]


def check_audio(audio: object) -> None:
    assert isinstance(audio, Audio)
    samples = audio.samples
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert audio.sample_rate_hz == SAMPLE_RATE_HZ and audio.duration_s >= 0.3
    assert np.isfinite(samples).all() and np.abs(samples).max(initial=0.0) <= 1.0


@pytest.fixture(scope="module")
def valid_audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Small real files (0.5 s, stereo 8 kHz) in the containers users bring, as bytes to mutate."""
    d = tmp_path_factory.mktemp("valid-audio")
    wav = tone(d / "tone.wav", 0.5, rate_hz=8000, channels=2)
    made = {
        ".wav": wav,
        ".flac": tone(d / "tone.flac", 0.5, rate_hz=8000, channels=2, subtype="PCM_16"),
        ".ogg": tone(d / "tone.ogg", 0.5, rate_hz=8000, channels=2, subtype="VORBIS"),
        ".mp3": ffmpeg_encode(wav, d / "tone.mp3", "-c:a", "libmp3lame", "-b:a", "32k"),
        ".m4a": ffmpeg_encode(wav, d / "tone.m4a", "-c:a", "aac", "-b:a", "32k"),
    }
    return {suffix: path.read_bytes() for suffix, path in made.items()}


def test_any_bytes_under_any_audio_name_load_or_raise_bad_input(tmp_path: Path) -> None:
    tally = Tally("load_audio(arbitrary bytes)")

    @fuzz(200)
    @given(magic=st.sampled_from(MAGICS), body=st.binary(max_size=2000), suffix=st.sampled_from(AUDIO_SUFFIXES))
    def check(magic: bytes, body: bytes, suffix: str) -> None:
        path = tmp_path / f"take{suffix}"
        path.write_bytes(magic + body)
        audio = outcome_of(lambda: load_audio(path), tally)
        if audio is not None:
            check_audio(audio)

    check()
    tally.report(at_least=200)


@st.composite
def mutations(draw: st.DrawFn, size: int) -> list[tuple[str, int, int]]:
    """A few edits of a file of `size` bytes: cut it, overwrite a byte, or write a 16/32-bit field."""
    position = st.integers(0, size - 1)
    edit = st.one_of(
        st.tuples(st.just("cut"), position, st.just(0)),
        st.tuples(st.just("byte"), position, st.integers(0, 255)),
        # The WAV header's channels, sample rate, byte rate, block align, bits and data size fields.
        st.tuples(st.just("u16"), st.sampled_from([22, 32, 34]), st.integers(0, 2**16 - 1)),
        st.tuples(st.just("u32"), st.sampled_from([4, 16, 24, 28, 40]),
                  st.sampled_from([0, 1, 2, 7999, 8000, 2**31, 2**32 - 1]) | st.integers(0, 2**32 - 1)),
    )
    return draw(st.lists(edit, min_size=1, max_size=4))


def mutate(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    buffer = bytearray(data)
    for kind, at, value in edits:
        if kind == "cut":
            del buffer[at:]
        elif at < len(buffer):
            width = {"byte": 1, "u16": 2, "u32": 4}[kind]
            buffer[at : at + width] = value.to_bytes(width, "little")
    return bytes(buffer)


def test_damaged_real_audio_files_load_or_raise_bad_input(tmp_path: Path, valid_audio: dict[str, bytes]) -> None:
    tally = Tally("load_audio(mutated real files)")

    @fuzz(300)
    @given(data=st.data(), suffix=st.sampled_from(sorted(valid_audio)), name_suffix=st.sampled_from(AUDIO_SUFFIXES))
    def check(data: st.DataObject, suffix: str, name_suffix: str) -> None:
        original = valid_audio[suffix]
        damaged = mutate(original, data.draw(mutations(len(original))))
        path = tmp_path / f"take{name_suffix}"
        path.write_bytes(damaged)
        audio = outcome_of(lambda: load_audio(path), tally)
        if audio is not None:
            check_audio(audio)
            # A damaged header must not turn half a second into hours (a WAV "at 1 Hz" once did).
            assert audio.duration_s < 10.0, audio.duration_s

    check()
    tally.report(at_least=300)


# --- the prompt builder -------------------------------------------------------------------------

# Controls, format characters, line separators, emoji, ... and more lone surrogates (from argv on Linux).
ANY_CHARACTER = st.characters() | st.characters(categories=["Cs"])
SCENE_WORDS = st.sampled_from(
    "fox red snowy forest dawn castle dragon misty night um like you know I mean \x00 \x1b \u200b \u2028 "
    "\ufeff 🦊 狐 Füchse renard , . ... ; ! ? - -- ' \" ( )".split(" ")
)
NARRATIONS = st.one_of(
    st.text(ANY_CHARACTER, max_size=300),
    st.lists(SCENE_WORDS, max_size=400).map(" ".join),
    st.tuples(st.text(ANY_CHARACTER, min_size=1, max_size=40), st.integers(50, 600)).map(lambda t: t[0] * t[1]),
)


def test_any_text_builds_a_prompt_within_clips_budget_or_raises_bad_input() -> None:
    tally = Tally("build_prompt(arbitrary text)")

    @fuzz(300)
    @given(
        text=NARRATIONS,
        style=st.sampled_from([*style_names(), " Watercolor ", "vaporwave", "anime\n", ""]),
        negative=st.none() | st.text(ANY_CHARACTER, max_size=200),
        max_tokens=st.just(77) | st.integers(3, 120) | st.integers(-3, 2),
        subjects=st.none() | st.lists(st.text(ANY_CHARACTER, max_size=30), max_size=4),
    )
    def check(text: str, style: str, negative: str | None, max_tokens: int, subjects: list[str] | None) -> None:
        result = outcome_of(
            lambda: build_prompt(text, style=style, negative=negative, max_tokens=max_tokens, subjects=subjects),
            tally,
        )
        if result is not None:
            assert result.prompt.strip()
            assert clip_token_count(result.prompt) + SPECIAL_TOKENS <= max_tokens, result.prompt
            assert clip_token_count(result.negative_prompt) + SPECIAL_TOKENS <= max_tokens
            json.dumps(result.to_dict())  # it goes into run records and project files

    check()
    tally.report(at_least=300)


# --- storyboards --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def valid_board() -> dict:
    words = [Word(w, 0.4 * i, 0.4 * i + 0.3, 1.0) for i, w in enumerate(
        "A red fox runs through the snowy forest. It stops at a frozen river. Then it jumps across the ice.".split())]
    board = build_storyboard(Transcript("", words, duration_s=8.0), min_scene_s=2.0, max_scene_s=4.0)
    assert len(board.scenes) >= 2
    return board.to_dict()


def check_board(board: Storyboard) -> None:
    """A board that read and validated is usable everywhere the app uses one."""
    board.validate()
    again = Storyboard.from_dict(json.loads(json.dumps(board.to_dict())))
    assert again == board
    for time_s in (-1.0, 0.0, board.duration_s / 2, board.duration_s, board.duration_s + 1, math.inf):
        assert 0 <= board.scene_at(time_s) < len(board.scenes)


def fresh_value(draw: st.DrawFn) -> object:
    """A replacement value of its own: ODD_VALUES hands out the same [] and {} objects every time, and a
    later edit inside one would change what every following example draws (Hypothesis then reports the
    test as flaky instead of checking the reader)."""
    return copy.deepcopy(draw(ODD_VALUES | JSON_VALUES))


@st.composite
def mutated_json(draw: st.DrawFn, document: object) -> object:
    """`document` with one to three edits somewhere in its tree: a value replaced, a key or item
    removed, a list item repeated. Most of the file stays valid, so the reader gets past its first checks."""
    data = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 3))):
        parent: object = data
        while True:  # walk down a random path, stopping at some container on the way
            children = list(parent.values()) if isinstance(parent, dict) else parent if isinstance(parent, list) else []
            inner = [c for c in children if isinstance(c, (dict, list)) and c]
            if not inner or draw(st.integers(0, 2)) == 0:
                break
            parent = draw(st.sampled_from(inner))
        if isinstance(parent, dict):
            key = draw(st.sampled_from([*parent.keys(), "extra"]))
            if draw(st.integers(0, 3)):
                parent[key] = fresh_value(draw)
            else:
                parent.pop(key, None)
        elif isinstance(parent, list) and parent:
            index = draw(st.integers(0, len(parent) - 1))
            action = draw(st.sampled_from(["set", "delete", "repeat"]))
            if action == "set":
                parent[index] = fresh_value(draw)
            elif action == "delete":
                del parent[index]
            else:
                parent.insert(index, parent[index])
    return data


def test_any_json_value_or_damaged_board_reads_or_raises_bad_input(valid_board: dict) -> None:
    tally = Tally("Storyboard.from_dict(arbitrary / mutated)")

    @fuzz(300)
    @given(data=mutated_json(valid_board) | JSON_VALUES)
    def check(data: object) -> None:
        def read() -> Storyboard:
            board = Storyboard.from_dict(data)
            board.validate()
            return board

        board = outcome_of(read, tally)
        if board is not None:
            check_board(board)

    check()
    tally.report(at_least=300)


def test_any_storyboard_file_loads_or_raises_bad_input(tmp_path: Path, valid_board: dict) -> None:
    tally = Tally("load_storyboard(arbitrary / mutated bytes)")
    text = json.dumps(valid_board, indent=2).encode()

    @fuzz(250)
    @given(
        raw=st.binary(max_size=300)
        | st.just(nested(100_000).encode())
        | st.just(b'{"version": 1, "duration_s": 1' + b"0" * 5000 + b"}")
        | st.tuples(st.just(text), mutations(len(text))).map(lambda t: mutate(*t))
        | mutated_json(valid_board).map(lambda board: json.dumps(board).encode())  # NaN, 1e400, ... as JSON
    )
    def check(raw: bytes) -> None:
        path = tmp_path / "board.json"
        path.write_bytes(raw)
        board = outcome_of(lambda: load_storyboard(path), tally)
        if board is not None:
            check_board(board)

    check()
    tally.report(at_least=250)


# --- project files ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_project(tmp_path_factory: pytest.TempPathFactory, valid_board: dict) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("project")
    take = tone(folder / "take.wav", 1.0)
    project = Project(
        transcript=Transcript("A red fox runs.", [Word("fox", 0.1, 0.5, 0.9)], engine="vosk", duration_s=8.0),
        prompt="red fox, cinematic",
        settings=RenderSettings(prompt="red fox", steps=4, width=64, height=64),
        storyboard=Storyboard.from_dict(valid_board),
        last_render={"run_id": "20260101-120000-abcdef", "mp4": "fox.mp4"},
    )
    path = save_project(project, folder / "fox.h2s", audio_source=take)
    return path, path.read_bytes()


def test_any_damaged_project_file_loads_or_raises_bad_input(saved_project: tuple[Path, bytes]) -> None:
    path, original = saved_project
    tally = Tally("load_project(mutated / arbitrary bytes)")

    @fuzz(300)
    @given(
        raw=st.tuples(st.just(original), mutations(len(original))).map(lambda t: mutate(*t))
        | st.binary(max_size=200)
        | st.just(nested(100_000).encode())
        | st.just(original.replace(b'"steps": 4', b'"steps": 4' + b"0" * 5000))
        | mutated_json(json.loads(original)).map(lambda project: json.dumps(project).encode())
    )
    def check(raw: bytes) -> None:
        path.write_bytes(raw)
        project = outcome_of(lambda: load_project(path), tally)
        if project is not None:
            assert isinstance(project, Project)
            project_frame_paths(path, project)
            last_render_path(path, project)
            save_project(project, path)  # what loads can be saved again, and reads back the same
            assert json.dumps(load_project(path).to_dict()) == json.dumps(project.to_dict())

    try:
        check()
    finally:
        path.write_bytes(original)
    tally.report(at_least=300)


# --- the run log --------------------------------------------------------------------------------

RECORDS = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=12).filter(lambda i: i == i.strip())},  # ids are never blank-edged
    optional={
        "prompt": st.text(ANY_CHARACTER, max_size=40),  # \u2028, \x85 and friends: line breaks to splitlines
        "rating": JSON_VALUES,
        "settings": JSON_VALUES,
        "size": JSON_VALUES,
        "scheduler": JSON_VALUES,
        "steps": JSON_VALUES,
    },
)
JUNK_LINES = st.one_of(
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ").replace(b"\r", b" ")),
    st.text(ANY_CHARACTER, max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass").replace(b"\n", b" ")
                                             .replace(b"\r", b" ")),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.just(nested(100_000).encode()),
    st.just(b"1" * 5000),
)


def test_run_logs_with_junk_lines_keep_every_record(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tally = Tally("read_log(records mixed with junk, truncated last line)")
    log_path = tmp_path / "runs.jsonl"

    @fuzz(250)
    @given(
        lines=st.lists(RECORDS.map(lambda r: ("record", r)) | JUNK_LINES.map(lambda j: ("junk", j)), max_size=8),
        cut_last=st.none() | st.tuples(RECORDS, st.integers(1, 10_000)),
        rating=st.integers(1, 5),
    )
    def check(lines: list[tuple[str, object]], cut_last: tuple[dict, int] | None, rating: int) -> None:
        log_path.unlink(missing_ok=True)
        for kind, value in lines:
            if kind == "record":
                append_record(log_path, value)
            else:
                with open(log_path, "ab") as handle:
                    handle.write(value + b"\n")
        if cut_last is not None:  # the process died while appending this one
            scratch = log_path.with_name("scratch.jsonl")
            scratch.unlink(missing_ok=True)
            append_record(scratch, cut_last[0])
            full_line = scratch.read_bytes()
            with open(log_path, "ab") as handle:
                handle.write(full_line[: min(cut_last[1], len(full_line) - 2)])
        written = log_path.read_bytes() if log_path.exists() else b""
        records = [v for kind, v in lines if kind == "record"]
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="hear2see_desktop.core.runlog"):
            run_log = read_log(log_path)
        # Every intact record comes back, in order (a junk line that happens to be a record may sit among them).
        found = iter(run_log.records)
        assert all(any(json.dumps(r) == json.dumps(record) for r in found) for record in records)  # NaN != NaN
        assert len(run_log.skipped_lines) == len(caplog.records)
        if cut_last is not None:
            assert run_log.skipped_lines and run_log.skipped_lines[-1] == written.count(b"\n") + 1
        tally(f"skipped {min(len(run_log.skipped_lines), 3)}+ lines" if run_log.skipped_lines else "clean")
        mean_ratings(run_log.records)  # the ratings summary copes with whatever the records hold
        for record in run_log.records:
            outcome_of(lambda record=record: find_record(log_path, str(record["id"])), Tally("find"))
        if records:
            _rate_keeps_other_lines(log_path, written, records[-1], rating)
        append_record(log_path, {"id": "after-the-crash"})
        assert read_log(log_path).records[-1] == {"id": "after-the-crash"}

    check()
    tally.report(at_least=250)


def _rate_keeps_other_lines(log_path: Path, written: bytes, record: dict, rating: int) -> None:
    """Rating a run appends one line; every line before it, readable or not, stays byte for byte."""
    target = find_record(log_path, str(record["id"]))
    rated = rate_run(log_path, str(target["id"]), rating)
    assert rated["rating"] == rating
    assert find_record(log_path, str(target["id"]))["rating"] == rating
    after = log_path.read_bytes()
    kept = written if not written or written.endswith(b"\n") else written + b"\n"  # a cut line is ended first
    assert after.startswith(kept) and after[len(kept):].count(b"\n") == 1
