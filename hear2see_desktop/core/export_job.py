"""The export job behind the Export dialog: the MP4, the distinct frames as PNGs, the transcript as text,
or subtitles (SRT / WebVTT / ASS) from the recognised words' times, cut into cues as the caption style says.

It follows the job protocol (core/jobs.py), so the GUI runs it in a worker and the window never
blocks. Every file is written to a temporary name in the target folder and renamed only when it
is complete; frames are all renamed together at the end, so a cancel or a failure leaves nothing
under a final name (and no temporary file either).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from hear2see_desktop.core import paths
from hear2see_desktop.core.caption_style import DEFAULT_CAPTION_STYLE, CaptionStyle
from hear2see_desktop.core.errors import BadInputError, CancelledError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled
from hear2see_desktop.core.part_files import part_path, sweep_stale_parts
from hear2see_desktop.core.subtitle_files import subtitle_text
from hear2see_desktop.core.subtitles import SUBTITLE_SUFFIXES, styled_cues
from hear2see_desktop.core.transcript import Transcript

EXPORT_KINDS = ("mp4", "frames", "transcript", "subtitles")
CHUNK_BYTES = 1 << 20
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class ExportResult:
    """What was written: one file for "mp4", "transcript" and "subtitles", every PNG (in order) for "frames"."""

    kind: str
    paths: list[Path] = field(default_factory=list)


class ExportJob:
    """Writes one export; build it with `mp4_file`, `frame_images`, `transcript_text` or `subtitles`.

    `target` is the output file for "mp4", "transcript" and "subtitles", and an existing folder for
    "frames". Progress is in bytes for the files and in files for "frames".
    """

    def __init__(
        self,
        kind: str,
        target: str | os.PathLike[str],
        *,
        mp4: str | os.PathLike[str] | None = None,
        frames: Sequence[str | os.PathLike[str] | np.ndarray] | None = None,
        transcript: Transcript | None = None,
        word_times: bool = False,
        chunk_bytes: int = CHUNK_BYTES,
        style: CaptionStyle = DEFAULT_CAPTION_STYLE,
        size_px: tuple[int, int] = (512, 512),
    ) -> None:
        if kind not in EXPORT_KINDS:
            raise ValueError(f"kind must be one of {EXPORT_KINDS}, got {kind!r}")
        needed = {"mp4": mp4, "frames": frames, "transcript": transcript, "subtitles": transcript}[kind]
        if needed is None:
            source = "transcript" if kind == "subtitles" else kind
            raise ValueError(f'an export of kind "{kind}" needs its {source}= source')
        self.kind = kind
        self.target = Path(target)
        self.mp4 = Path(mp4) if mp4 is not None else None
        self.frames = list(frames) if frames is not None else []
        self.transcript = transcript
        self.word_times = word_times
        self.chunk_bytes = max(1, int(chunk_bytes))
        self.style = style
        self.size_px = size_px

    @classmethod
    def mp4_file(cls, source: str | os.PathLike[str], target: str | os.PathLike[str]) -> ExportJob:
        """Copy a rendered MP4 to `target`."""
        return cls("mp4", target, mp4=source)

    @classmethod
    def frame_images(
        cls, frames: Sequence[str | os.PathLike[str] | np.ndarray], folder: str | os.PathLike[str]
    ) -> ExportJob:
        """Write `frames` (PNG paths or HxWx3 uint8 RGB arrays) as frame_0001.png ... into `folder`."""
        return cls("frames", folder, frames=frames)

    @classmethod
    def transcript_text(
        cls, transcript: Transcript, target: str | os.PathLike[str], word_times: bool = False
    ) -> ExportJob:
        """The transcript as UTF-8 text; with `word_times`, one `[00:01.20 - 00:01.50] word` per line."""
        return cls("transcript", target, transcript=transcript, word_times=word_times)

    @classmethod
    def subtitles(cls, transcript: Transcript, target: str | os.PathLike[str],
                  style: CaptionStyle = DEFAULT_CAPTION_STYLE, size_px: tuple[int, int] = (512, 512)) -> ExportJob:
        """Subtitle cues from the transcript's word times, cut as `style` says, as SubRip, WebVTT or ASS by
        `target`'s suffix (ASS also carries the style, sized for a `size_px` (width, height) video)."""
        return cls("subtitles", target, transcript=transcript, style=style, size_px=size_px)

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> ExportResult:
        # What an export killed earlier left in the same place (see core/part_files.py).
        sweep_stale_parts(self.target if self.kind == "frames" else self.target.parent)
        if self.kind == "mp4":
            return self._export_mp4(progress, cancelled)
        if self.kind == "frames":
            return self._export_frames(progress, cancelled)
        if self.kind == "subtitles":
            return self._export_subtitles(progress, cancelled)
        return self._export_transcript(progress, cancelled)

    # ------------------------------------------------------------------------------------------

    def _export_mp4(self, progress: ProgressFn, cancelled: CancelledFn) -> ExportResult:
        assert self.mp4 is not None
        source = self.mp4
        if not source.is_file():
            raise BadInputError(f"The video {source} is gone: render it again, then export.")
        _check_target_file(self.target)
        if self.target.exists() and self.target.resolve() == source.resolve():
            return ExportResult("mp4", [self.target])  # exporting a file onto itself: nothing to do
        total = source.stat().st_size
        part = _part_name(self.target)
        try:
            with open(source, "rb") as src, _open_part(part, self.target) as dst:
                done = 0
                progress(0, total, "Copying the video", None)
                while chunk := src.read(self.chunk_bytes):
                    raise_if_cancelled(cancelled)
                    dst.write(chunk)
                    done += len(chunk)
                    progress(done, total, "Copying the video", None)
                raise_if_cancelled(cancelled)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(part, self.target)
        except OSError as error:
            part.unlink(missing_ok=True)
            raise _could_not_write(self.target, error) from error
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return ExportResult("mp4", [self.target])

    def _export_frames(self, progress: ProgressFn, cancelled: CancelledFn) -> ExportResult:
        folder = self.target
        if not folder.is_dir():
            raise BadInputError(f"The folder {folder} does not exist: create it or choose another folder.")
        if not self.frames:
            raise BadInputError("There are no rendered frames to export yet: render the video first.")
        for source in self.frames:
            if not isinstance(source, np.ndarray) and not Path(source).is_file():
                raise BadInputError(f"The rendered image {source} is gone: render again, then export.")
        finals = [folder / paths.frame_file_name(index) for index in range(len(self.frames))]
        parts: list[Path] = []
        total = len(self.frames)
        try:
            progress(0, total, "Writing the frames", None)
            for number, (source, final) in enumerate(zip(self.frames, finals, strict=True), start=1):
                raise_if_cancelled(cancelled)
                part = _part_name(final)
                parts.append(part)
                _write_png(source, part, final)
                progress(number, total, "Writing the frames", None)
            raise_if_cancelled(cancelled)
            for part, final in zip(parts, finals, strict=True):  # quick renames, all at the end
                os.replace(part, final)
        except OSError as error:
            _remove(parts)
            raise _could_not_write(folder, error) from error
        except BaseException:
            _remove(parts)
            raise
        return ExportResult("frames", finals)

    def _export_transcript(self, progress: ProgressFn, cancelled: CancelledFn) -> ExportResult:
        assert self.transcript is not None
        _check_target_file(self.target)
        data = transcript_text(self.transcript, self.word_times).encode("utf-8")
        self._write_text(data, "Writing the transcript", progress, cancelled)
        return ExportResult("transcript", [self.target])

    def _export_subtitles(self, progress: ProgressFn, cancelled: CancelledFn) -> ExportResult:

        assert self.transcript is not None
        suffix = self.target.suffix.lower()
        if suffix not in SUBTITLE_SUFFIXES:
            raise BadInputError(f"The subtitle file {self.target.name} must end in .srt, .vtt or .ass.")
        _check_target_file(self.target)
        if not self.transcript.words:
            raise BadInputError("This transcript has no word times (it was typed), so it can't be timed as "
                                "subtitles; transcribe the narration first.")
        cues = styled_cues(self.transcript.words, self.style)
        data = subtitle_text(cues, suffix, self.style, self.size_px).encode("utf-8")
        self._write_text(data, "Writing the subtitles", progress, cancelled)
        return ExportResult("subtitles", [self.target])

    def _write_text(self, data: bytes, message: str, progress: ProgressFn, cancelled: CancelledFn) -> None:
        """`data` under a hidden part name, fsynced, then renamed onto the target unless cancelled."""
        raise_if_cancelled(cancelled)
        part = _part_name(self.target)
        try:
            progress(0, len(data), message, None)
            with _open_part(part, self.target) as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            raise_if_cancelled(cancelled)
            os.replace(part, self.target)
            progress(len(data), len(data), message, None)
        except OSError as error:
            part.unlink(missing_ok=True)
            raise _could_not_write(self.target, error) from error
        except BaseException:
            part.unlink(missing_ok=True)
            raise


