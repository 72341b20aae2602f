"""The eval job: the numbers the paper reports (AV-Align, CLIPSIM) plus flicker, FVD and IS, for one MP4.

AV-Align is the TempoTokens reference's number (`result.av_align.score`), with the stricter
one-to-one variant beside it (`result.av_align.one_to_one.score`); the result is an `EvalResult`.

Frames are decoded again for each video metric rather than held in memory, so a long clip costs time,
not RAM. CLIPSIM runs only with a local CLIP model. FVD and IS run only with a reference set (--reference)
and their TorchScript feature models on disk (`metrics.feature_models`); when either is missing the
result's `fvd` / `inception_score` is None and a note says why. The reference folder and the model files
are checked before any metric runs, so a bad path fails at once rather than after minutes of work.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError, Fix, Sentence
from hear2see_desktop.core.eval_result import EvalResult, RunLink
from hear2see_desktop.core.hashing import sha256_file
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled
from hear2see_desktop.core.metrics.clipsim import find_clip_model, load_clip
from hear2see_desktop.core.metrics.feature_models import (
    I3D_FILE,
    INCEPTION_FILE,
    find_feature_model,
    load_feature_model,
    missing_model_note,
)
from hear2see_desktop.core.metrics.flicker import flicker
from hear2see_desktop.core.metrics.fvd import fvd
from hear2see_desktop.core.metrics.inception_score import inception_scores
from hear2see_desktop.core.metrics.reference_set import reference_frames, reference_sequences, scan_reference_set
from hear2see_desktop.core.metrics.scene_following import follow_scenes
from hear2see_desktop.core.run_record import RunRecord
from hear2see_desktop.core.runlog import read_log

if TYPE_CHECKING:
    from hear2see_desktop.core.metrics.clipsim import ClipSimResult
    from hear2see_desktop.core.metrics.fvd import FvdResult
    from hear2see_desktop.core.metrics.inception_score import InceptionScoreResult
    from hear2see_desktop.core.metrics.reference_set import ReferenceSet
    from hear2see_desktop.core.metrics.scene_following import SceneFollowing


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
        feature_models: Path | None = None,
    ) -> None:
        self.video_path = video_path
        self.audio_path = audio_path
        self.text = text
        self.clip_model = clip_model
        self.reference_dir = reference_dir
        self.runs_log = runs_log
        self.feature_models = feature_models

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> EvalResult:
        from hear2see_desktop.core.audio import load_audio
        from hear2see_desktop.core.metrics.av_align import av_align
        from hear2see_desktop.core.video import probe_video, read_frames

        info = probe_video(self.video_path)
        if info.frame_count < 1:
            raise BadInputError(f"{self.video_path.name} has no video frames to evaluate.")
        if self.audio_path is None and not info.has_audio:
            raise BadInputError(f"{self.video_path.name} has no sound track: give the narration with ", Fix("audio"),
                                ".")
        notes: list[Sentence] = []
        record = self._run_record(sha256_file(self.video_path), notes)
        text = self.text or (record.prompt if record is not None else "")
        reference = None if self.reference_dir is None else scan_reference_set(self.reference_dir)
        i3d = None if reference is None else self._feature_model(I3D_FILE)
        inception = None if reference is None else self._feature_model(INCEPTION_FILE)
        total = 4 if reference is None else 6

        progress(0, total, "Reading the audio", None)
        audio = load_audio(self.audio_path or self.video_path, sample_rate_hz=None)  # AV-Align resamples as librosa
        raise_if_cancelled(cancelled)
        progress(1, total, "AV-Align: onsets and optical flow", None)
        alignment = av_align(audio, read_frames(self.video_path), info.fps)
        if alignment.note:
            notes.append(Sentence.of(f"AV-Align: {alignment.note}."))
        raise_if_cancelled(cancelled)
        progress(2, total, "Flicker", None)
        steadiness = flicker(read_frames(self.video_path))
        raise_if_cancelled(cancelled)
        progress(3, total, "CLIPSIM", None)
        clipsim = self._clipsim(text, notes)
        following = self._scene_following(record, info.fps, notes) if self.text is None else None
        fvd_result: FvdResult | None = None
        inception_result: InceptionScoreResult | None = None
        if reference is None:
            notes.append(Sentence.of("FVD and IS: not computed without a reference set (give one with ",
                                     Fix("reference"), ")."))
        else:
            raise_if_cancelled(cancelled)
            progress(4, total, "FVD: I3D features of 16-frame clips", None)
            fvd_result = self._fvd(i3d, reference, notes, cancelled)
            raise_if_cancelled(cancelled)
            progress(5, total, "IS: Inception class probabilities", None)
            inception_result = self._inception_score(inception, reference, notes, cancelled)
        progress(total, total, "Done", None)
        run = None if record is None else RunLink(record.id, record.timings_s, record.unet_evaluations)
        return EvalResult(video=str(self.video_path), frames=info.frame_count, fps=info.fps,
                          duration_s=info.duration_s, av_align=alignment, flicker=steadiness, clipsim=clipsim,
                          scene_following=following, fvd=fvd_result, inception_score=inception_result, text=text,
                          run=run, notes=notes)

    def _run_record(self, video_sha: str, notes: list[Sentence]) -> RunRecord | None:
        """The logged run that produced exactly this file, if any (matched by SHA-256)."""

        log_path = self.runs_log or paths.runs_log_path()
        for data in reversed(read_log(log_path).records):
            output = data.get("output")
            if isinstance(output, dict) and output.get("sha256") == video_sha:
                try:
                    return RunRecord.from_dict(data)
                except BadInputError as error:
                    notes.append(Sentence.of("Run log: ", *error.parts))
                    return None
        return None

    def _clipsim(self, text: str, notes: list[Sentence]) -> ClipSimResult | None:
        from hear2see_desktop.core.video import read_frames

        if not text.strip():
            notes.append(Sentence.of("CLIPSIM: no text to compare with (give one with ", Fix("text"),
                                     ", or evaluate a logged render)."))
            return None
        folder = find_clip_model(self.clip_model)
        if folder is None:
            notes.append(Sentence.of("CLIPSIM: no CLIP model found (looked at ", Fix("clip_model"),
                                     f", HEAR2SEE_CLIP_MODEL and {paths.models_dir() / 'clip'})."))
            return None
        return load_clip(folder).clipsim(read_frames(self.video_path), text)

    def _scene_following(self, record: RunRecord | None, fps: float, notes: list[Sentence]) -> SceneFollowing | None:
        """Each frame judged against the logged run's scene prompts: does the video follow the narration?"""
        from hear2see_desktop.core.video import read_frames

        scenes = record.storyboard.scenes if record is not None and record.storyboard is not None else []
        folder = find_clip_model(self.clip_model)
        if not scenes or folder is None:
            if record is not None and folder is not None:
                notes.append(Sentence.of("Scene-following: the logged run has no storyboard (one prompt for the whole "
                                         "clip)."))
            return None
        assert record is not None
        return follow_scenes(load_clip(folder), list(read_frames(self.video_path)), fps,
                             [(scene.start_s, scene.prompt) for scene in scenes], record.keyframe_times_s,
                             nearest_starts=record.settings.plan_version == 1)

    def _feature_model(self, file_name: str) -> tuple[Any, Path] | None:
        """(loaded model, its path) for a feature model file, None when no searched folder has it."""

        path = find_feature_model(file_name, self.feature_models)
        return None if path is None else (load_feature_model(path), path)

    def _fvd(self, i3d: tuple[Any, Path] | None, reference: ReferenceSet, notes: list[Sentence],
             cancelled: CancelledFn) -> FvdResult | None:
        from hear2see_desktop.core.video import read_frames

        if i3d is None:
            notes.append(Sentence.of(missing_model_note("FVD", "I3D", I3D_FILE, self.feature_models)))
            return None
        detector, path = i3d
        result = fvd(detector, read_frames(self.video_path), reference_sequences(reference), model=str(path),
                     cancelled=cancelled)
        if result.note:
            notes.append(Sentence.of(f"FVD: {'not computed: ' if result.score is None else ''}{result.note}."))
        return result

    def _inception_score(self, inception: tuple[Any, Path] | None, reference: ReferenceSet, notes: list[Sentence],
                         cancelled: CancelledFn) -> InceptionScoreResult | None:
        from hear2see_desktop.core.video import read_frames

        if inception is None:
            notes.append(Sentence.of(missing_model_note("IS", "Inception", INCEPTION_FILE, self.feature_models)))
            return None
        detector, path = inception
        result = inception_scores(detector, read_frames(self.video_path), reference_frames(reference),
                                  model=str(path), cancelled=cancelled)
        if result.note:
            notes.append(Sentence.of(f"IS: {result.note}."))
        return result
