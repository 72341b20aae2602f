"""Writing the MP4: H.264 yuv420p with AAC narration, exact frame counts, and nothing left on failure."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.audio import Audio, load_audio
from hear2see_desktop.core.errors import BadInputError, CancelledError, RenderFailedError
from hear2see_desktop.core.frame_timing import frame_count, frame_schedule
from hear2see_desktop.core.video import VideoWriter, probe_video, read_frames
from tests.speech import ffmpeg_encode, speak, tone

COLOURS = np.array(
    [[220, 40, 40], [40, 200, 60], [30, 60, 220], [240, 220, 40], [120, 120, 120], [250, 250, 250]],
    dtype=np.uint8,
)


def solid(colour: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
    return np.broadcast_to(colour, (height_px, width_px, 3)).copy()


def narration(seconds: float = 2.0) -> Audio:
    t = np.arange(int(seconds * 16000)) / 16000
    return Audio((0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32))


def write_clip(
    out: Path, width_px: int, height_px: int, fps: float, audio: Audio | None, n_images: int = 3
) -> list[int]:
    duration_s = audio.duration_s if audio is not None else 1.0
    schedule = frame_schedule(duration_s, fps, n_images)
    with VideoWriter(out, width_px, height_px, fps, audio=audio, preset="veryfast") as writer:
        for image_index in schedule:
            writer.write_frame(solid(COLOURS[image_index], width_px, height_px))
    return schedule


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_video_is_h264_yuv420p_with_aac_narration_and_exact_frames(tmp_path: Path) -> None:
    audio = narration(2.0)
    out = tmp_path / "story.mp4"
    schedule = write_clip(out, 64, 48, 12, audio)

    info = probe_video(out)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.width, info.height) == (64, 48)
    assert info.fps == pytest.approx(12)
    assert info.frame_count == len(schedule) == 24
    assert abs(info.duration_s - audio.duration_s) <= 1 / 12
    assert info.has_audio and info.audio_codec == "aac"
    assert leftovers(tmp_path) == ["story.mp4"]


def test_spoken_narration_file_is_muxed_and_duration_matches(tmp_path: Path) -> None:
    speech_path = speak("The lighthouse blinks over a calm grey sea.", tmp_path / "narration.wav")
    audio = load_audio(speech_path)
    fps = 10
    n_frames = frame_count(audio.duration_s, fps)
    out = tmp_path / "sea.mp4"
    with VideoWriter(out, 48, 32, fps, audio_path=speech_path, preset="veryfast") as writer:
        for image_index in frame_schedule(audio.duration_s, fps, 2):
            writer.write_frame(solid(COLOURS[image_index], 48, 32))

    info = probe_video(out)
    assert info.frame_count == n_frames
    assert abs(info.duration_s - audio.duration_s) <= 1 / fps
    assert info.audio_codec == "aac"


def test_mp3_narration_is_accepted_as_audio_path(tmp_path: Path) -> None:
    mp3 = ffmpeg_encode(tone(tmp_path / "t.wav", 1.0), tmp_path / "t.mp3", "-c:a", "libmp3lame")
    out = tmp_path / "clip.mp4"
    with VideoWriter(out, 32, 32, 8, audio_path=mp3, preset="ultrafast") as writer:
        for _ in range(8):
            writer.write_frame(solid(COLOURS[0], 32, 32))
    info = probe_video(out)
    assert info.frame_count == 8 and info.audio_codec == "aac"


def test_frames_decode_back_in_order_with_their_colours(tmp_path: Path) -> None:
    out = tmp_path / "colours.mp4"
    schedule = write_clip(out, 64, 64, 12, narration(1.5), n_images=len(COLOURS))

    decoded = list(read_frames(out))
    assert len(decoded) == len(schedule)
    for frame, image_index in zip(decoded, schedule, strict=True):
        assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8
        error = np.abs(frame.astype(int) - COLOURS[image_index].astype(int)).max()
        assert error <= 4, f"frame showing image {image_index} is off by {error} levels"


@pytest.mark.parametrize(("width_px", "height_px"), [(33, 17), (64, 17), (33, 64)])
def test_odd_sizes_are_padded_to_even_by_repeating_the_edge(tmp_path: Path, width_px: int, height_px: int) -> None:
    out = tmp_path / "odd.mp4"
    rng = np.random.default_rng(3)
    frame = np.zeros((height_px, width_px, 3), dtype=np.uint8)
    frame[:, : width_px // 2] = COLOURS[0]
    frame[:, width_px // 2 :] = COLOURS[2]
    frame[: height_px // 2] //= 2 + int(rng.integers(0, 2))
    with VideoWriter(out, width_px, height_px, 6, preset="ultrafast") as writer:
        assert (writer.width_px, writer.height_px) == (width_px + width_px % 2, height_px + height_px % 2)
        for _ in range(6):
            writer.write_frame(frame)

    info = probe_video(out)
    assert (info.width, info.height) == (width_px + width_px % 2, height_px + height_px % 2)
    assert info.frame_count == 6 and not info.has_audio and info.audio_codec is None
    decoded = next(iter(read_frames(out)))
    # Compare away from colour edges: 4:2:0 chroma blurs across 2-pixel blocks.
    assert np.abs(decoded[-1, -1].astype(int) - frame[-1, -1]).max() <= 6
    assert np.abs(decoded[2, 2].astype(int) - frame[2, 2]).max() <= 6


def test_fractional_fps_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "ntsc.mp4"
    with VideoWriter(out, 32, 32, 29.97, preset="ultrafast") as writer:
        for _ in range(30):
            writer.write_frame(solid(COLOURS[1], 32, 32))
    info = probe_video(out)
    assert info.fps == pytest.approx(29.97, abs=0.01)
    assert info.frame_count == 30


def test_nothing_appears_under_the_final_name_until_close(tmp_path: Path) -> None:
    out = tmp_path / "story.mp4"
    writer = VideoWriter(out, 32, 32, 8, preset="ultrafast")
    writer.write_frame(solid(COLOURS[0], 32, 32))
    deadline = time.monotonic() + 10
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.01)  # ffmpeg opens its output once the first frame reaches it
    assert not out.exists()
    (part,) = tmp_path.iterdir()
    assert part.name.startswith(".story.mp4.part-") and part.suffix == ".mp4"
    assert writer.close() == out
    assert leftovers(tmp_path) == ["story.mp4"]
    assert writer.close() == out  # a second close is harmless


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt(), CancelledError()])
def test_an_exception_mid_write_leaves_no_file_and_no_temp(tmp_path: Path, error: BaseException) -> None:
    out = tmp_path / "story.mp4"
    with pytest.raises(type(error)):
        with VideoWriter(out, 64, 48, 12, audio=narration(1.0), preset="ultrafast") as writer:
            for _ in range(5):
                writer.write_frame(solid(COLOURS[0], 64, 48))
            raise error
    assert leftovers(tmp_path) == []
    assert writer._proc is not None and writer._proc.poll() is not None, "ffmpeg must not outlive the writer"


def test_an_existing_video_survives_a_failed_rewrite(tmp_path: Path) -> None:
    out = tmp_path / "story.mp4"
    write_clip(out, 32, 32, 4, None)
    before = out.read_bytes()
    with pytest.raises(CancelledError):
        with VideoWriter(out, 32, 32, 4, preset="ultrafast") as writer:
            writer.write_frame(solid(COLOURS[3], 32, 32))
            raise CancelledError()
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == ["story.mp4"]


def test_ffmpeg_failure_is_one_sentence_for_the_user_and_details_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_audio = tmp_path / "narration.wav"
    not_audio.write_text("this is not audio\n")
    out = tmp_path / "story.mp4"
    caplog.set_level(logging.ERROR, logger="hear2see_desktop.core.video")

    with pytest.raises(RenderFailedError) as raised:
        with VideoWriter(out, 32, 32, 8, audio_path=not_audio, preset="ultrafast") as writer:
            for _ in range(8):
                writer.write_frame(solid(COLOURS[0], 32, 32))

    message = str(raised.value)
    assert "\n" not in message and message.endswith(".") and "story.mp4" in message
    assert not re.search(r"[.;!?]\s+[A-Z]", message), message
    assert "narration.wav" in caplog.text, "the log should keep ffmpeg's own words"
    assert leftovers(tmp_path) == ["narration.wav"]


def test_wrong_frame_shape_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    out = tmp_path / "story.mp4"
    with pytest.raises(ValueError, match="shape"):
        with VideoWriter(out, 32, 32, 8, preset="ultrafast") as writer:
            writer.write_frame(np.zeros((32, 31, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        with VideoWriter(out, 32, 32, 8, preset="ultrafast") as writer:
            writer.write_frame(np.zeros((32, 32, 3), dtype=np.float32))
    assert leftovers(tmp_path) == []


def test_closing_without_frames_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no frames"):
        with VideoWriter(tmp_path / "empty.mp4", 32, 32, 8, preset="ultrafast"):
            pass
    assert leftovers(tmp_path) == []


def test_missing_narration_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no narration file"):
        VideoWriter(tmp_path / "story.mp4", 32, 32, 8, audio_path=tmp_path / "gone.wav")
    assert leftovers(tmp_path) == []


def test_output_folder_is_created(tmp_path: Path) -> None:
    out = tmp_path / "renders" / "today" / "story.mp4"
    write_clip(out, 32, 32, 4, None)
    assert probe_video(out).frame_count == 4


def test_probe_refuses_files_that_are_not_video(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(BadInputError, match="not a video"):
        probe_video(text)
    audio_only = ffmpeg_encode(tone(tmp_path / "t.wav", 0.5), tmp_path / "t.m4a", "-c:a", "aac")
    with pytest.raises(BadInputError, match="no video stream"):
        probe_video(audio_only)
    with pytest.raises(BadInputError, match="no video file"):
        probe_video(tmp_path / "missing.mp4")


# --- frame_schedule ---------------------------------------------------------------------------------------


def test_frame_count_rounds_half_up_and_is_at_least_one() -> None:
    assert frame_count(2.0, 12) == 24
    assert frame_count(2.5, 1) == 3  # Python's round() would give 2
    assert frame_count(0.1, 30) == 3
    assert frame_count(1.04, 12) == 12  # 12.48 -> 12
    assert frame_count(1.05, 12) == 13  # 12.6 -> 13
    assert frame_count(0.0, 24) == 1
    assert frame_count(0.01, 8) == 1
    with pytest.raises(ValueError):
        frame_count(1.0, 0)


def test_frame_schedule_holds_images_evenly_and_in_order() -> None:
    for fps in (1, 8, 12, 24, 29.97):
        for duration_s in (0.05, 0.5, 1.0, 2.9, 7.3, 12.0):
            for n_images in (1, 2, 3, 5, 8, 30):
                schedule = frame_schedule(duration_s, fps, n_images)
                n_frames = frame_count(duration_s, fps)
                assert len(schedule) == n_frames
                assert schedule[0] == 0
                assert all(0 <= i < n_images for i in schedule)
                assert all(b - a in (0, 1) or n_images > n_frames for a, b in zip(schedule, schedule[1:], strict=False))
                assert schedule == sorted(schedule)
                if n_frames >= n_images:
                    assert set(schedule) == set(range(n_images)), "every image is shown"
                    assert schedule[-1] == n_images - 1
                    holds = [schedule.count(i) for i in range(n_images)]
                    assert max(holds) - min(holds) <= 1, f"uneven holds {holds}"
                else:
                    assert len(set(schedule)) == n_frames, "each frame shows a different image"


def test_frame_schedule_examples() -> None:
    assert frame_schedule(1.0, 6, 3) == [0, 0, 1, 1, 2, 2]
    assert frame_schedule(1.0, 7, 3) == [0, 0, 0, 1, 1, 2, 2]
    assert frame_schedule(2.0, 2, 1) == [0, 0, 0, 0]
    assert frame_schedule(0.0, 24, 4) == [0]
    with pytest.raises(ValueError):
        frame_schedule(1.0, 12, 0)