def transcript_text(transcript: Transcript, word_times: bool = False) -> str:
    """The text of a TXT export: the transcript's text, or one `[mm:ss.cc - mm:ss.cc] word` per line."""
    if not word_times:
        return transcript.text.strip() + "\n"
    if not transcript.words:
        raise BadInputError("This transcript has no word times (it was typed or edited); export it without word times.")
    lines = [f"[{format_time(w.start)} - {format_time(w.end)}] {w.word}" for w in transcript.words]
    return "\n".join(lines) + "\n"


def format_time(seconds: float) -> str:
    """`mm:ss.cc` (minutes keep counting past 59), rounded to the nearest hundredth of a second."""
    centis = max(0, round(seconds * 100)) if seconds == seconds else 0  # NaN -> 0
    minutes, centis = divmod(centis, 6000)
    return f"{minutes:02d}:{centis // 100:02d}.{centis % 100:02d}"


def _check_target_file(target: Path) -> None:
    if target.is_dir():
        raise BadInputError(f"{target} is a folder: give the export a file name.")
    if not target.parent.is_dir():
        raise BadInputError(f"The folder {target.parent} does not exist: create it or choose another folder.")


def _part_name(final: Path) -> Path:
    """A hidden temporary name beside `final`, so the rename is atomic (same file system)."""
    return part_path(final)


