"""The finished video: frames streamed into an H.264 MP4 with the narration, and a probe to check it.

Frames go to the bundled ffmpeg binary over a pipe as they are rendered, so memory stays flat
however long the clip is. The MP4 appears under its final name only when ffmpeg has finished;
a failure or a cancel leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np

from hear2see_desktop.core.audio import Audio, write_wav
from hear2see_desktop.core.errors import BadInputError, Hear2SeeError, RenderFailedError
from hear2see_desktop.core.ffmpeg import ffmpeg_exe
from hear2see_desktop.core.part_files import part_path, sweep_stale_parts

log = logging.getLogger(__name__)

_STDERR_TAIL_LINES = 25


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, as ffmpeg sees it; `frame_count` is counted by decoding every frame."""

    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    frame_count: int
    duration_s: float
    has_audio: bool
    audio_codec: str | None


class VideoWriter:
    """Stream RGB frames into an H.264 (yuv420p) MP4, with the narration muxed in as AAC.

    Use as a context manager: a clean exit finalises and renames the file into place; any exception
    (KeyboardInterrupt and CancelledError included) kills ffmpeg and deletes the temporary file.
    Odd frame sizes are padded to even ones (H.264 4:2:0 needs them) by repeating the last
    row/column; `width_px`/`height_px` on the writer are the encoded size. The caller writes exactly
    the number of frames the narration needs (see `frame_count`); the audio is not cut to the video.
    """

    def __init__(
        self,
        out_path: str | os.PathLike[str],
        width_px: int,
        height_px: int,
        fps: float,
        audio_path: str | os.PathLike[str] | None = None,
        audio: Audio | None = None,
        *,
        crf: int = 18,
        preset: str = "medium",
        audio_bitrate: str = "96k",
    ) -> None:
        self._closed = True  # until ffmpeg is running there is nothing to finish or abort
        self._proc: subprocess.Popen[bytes] | None = None
        self._audio_tmp: Path | None = None
        self._stderr: IO[bytes] | None = None
        if width_px < 1 or height_px < 1:
            raise ValueError(f"frame size must be positive, got {width_px}x{height_px}")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if audio_path is not None and audio is not None:
            raise ValueError("give audio_path or audio, not both")
        self.out_path = Path(out_path)
        self.fps = fps
        self.frame_width_px, self.frame_height_px = width_px, height_px
        self.width_px, self.height_px = width_px + width_px % 2, height_px + height_px % 2
        self.frames_written = 0

        folder = self.out_path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise BadInputError(f"Cannot create the output folder {folder} ({e.strerror or e}).") from e
        if audio_path is not None and not Path(audio_path).is_file():
            raise BadInputError(f"There is no narration file at {audio_path}; check the path and try again.")
        sweep_stale_parts(folder)  # what a render killed earlier left here (see core/part_files.py)
        self._part_path = part_path(folder / self.out_path.name, keep_suffix=True)
        try:
            if audio is not None:
                fd, tmp_name = tempfile.mkstemp(prefix="hear2see-narration-", suffix=".wav")
                os.close(fd)
                self._audio_tmp = Path(tmp_name)
                write_wav(self._audio_tmp, audio.samples, audio.sample_rate_hz)
                audio_path = self._audio_tmp
            self._stderr = tempfile.TemporaryFile()
            cmd = self._command(audio_path, crf, preset, audio_bitrate)
            log.debug("starting ffmpeg: %s", cmd)
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                **_popen_isolation(),
            )
            self._closed = False
        except OSError as e:
            self.abort()
            raise Hear2SeeError(f"Could not start the video encoder (ffmpeg): {e.strerror or e}.") from e
        except BaseException:
            self.abort()
            raise

    def _command(
        self, audio_path: str | os.PathLike[str] | None, crf: int, preset: str, audio_bitrate: str
    ) -> list[str]:
        rate = Fraction(self.fps).limit_denominator(1_000_000)
        cmd = [
            ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "warning", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.width_px}x{self.height_px}",
            "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0",
        ]  # fmt: skip
        if audio_path is not None:
            cmd += ["-i", str(audio_path), "-map", "0:v:0", "-map", "1:a:0"]
        else:
            cmd += ["-map", "0:v:0"]
        cmd += [
            # BT.709 conversion, tagged, so players show the colours the renderer made.
            "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
            "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
        ]  # fmt: skip
        if audio_path is not None:
            cmd += ["-c:a", "aac", "-b:a", audio_bitrate]
        cmd += ["-movflags", "+faststart", "-f", "mp4", str(self._part_path)]
        return cmd

    def write_frame(self, rgb: np.ndarray) -> None:
        """Send one HxWx3 uint8 RGB frame (H, W as given to the constructor) to the encoder."""
        if self._closed or self._proc is None or self._proc.stdin is None:
            raise RuntimeError("write_frame() after the writer was closed")
        frame = np.asarray(rgb)
        expected = (self.frame_height_px, self.frame_width_px, 3)
        if frame.shape != expected or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 with shape {expected}, got {frame.dtype} {frame.shape}")
        pad_h, pad_w = self.height_px - self.frame_height_px, self.width_px - self.frame_width_px
        if pad_h or pad_w:
            frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).tobytes())
            self._proc.stdin.flush()  # small frames would otherwise wait in Python's buffer
        except OSError as e:  # BrokenPipeError and friends: ffmpeg has gone
            raise self._failure() from e
        self.frames_written += 1

    def close(self) -> Path:
        """Finish encoding and move the MP4 into place; returns the final path."""
        if self._closed:
            return self.out_path
        self._closed = True
        try:
            if self.frames_written == 0:
                raise ValueError("no frames were written; a video needs at least one frame")
            assert self._proc is not None and self._proc.stdin is not None
            try:
                self._proc.stdin.close()
            except OSError:
                pass  # ffmpeg already exited; its exit code and stderr tell why
            return_code = self._proc.wait()
            if return_code != 0:
                raise self._failure()
            os.replace(self._part_path, self.out_path)
        except BaseException:
            self.abort()
            raise
        finally:
            self._release_temporaries()
        return self.out_path

    def abort(self) -> None:
        """Stop ffmpeg and delete the partial file; safe to call more than once."""
        self._closed = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.warning("ffmpeg (pid %s) did not exit after kill", proc.pid)
        if proc is not None and proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        part = getattr(self, "_part_path", None)
        if part is not None:
            part.unlink(missing_ok=True)
        self._release_temporaries()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.abort()

    def _release_temporaries(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._audio_tmp is not None:
            self._audio_tmp.unlink(missing_ok=True)
            self._audio_tmp = None

    def _failure(self) -> RenderFailedError:
        """Wait for ffmpeg, log its stderr tail, clean up, and build the sentence for the user."""
        proc = self._proc
        if proc is not None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        tail = _read_tail(self._stderr) if self._stderr is not None else ""
        code = proc.returncode if proc is not None else None
        log.error("ffmpeg failed writing %s (exit %s):\n%s", self.out_path, code, tail)
        self.abort()
        lowered = tail.lower()
        if "no space left" in lowered:
            reason = "the disk is full; free some space and try again"
        elif "permission denied" in lowered:
            reason = f"permission was denied in {self.out_path.parent}; choose another folder"
        else:
            reason = "the video encoder (ffmpeg) failed; see the log file for details"
        return RenderFailedError(f"Could not write the video {self.out_path.name} because {reason}.")


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Describe a video by decoding it with ffmpeg (there is no ffprobe in imageio-ffmpeg)."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"There is no video file at {path}; check the path and try again.")
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-progress", "pipe:1",
        "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "null", "-",
    ]  # fmt: skip
    result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, check=False, **_popen_isolation())
    stderr = result.stderr.decode("utf-8", "replace")
    progress = result.stdout.decode("utf-8", "replace")
    if result.returncode != 0:
        log.info("ffmpeg could not probe %s:\n%s", path, "\n".join(stderr.splitlines()[-_STDERR_TAIL_LINES:]))
        if "matches no streams" in stderr:
            raise BadInputError(f"{path} has no video stream; choose a video file.")
        raise BadInputError(f"{path} is not a video we can read; choose an MP4 made by HEAR2SEE or another video.")
    return _parse_probe(stderr, progress)


