"""The eval job: the numbers the paper reports (AV-Align, CLIPSIM) plus flicker, for one MP4.

Frames are decoded twice (once per video metric) rather than held in memory, so a long clip costs
time, not RAM. CLIPSIM runs only with a local CLIP model; FVD and IS only with a reference set and
local feature models, which this version does not have: the result says so plainly.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled


class EvalJob:
    """Evaluate `video_path` against its own narration (or `audio_path`) and a text."""

    def __init__(
        self,
        video_path: Path,
        audio_path: Path | None = None,
        text: str | None = None,
        clip_model: str | None = None,
        reference_dir: Path | None = None,
        runs_log: Path | None = None,
    ) -> None:
        self.video_path = video_path
        self.audio_path = audio_path
        self.text = text
        self.clip_model = clip_model
        self.reference_dir = reference_dir
        self.runs_log = runs_log

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> dict[str, Any]:
        from hear2see_desktop.core.audio import load_audio
        from hear2see_desktop.core.hashing import sha256_file
        from hear2see_desktop.core.metrics.av_align import av_align
        from hear2see_desktop.core.metrics.flicker import flicker
        from hear2see_desktop.core.video import probe_video, read_frames

        info = probe_video(self.video_path)
        if info.frame_count < 1:
            raise BadInputError(f"{self.video_path.name} has no video frames to evaluate.")
        if self.audio_path is None and not info.has_audio:
            raise BadInputError(f"{self.video_path.name} has no sound track: pass the narration with --audio.")
        notes: list[str] = []
        record = self._run_record(sha256_file(self.video_path))
        text = self.text or (record or {}).get("prompt") or ""

        progress(0, 4, "Reading the audio", None)
        audio = load_audio(self.audio_path or self.video_path)
        raise_if_cancelled(cancelled)
        progress(1, 4, "AV-Align: onsets and optical flow", None)
        alignment = av_align(audio, read_frames(self.video_path), info.fps)
        if alignment.note:
            notes.append(f"AV-Align: {alignment.note}.")
        raise_if_cancelled(cancelled)
        progress(2, 4, "Flicker", None)
        steadiness = flicker(read_frames(self.video_path))
        raise_if_cancelled(cancelled)
        progress(3, 4, "CLIPSIM", None)
        clipsim = self._clipsim(text, notes)
        if self.reference_dir is not None:
            notes.append("FVD and IS are not computed: their feature models (I3D, Inception) are not available "
                         "locally in this version.")
        progress(4, 4, "Done", None)
        return {
            "video": str(self.video_path),
            "frames": info.frame_count,
            "fps": info.fps,
            "duration_s": info.duration_s,
            "av_align": asdict(alignment),
            "flicker": asdict(steadiness),
            "clipsim": clipsim,
            "text": text,
            "run": None if record is None else {
                "id": record.get("id"),
                "timings_s": record.get("timings_s"),
                "unet_evaluations": record.get("unet_evaluations"),
            },
            "notes": notes,
        }

    def _run_record(self, video_sha: str) -> dict[str, Any] | None:
        """The logged run that produced exactly this file, if any (matched by SHA-256)."""
        from hear2see_desktop.core.runlog import read_log

        log_path = self.runs_log or paths.runs_log_path()
        for record in reversed(read_log(log_path).records):
            if (record.get("output") or {}).get("sha256") == video_sha:
                return record
        return None

    def _clipsim(self, text: str, notes: list[str]) -> dict[str, Any] | None:
        from hear2see_desktop.core.metrics.clipsim import find_clip_model, load_clip
        from hear2see_desktop.core.video import read_frames

        if not text.strip():
            notes.append("CLIPSIM: no text to compare with (pass --text, or evaluate a logged render).")
            return None
        folder = find_clip_model(self.clip_model)
        if folder is None:
            notes.append(f"CLIPSIM: no CLIP model found (looked at --clip-model, HEAR2SEE_CLIP_MODEL and "
                         f"{paths.models_dir() / 'clip'}).")
            return None
        result = load_clip(folder).clipsim(read_frames(self.video_path), text)
        return asdict(result)
