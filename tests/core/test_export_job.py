"""Exports from the Export dialog: the MP4, the frames as PNGs, the transcript as text; cancel leaves nothing."""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hear2see_desktop.core.errors import BadInputError, CancelledError
from hear2see_desktop.core.export_job import EXPORT_KINDS, ExportJob, format_time, transcript_text
from hear2see_desktop.core.jobs import never_cancelled
from hear2see_desktop.core.transcript import Transcript, Word


class Progress:
    """Records every progress call, like the GUI's progress bar would see them."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []

    def __call__(self, done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
        self.calls.append((done, total, message))


def cancel_after(n_checks: int):
    """A cancel check that says "stop" from its `n_checks`-th call on."""
    count = 0

    def cancelled() -> bool:
        nonlocal count
        count += 1
        return count >= n_checks

    return cancelled


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def mp4(tmp_path: Path) -> Path:
    """Stand-in bytes for a rendered video: 3.5 chunks of 64 KiB with a recognisable pattern."""
    path = tmp_path / "render" / "clip.mp4"
    path.parent.mkdir()
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 7 * 32 * 1024, dtype=np.uint8).tobytes())
    return path


@pytest.fixture
def transcript() -> Transcript:
    return Transcript(
        text="A red fox runs.",
        words=[Word("A", 0.1, 0.2, 0.9), Word("red", 1.2, 1.5, 0.8), Word("fox", 61.005, 62.999, 1.0)],
    )


def test_mp4_export_copies_the_video_and_reports_bytes(tmp_path: Path, mp4: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    progress = Progress()
    result = ExportJob.mp4_file(mp4, out / "fox.mp4").run(progress, never_cancelled)

    assert result.kind == "mp4" and result.paths == [out / "fox.mp4"]
    assert (out / "fox.mp4").read_bytes() == mp4.read_bytes()
    total = mp4.stat().st_size
    assert progress.calls[0][:2] == (0, total) and progress.calls[-1][:2] == (total, total)
    assert leftovers(out) == ["fox.mp4"]


def test_cancelling_an_mp4_export_leaves_nothing(tmp_path: Path, mp4: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    job = ExportJob("mp4", out / "fox.mp4", mp4=mp4, chunk_bytes=64 * 1024)
    with pytest.raises(CancelledError):
        job.run(Progress(), cancel_after(3))
    assert leftovers(out) == []


def test_cancelled_export_keeps_an_older_file_under_the_name_intact(tmp_path: Path, mp4: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "fox.mp4").write_bytes(b"the earlier export")
    with pytest.raises(CancelledError):
        ExportJob("mp4", out / "fox.mp4", mp4=mp4, chunk_bytes=64 * 1024).run(Progress(), cancel_after(2))
    assert (out / "fox.mp4").read_bytes() == b"the earlier export"
    assert leftovers(out) == ["fox.mp4"]


def test_mp4_export_onto_itself_is_harmless(mp4: Path) -> None:
    before = mp4.read_bytes()
    ExportJob.mp4_file(mp4, mp4).run(Progress(), never_cancelled)
    assert mp4.read_bytes() == before


def test_frames_export_from_pngs_and_arrays(tmp_path: Path) -> None:
    pngs = tmp_path / "pngs"
    pngs.mkdir()
    first = pngs / "frame_0007.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(first)
    second = np.zeros((8, 8, 3), dtype=np.uint8)
    second[..., 1] = 200
    jpeg = pngs / "third.jpg"
    Image.new("RGB", (8, 8), (0, 0, 255)).save(jpeg)
    out = tmp_path / "out"
    out.mkdir()
    progress = Progress()

    result = ExportJob.frame_images([first, second, jpeg], out).run(progress, never_cancelled)

    assert result.paths == [out / "frame_0001.png", out / "frame_0002.png", out / "frame_0003.png"]
    assert leftovers(out) == ["frame_0001.png", "frame_0002.png", "frame_0003.png"]
    assert (out / "frame_0001.png").read_bytes() == first.read_bytes()
    assert np.array_equal(np.asarray(Image.open(out / "frame_0002.png")), second)
    with Image.open(out / "frame_0003.png") as third:
        assert third.format == "PNG" and third.size == (8, 8)
    assert [c[:2] for c in progress.calls] == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_cancelling_a_frames_export_leaves_no_frame(tmp_path: Path) -> None:
    frames = [np.full((8, 8, 3), i * 40, dtype=np.uint8) for i in range(5)]
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(CancelledError):
        ExportJob.frame_images(frames, out).run(Progress(), cancel_after(4))
    assert leftovers(out) == []


def test_transcript_export_plain_text(tmp_path: Path, transcript: Transcript) -> None:
    target = tmp_path / "fox.txt"
    progress = Progress()
    ExportJob.transcript_text(transcript, target).run(progress, never_cancelled)
    assert target.read_text(encoding="utf-8") == "A red fox runs.\n"
    assert progress.calls[-1][0] == progress.calls[-1][1] == len("A red fox runs.\n")


def test_transcript_export_with_word_times(tmp_path: Path, transcript: Transcript) -> None:
    target = tmp_path / "fox-words.txt"
    ExportJob.transcript_text(transcript, target, word_times=True).run(Progress(), never_cancelled)
    assert target.read_text(encoding="utf-8").splitlines() == [
        "[00:00.10 - 00:00.20] A",
        "[00:01.20 - 00:01.50] red",
        "[01:01.00 - 01:03.00] fox",
    ]


def test_word_times_need_words() -> None:
    with pytest.raises(BadInputError, match="no word times"):
        transcript_text(Transcript(text="typed by hand"), word_times=True)


def test_time_format() -> None:
    assert format_time(0) == "00:00.00"
    assert format_time(1.2) == "00:01.20"
    assert format_time(59.999) == "01:00.00"
    assert format_time(-3) == "00:00.00"
    assert format_time(3725.5) == "62:05.50"


def test_cancelling_a_transcript_export_leaves_nothing(tmp_path: Path, transcript: Transcript) -> None:
    with pytest.raises(CancelledError):
        ExportJob.transcript_text(transcript, tmp_path / "fox.txt").run(Progress(), cancel_after(1))
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", EXPORT_KINDS)
def test_a_missing_target_folder_is_one_sentence(tmp_path: Path, mp4: Path, transcript: Transcript, kind: str) -> None:
    missing = tmp_path / "no-such-folder"
    job = {
        "mp4": ExportJob.mp4_file(mp4, missing / "fox.mp4"),
        "frames": ExportJob.frame_images([np.zeros((4, 4, 3), np.uint8)], missing),
        "transcript": ExportJob.transcript_text(transcript, missing / "fox.txt"),
        "subtitles": ExportJob.subtitles(transcript, missing / "fox.srt"),
    }[kind]
    with pytest.raises(BadInputError, match="does not exist") as error:
        job.run(Progress(), never_cancelled)
    assert str(error.value).count(". ") == 0 and str(error.value).endswith(".")


def test_a_missing_source_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="is gone"):
        ExportJob.mp4_file(tmp_path / "never-rendered.mp4", tmp_path / "out.mp4").run(Progress(), never_cancelled)
    with pytest.raises(BadInputError, match="is gone"):
        ExportJob.frame_images([tmp_path / "frame_0001.png"], tmp_path).run(Progress(), never_cancelled)
    assert leftovers(tmp_path) == []


def test_a_target_that_is_a_folder_is_refused(tmp_path: Path, mp4: Path) -> None:
    (tmp_path / "fox.mp4").mkdir()
    with pytest.raises(BadInputError, match="is a folder"):
        ExportJob.mp4_file(mp4, tmp_path / "fox.mp4").run(Progress(), never_cancelled)


def test_a_target_inside_a_file_is_refused(tmp_path: Path, transcript: Transcript) -> None:
    (tmp_path / "plain-file").write_text("not a folder")
    with pytest.raises(BadInputError):
        ExportJob.transcript_text(transcript, tmp_path / "plain-file" / "fox.txt").run(Progress(), never_cancelled)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_one_sentence(tmp_path: Path, mp4: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(BadInputError, match="could not be written"):
            ExportJob.mp4_file(mp4, locked / "fox.mp4").run(Progress(), never_cancelled)
    finally:
        locked.chmod(0o700)


def test_an_unknown_kind_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ExportJob("srt", tmp_path / "x.srt")
    with pytest.raises(ValueError):
        ExportJob("mp4", tmp_path / "x.mp4")  # no source given


# ----------------------------------------------------------------------------------------------
# Subtitles


@pytest.fixture
def spoken() -> Transcript:
    """Two sentences with a pause between them, as the recogniser gives them."""
    words = [Word("A", 0.1, 0.2, 0.9), Word("red", 0.25, 0.5, 0.9), Word("fox", 0.55, 0.9, 0.9),
             Word("runs.", 0.95, 1.3, 0.9), Word("Snow", 2.4, 2.7, 0.9), Word("<falls>", 2.75, 3.2, 0.9)]
    return Transcript(text="A red fox runs. Snow <falls>", words=words)


def test_srt_export_parses_with_the_srt_package(tmp_path: Path, spoken: Transcript) -> None:
    import srt

    target = tmp_path / "fox.srt"
    progress = Progress()
    result = ExportJob.subtitles(spoken, target).run(progress, never_cancelled)

    assert result.kind == "subtitles" and result.paths == [target]
    cues = list(srt.parse(target.read_text(encoding="utf-8")))
    assert [cue.content for cue in cues] == ["A red fox runs.", "Snow <falls>"]
    assert cues[0].start.total_seconds() == pytest.approx(0.1)
    assert cues[1].end.total_seconds() == pytest.approx(3.2)
    assert progress.calls[-1][2] == "Writing the subtitles" and progress.calls[-1][0] == progress.calls[-1][1]
    assert leftovers(tmp_path) == ["fox.srt"]


def test_vtt_export_parses_with_webvtt(tmp_path: Path, spoken: Transcript) -> None:
    import webvtt

    target = tmp_path / "fox.vtt"
    ExportJob.subtitles(spoken, target).run(Progress(), never_cancelled)

    captions = webvtt.read(str(target))
    # "<" is markup in WebVTT, so it is written as a character reference (webvtt-py leaves those as they are).
    assert [html.unescape(caption.text) for caption in captions] == ["A red fox runs.", "Snow <falls>"]
    assert captions[0].start == "00:00:00.100" and captions[1].end == "00:00:03.200"
    assert leftovers(tmp_path) == ["fox.vtt"]


def test_subtitles_need_word_times_and_a_subtitle_suffix(tmp_path: Path) -> None:
    typed = Transcript(text="typed by hand")
    with pytest.raises(BadInputError, match="no word times") as error:
        ExportJob.subtitles(typed, tmp_path / "fox.srt").run(Progress(), never_cancelled)
    assert str(error.value).count(". ") == 0
    spoken = Transcript(text="fox", words=[Word("fox", 0.0, 0.5, 1.0)])
    with pytest.raises(BadInputError, match=r"must end in \.srt, \.vtt or \.ass"):
        ExportJob.subtitles(spoken, tmp_path / "fox.txt").run(Progress(), never_cancelled)
    assert leftovers(tmp_path) == []


def test_cancelling_a_subtitle_export_keeps_the_older_file(tmp_path: Path, spoken: Transcript) -> None:
    target = tmp_path / "fox.vtt"
    target.write_text("the earlier export")
    with pytest.raises(CancelledError):
        ExportJob.subtitles(spoken, target).run(Progress(), cancel_after(2))
    assert target.read_text() == "the earlier export" and leftovers(tmp_path) == ["fox.vtt"]