def _parse_probe(stderr: str, progress: str) -> VideoInfo:
    input_part = stderr.split("Stream mapping:")[0].split("Output #0")[0]
    video_match = re.search(r"Stream #0:\d+\S*: Video: (.*)", input_part)
    if video_match is None:
        raise BadInputError("The file has no video stream; choose a video file.")
    fields = _split_top_level(video_match.group(1))
    codec = fields[0].split()[0]
    pix_fmt = fields[1].split("(")[0].strip() if len(fields) > 1 else ""
    sizes = [m for m in (re.fullmatch(r"(\d+)x(\d+)(?: \[.*\])?", item) for item in fields) if m]
    width, height = (int(sizes[0].group(1)), int(sizes[0].group(2))) if sizes else (0, 0)
    fps = _rate_field(fields, "fps") or _rate_field(fields, "tbr") or 0.0
    frames = [int(n) for n in re.findall(r"^frame=\s*(\d+)", progress, flags=re.M)]
    n_frames = frames[-1] if frames else 0
    duration = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", input_part)
    if duration:
        duration_s = int(duration.group(1)) * 3600 + int(duration.group(2)) * 60 + float(duration.group(3))
    else:
        duration_s = n_frames / fps if fps else 0.0
    audio_match = re.search(r"Stream #0:\d+\S*: Audio: (\w+)", input_part)
    return VideoInfo(
        codec=codec,
        pix_fmt=pix_fmt,
        width=width,
        height=height,
        fps=fps,
        frame_count=n_frames,
        duration_s=duration_s,
        has_audio=audio_match is not None,
        audio_codec=audio_match.group(1) if audio_match else None,
    )


def _split_top_level(text: str) -> list[str]:
    """Split ffmpeg's stream description on commas outside parentheses/brackets."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def _rate_field(fields: list[str], unit: str) -> float | None:
    for item in fields:
        match = re.fullmatch(rf"(\d+(?:\.\d+)?)(k?) {unit}(?: \(.*\))?", item)
        if match:
            return float(match.group(1)) * (1000 if match.group(2) else 1)
    return None


def read_frames(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """Decode a video back to HxWx3 uint8 RGB frames, one at a time."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"There is no video file at {path}; check the path and try again.")
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    try:
        meta = next(reader)
        width, height = meta["size"]
        for raw in reader:
            yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


def _read_tail(handle: IO[bytes], max_bytes: int = 16384) -> str:
    handle.flush()
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - max_bytes))
    text = handle.read().decode("utf-8", "replace")
    return "\n".join(text.strip().splitlines()[-_STDERR_TAIL_LINES:])


def _popen_isolation() -> dict[str, object]:
    """Keep ffmpeg out of the terminal's process group (Ctrl-C is ours to handle) and windowless."""
    if sys.platform == "win32":
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        return {"creationflags": flags}
    return {"start_new_session": True}
