"""`hear2see eval`'s AV-Align against a straightforward reference implementation, on MP4s made here.

The reference below follows TempoTokens' `av_align.py` step by step with the libraries it uses:
OpenCV decodes the MP4 (BGR, full size) and measures Farnebäck flow, librosa loads the narration at
22,050 Hz and finds its onsets. The app's numbers (no librosa, frames from ffmpeg) must agree within
AGREEMENT on every clip: clicks on jumps, speech driving a pan, storyboard stills with flicker, a
29.97 fps pan over noise bursts, and a clip scored from its own AAC sound track.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import imageio_ffmpeg
import librosa
import numpy as np
import pytest
import soundfile as sf
from scipy.ndimage import gaussian_filter, shift

from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.eval_job import EvalJob
from hear2see_desktop.core.video import VideoWriter
from tests.speech import speak

AGREEMENT = 0.01
"""Largest difference allowed between our AV-Align and the reference's (measured: 0)."""


def reference_av_align(video: Path, narration: Path) -> float:
    """AV-Align as the TempoTokens script computes it, with librosa and OpenCV."""
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    grays = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        grays.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    capture.release()

    def mean_flow(first: np.ndarray, second: np.ndarray) -> float:
        flow = cv2.calcOpticalFlowFarneback(first, second, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        return cv2.mean(cv2.magnitude(flow[..., 0], flow[..., 1]))[0]

    motion = [mean_flow(grays[0], grays[1])] + [mean_flow(grays[i - 1], grays[i]) for i in range(1, len(grays))]
    video_peaks = [i / fps for i in range(1, len(motion) - 1) if motion[i - 1] < motion[i] > motion[i + 1]]

    y, sr = librosa.load(narration)
    envelope = librosa.onset.onset_strength(y=y, sr=sr)
    audio_peaks = librosa.frames_to_time(librosa.onset.onset_detect(onset_envelope=envelope, sr=sr), sr=sr)

    hits = sum(1 for a in audio_peaks if any(v - 1 / fps < a < v + 1 / fps for v in video_peaks))
    return hits / (len(audio_peaks) + len(video_peaks) - hits)


@dataclass
class Clip:
    video: Path
    narration: Path  # what the reference reads
    audio_for_eval: Path | None  # what `eval --audio` gets; None: the MP4's own track


def _texture(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = gaussian_filter(rng.random((height, width, 3)), (3, 3, 0))
    return ((noise - noise.min()) / np.ptp(noise) * 255).astype(np.uint8)


def _write(path: Path, frames: list[np.ndarray], fps: float, audio: Audio) -> Path:
    height, width = frames[0].shape[:2]
    with VideoWriter(path, width, height, fps, audio=audio) as writer:
        for frame in frames:
            writer.write_frame(frame)
    return path


def _wav(path: Path, samples: np.ndarray, rate_hz: int) -> Path:
    sf.write(str(path), samples, rate_hz, subtype="FLOAT")
    return path


def _clicks_on_jumps(folder: Path) -> Clip:
    """A texture that jumps at random frames; clicks on most jumps (some a little early or late) and between."""
    rng = np.random.default_rng(1)
    fps, n_frames, rate = 10.0, 60, 16000
    jumps = np.sort(rng.choice(np.arange(2, n_frames - 2), 12, replace=False))
    base, offset, frames = _texture(120, 160, 1), 0, []
    for i in range(n_frames):
        offset += int(rng.integers(2, 6)) if i in jumps else 0
        frames.append(np.roll(base, offset, axis=1))
    samples = np.zeros(int(n_frames / fps * rate), dtype=np.float32)
    click_times = np.concatenate([jumps[:9] / fps + rng.uniform(-0.04, 0.04, 9), rng.uniform(0.1, 5.8, 4)])
    samples[(click_times * rate).astype(int)] = 0.8
    narration = _wav(folder / "clicks.wav", samples, rate)
    return Clip(_write(folder / "clicks.mp4", frames, fps, Audio(samples, rate)), narration, narration)


def _speech_driven_pan(folder: Path) -> Clip:
    """espeak-ng speech; the picture pans faster the louder the speech under each frame."""
    narration = speak("The drummer hits the snare, then the cymbal, then the big bass drum, boom, boom, crash!",
                      folder / "drums.wav")
    samples, rate = sf.read(str(narration), dtype="float32")
    fps = 12.0
    n_frames = int(len(samples) / rate * fps)
    base, offset, frames = _texture(144, 192, 2), 0.0, []
    for i in range(n_frames):
        part = samples[int(i * rate / fps) : int((i + 1) * rate / fps)]
        offset += 0.3 + 40.0 * float(np.sqrt(np.mean(part**2)))
        frames.append(shift(base, (0, offset, 0), order=1, mode="wrap").astype(np.uint8))
    return Clip(_write(folder / "drums.mp4", frames, fps, Audio(samples, rate)), narration, narration)


def _storyboard_stills(folder: Path) -> Clip:
    """Four pictures held in turn, each frame with a little fresh noise (SD-style flicker), over speech."""
    narration = speak("A lighthouse at night. Waves break on the rocks. A gull cries. The sun comes up.",
                      folder / "coast.wav", voice="en-gb", rate_hz=44100, channels=2)
    samples, rate = sf.read(str(narration), dtype="float32")
    fps = 8.0
    n_frames = int(len(samples) / rate * fps)
    pictures = [_texture(128, 128, seed) for seed in (3, 4, 5, 6)]
    rng = np.random.default_rng(3)
    frames = []
    for i in range(n_frames):
        picture = pictures[i * len(pictures) // n_frames].astype(np.int16)
        frames.append(np.clip(picture + rng.integers(-6, 7, picture.shape), 0, 255).astype(np.uint8))
    return Clip(_write(folder / "coast.mp4", frames, fps, Audio(samples.mean(axis=1), rate)), narration, narration)


def _pan_at_ntsc_rate(folder: Path) -> Clip:
    """A pan that speeds up and slows down at 29.97 fps, over hiss with noise bursts at 48 kHz."""
    rng = np.random.default_rng(4)
    fps, n_frames, rate = 29.97, 120, 48000
    samples = rng.normal(0.0, 0.003, int(n_frames / fps * rate))
    for start in rng.uniform(0.1, 3.8, 10):
        i = int(start * rate)
        samples[i : i + 2400] += rng.normal(0.0, 0.3, len(samples[i : i + 2400]))
    samples = samples.astype(np.float32)
    base = _texture(90, 160, 4)
    offsets = np.cumsum(1.0 + 1.5 * np.sin(np.arange(n_frames) / 3.0) ** 2 + rng.uniform(0, 0.5, n_frames))
    frames = [shift(base, (0, x, 0), order=1, mode="wrap").astype(np.uint8) for x in offsets]
    narration = _wav(folder / "bursts.wav", samples, rate)
    return Clip(_write(folder / "bursts.mp4", frames, fps, Audio(samples, rate)), narration, narration)


def _own_sound_track(folder: Path) -> Clip:
    """The speech-driven pan scored from its MP4's AAC track; the reference reads that track as a WAV."""
    clip = _speech_driven_pan(folder)
    decoded = folder / "drums-from-mp4.wav"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(clip.video), "-vn",
                    "-c:a", "pcm_f32le", str(decoded)], check=True)
    return Clip(clip.video, decoded, None)


CLIPS = {
    "clicks on jumps": _clicks_on_jumps,
    "speech-driven pan": _speech_driven_pan,
    "storyboard stills": _storyboard_stills,
    "29.97 fps pan over noise bursts": _pan_at_ntsc_rate,
    "the MP4's own sound track": _own_sound_track,
}


@pytest.mark.parametrize("name", list(CLIPS))
def test_eval_av_align_equals_the_reference(name: str, tmp_path: Path) -> None:
    clip = CLIPS[name](tmp_path)
    expected = reference_av_align(clip.video, clip.narration)
    result = EvalJob(clip.video, audio_path=clip.audio_for_eval).run(lambda *_: None, lambda: False)
    align = result.av_align
    assert align.score == pytest.approx(expected, abs=AGREEMENT), f"{name}: ours {align.score}, ref {expected}"
    assert expected > 0.1, "the clip should have coinciding events to compare"
    assert len(align.audio_peaks_s) >= 5 and len(align.video_peaks_s) >= 3
    strict = align.one_to_one
    assert strict.score is not None and 0.0 <= strict.score <= 1.0