def _open_part(part: Path, final: Path) -> BinaryIO:
    try:
        return open(part, "xb")
    except OSError as error:
        raise _could_not_write(final, error) from error


def _write_png(source: str | os.PathLike[str] | np.ndarray, part: Path, final: Path) -> None:
    """A PNG file is copied byte for byte; an array, or another image format, is encoded as PNG."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim not in (2, 3):
            raise ValueError(f"frames must be HxW or HxWxC uint8 arrays, got {source.dtype} {source.shape}")
        Image.fromarray(source).save(part, format="PNG")
        return
    source = Path(source)
    with open(source, "rb") as src:
        if src.read(len(_PNG_MAGIC)) == _PNG_MAGIC:
            src.seek(0)
            with _open_part(part, final) as dst:
                while chunk := src.read(CHUNK_BYTES):
                    dst.write(chunk)
            return
    try:
        with Image.open(source) as image:
            image.save(part, format="PNG")
    except (UnidentifiedImageError, OSError) as error:
        raise BadInputError(f"{source} is not an image we can read; render the frames again.") from error


def _remove(parts: list[Path]) -> None:
    for part in parts:
        part.unlink(missing_ok=True)


def _could_not_write(target: Path, error: OSError) -> BadInputError:
    reason = error.strerror or str(error)
    return BadInputError(f"{target} could not be written ({reason}): choose a folder you may write to with free space.")


__all__ = ["EXPORT_KINDS", "ExportJob", "ExportResult", "CancelledError", "format_time", "transcript_text"]
