"""Narration audio in one shape for every engine: 16 kHz mono float32, whatever file it came from.

WAV, FLAC, OGG (and AIFF/AU) are decoded by soundfile; MP3, M4A and anything else by the bundled
ffmpeg binary. Which path a file takes is decided by its first bytes, not its name, so a WAV renamed
to `.mp3` still loads. Either way the decoded channels meet one `_MonoMixer`: the plain mean over
all channels (LFE included, no surround weights), then soxr to 16 kHz, so the same sound gives the
same mono from any container. Both paths work in blocks into one array, so a two-hour narration
peaks at about its 440 MB of output rather than several times that. Every way a file can be
unusable ends in a `BadInputError` whose message is one sentence the user can act on. AV-Align asks
for the file's own rate instead (`load_audio(path, None)`), since it resamples once, as its reference does.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import soundfile as sf
import soxr

from hear2see_desktop.core.atomic import through_part
from hear2see_desktop.core.errors import BadInputError, Hear2SeeError
from hear2see_desktop.core.ffmpeg import ffmpeg_exe

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
MIN_DURATION_S = 0.3
MIN_SAMPLE_RATE_HZ = 2000
SILENCE_FRAME_S = 0.03

_BLOCK_SAMPLES = 1 << 17  # per read, over all channels: 512 KiB of float32 whatever the channel count
_PIPE_READ_BYTES = 1 << 20
# First bytes of the containers libsndfile reads well; anything else goes straight to ffmpeg.
_SOUNDFILE_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"FORM", b".snd")
# First bytes that say "this was meant to be audio", so a failure means damaged rather than foreign.
_AUDIO_MAGIC = _SOUNDFILE_MAGIC + (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xf1", b"\xff\xf9")
_DAMAGED_MARKERS = ("moov atom not found", "partial file", "truncat", "corrupt")
_NO_AUDIO_MARKERS = ("matches no streams", "does not contain any stream", "no audio stream")


@dataclass
class Audio:
    """Mono float32 samples in [-1, 1] at `sample_rate_hz` (16 kHz from `load_audio`)."""

    samples: np.ndarray
    sample_rate_hz: int = SAMPLE_RATE_HZ
    source_path: Path | None = field(default=None)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / float(self.sample_rate_hz)


def load_audio(path: str | os.PathLike[str], sample_rate_hz: int | None = SAMPLE_RATE_HZ, *,
               min_duration_s: float = MIN_DURATION_S) -> Audio:
    """Decode any narration file to mono float32 at `sample_rate_hz` (16 kHz; None keeps the file's own
    rate, for a metric that resamples as its reference does); raises `BadInputError` with one sentence.
    `min_duration_s`: shorter raises, worded for a narration (a caller decoding other sound passes 0 and words its own).
    """
    path = Path(path)
    _check_is_readable_file(path)
    magic = _read_magic(path)
    if magic.startswith(_SOUNDFILE_MAGIC):
        samples, rate = _load_with_soundfile_or_ffmpeg(path, magic, sample_rate_hz)
    else:
        samples, rate = _load_with_ffmpeg(path, magic.startswith(_AUDIO_MAGIC) or _is_mp4(magic), sample_rate_hz)
    if samples.size == 0:
        raise BadInputError(f"{path} contains no audio samples; record or export the narration again.")
    audio = Audio(samples=samples, sample_rate_hz=rate, source_path=path)
    if audio.duration_s < min_duration_s:
        raise BadInputError(
            f"{path} is too short ({audio.duration_s:.2f} s) to transcribe; "
            f"record at least {MIN_DURATION_S:g} s of narration."
        )
    return audio


def is_silent(audio: Audio, threshold_dbfs: float = -45.0) -> bool:
    """True when no 30 ms frame's RMS rises above `threshold_dbfs`, so the caller can say "no speech"."""
    samples = np.asarray(audio.samples, dtype=np.float32)
    if samples.size == 0:
        return True
    frame_len = max(1, int(round(SILENCE_FRAME_S * audio.sample_rate_hz)))
    n_full = samples.size // frame_len
    energies = []
    if n_full:
        frames = samples[: n_full * frame_len].reshape(n_full, frame_len).astype(np.float64)
        energies.append(np.mean(frames * frames, axis=1))
    tail = samples[n_full * frame_len :]
    if tail.size:
        energies.append(np.array([np.mean(tail.astype(np.float64) ** 2)]))
    mean_square = np.concatenate(energies)
    threshold_mean_square = 10.0 ** (threshold_dbfs / 10.0)  # dBFS of RMS: 20*log10(rms)
    return not bool(np.any(mean_square > threshold_mean_square))


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> Path:
    """Save float samples (1-D mono or frames x channels) as 16-bit PCM WAV, atomically.

    Writes a temporary file in the target folder and renames it, so a crash or a full disk never
    leaves a half-written take under the final name.
    """
    path = Path(path)
    data = np.clip(np.nan_to_num(np.asarray(samples, dtype=np.float32)), -1.0, 1.0)
    with through_part(path) as part:  # the format is given, so the name needs no .wav
        sf.write(str(part), data, int(sample_rate_hz), subtype="PCM_16", format="WAV")
    return path


def _check_is_readable_file(path: Path) -> None:
    if not path.exists():
        raise BadInputError(f"There is no file at {path}; check the path and try again.")
    if path.is_dir():
        raise BadInputError(f"{path} is a folder, not an audio file; choose a narration file inside it.")
    if path.stat().st_size == 0:
        raise BadInputError(f"{path} is empty (0 bytes); record or export the narration again.")


def _read_magic(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(12)
    except OSError as e:
        raise BadInputError(f"{path} could not be opened ({e.strerror or e}); check that you may read it.") from e


def _is_mp4(magic: bytes) -> bool:
    return magic[4:8] == b"ftyp"


def _damaged(path: Path) -> BadInputError:
    return BadInputError(f"{path} is damaged or cut short (it ends before its audio does); export or copy it again.")


def _not_audio(path: Path) -> BadInputError:
    return BadInputError(f"{path} is not an audio file we can read; use a WAV, FLAC, OGG, MP3 or M4A recording.")


def _load_with_soundfile_or_ffmpeg(path: Path, magic: bytes, target_hz: int | None) -> tuple[np.ndarray, int]:
    """(mono samples, their rate): soundfile for the containers it knows; ffmpeg when libsndfile cannot open
    one (e.g. odd codecs)."""
    try:
        handle = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError) as e:
        log.info("soundfile could not open %s (%s); trying ffmpeg", path, e)
        return _load_with_ffmpeg(path, True, target_hz)
    with handle:
        if handle.format in ("WAV", "WAVEX") and _wav_is_cut_short(path):
            raise _damaged(path)
        if handle.samplerate < MIN_SAMPLE_RATE_HZ:
            # Nobody records speech like this; a damaged header would otherwise "resample" 1 s of
            # samples claimed at 1 Hz into hours of output and gigabytes of memory.
            raise BadInputError(
                f"{path} has a sample rate of only {handle.samplerate} Hz, far too low for speech "
                "(its header is probably damaged); export the narration again at 16 kHz."
            )
        try:
            return _read_mono(handle, path.stat().st_size, target_hz)
        except (sf.LibsndfileError, RuntimeError) as e:
            log.warning("soundfile failed while reading %s: %s", path, e)
            raise _damaged(path) from e


def _read_mono(handle: sf.SoundFile, size_bytes: int, target_hz: int | None) -> tuple[np.ndarray, int]:
    """Read block by block through a `_MonoMixer`, so memory stays flat; (samples, their rate).

    The output is reserved from the header's length, but never more than 32 samples per byte of
    file (low-bitrate Vorbis is about 16), so a damaged header can't reserve gigabytes up front.
    """
    rate = int(handle.samplerate)
    claimed = int(handle.frames) * (target_hz or rate) // rate + 1024 if handle.frames > 0 else 0
    mixer = _MonoMixer(rate, target_hz, expected=min(claimed, 32 * size_bytes))
    for block in handle.blocks(blocksize=max(256, _BLOCK_SAMPLES // handle.channels), dtype="float32",
                               always_2d=True):
        mixer.add(block)
    return mixer.result(), mixer.rate_hz


class _MonoMixer:
    """Blocks of (frames, channels) float32 at the file's rate in, mono at `target_hz` out (None: the file's
    rate): the mean over the channels, then soxr's streaming HQ resampler (the same samples as its one-shot
    `soxr.resample`), appended to a `_SampleBuffer` as it goes.

    Both decoding paths end here, so a 5.1 file gives the same mono whether libsndfile or ffmpeg
    decoded it (ffmpeg's own `-ac 1` would weight the channels its way and drop the LFE).
    """

    def __init__(self, rate_hz: int, target_hz: int | None = SAMPLE_RATE_HZ, expected: int = 0) -> None:
        self.rate_hz = target_hz or rate_hz
        """Rate of the samples `result` returns."""
        self._resampler = (soxr.ResampleStream(rate_hz, self.rate_hz, 1, dtype="float32", quality="HQ")
                           if rate_hz != self.rate_hz else None)
        self._out = _SampleBuffer(expected=expected)

    def add(self, block: np.ndarray) -> None:
        mono = np.ascontiguousarray(block.mean(axis=1, dtype=np.float32))
        self._out.append(self._resampler.resample_chunk(mono) if self._resampler else mono)

    def result(self) -> np.ndarray:
        """The mono samples; the mixer must not be used after this."""
        if self._resampler is not None:
            self._out.append(self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
        return self._out.result()


class _SampleBuffer:
    """A float32 array filled in place and grown with `ndarray.resize` (a realloc, no second copy).

    A two-hour narration is 440 MB at 16 kHz; a list of pieces joined at the end (or ffmpeg's whole
    output as one bytes object turned into an array) would need two or three times that at the peak.
    Each piece is made finite and clipped as it lands, since doing that on the whole array at the
    end needs masks as large as the array itself.
    """

    _FIRST_CAPACITY = 60 * SAMPLE_RATE_HZ  # one minute when the length is not known in advance

    def __init__(self, expected: int = 0) -> None:
        capacity = expected if expected > 0 else self._FIRST_CAPACITY
        self._data = np.empty(capacity, dtype=np.float32)
        self._size = 0

    def append(self, chunk: np.ndarray) -> None:
        end = self._size + len(chunk)
        if end > len(self._data):
            # numpy zero-fills what it adds, so a modest step keeps the unused tail small.
            self._data.resize(max(end, len(self._data) + len(self._data) // 4), refcheck=False)
        _finish(self._data[self._size : end], chunk)
        self._size = end

    def result(self) -> np.ndarray:
        """The samples appended so far; the buffer must not be used after this."""
        self._data.resize(self._size, refcheck=False)
        return self._data


def _finish(out: np.ndarray, samples: np.ndarray) -> None:
    """Copy `samples` into `out`, made finite and clipped to [-1, 1] (resampling overshoots on full-scale input)."""
    out[:] = samples
    np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    np.clip(out, -1.0, 1.0, out=out)


def _wav_is_cut_short(path: Path) -> bool:
    """True when the RIFF `data` chunk claims more bytes than the file holds (an interrupted copy)."""
    file_size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return False
        offset = 12
        while offset + 8 <= file_size:
            f.seek(offset)
            chunk = f.read(8)
            chunk_id, size = chunk[:4], int.from_bytes(chunk[4:8], "little")
            if chunk_id == b"data":
                if size in (0, 0xFFFFFFFF):  # length unknown: a streamed or still-open recording
                    return False
                return offset + 8 + size > file_size
            offset += 8 + size + (size & 1)
    return False


def _no_window_flags() -> int:
    return getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0


def _load_with_ffmpeg(path: Path, looks_like_audio: bool, target_hz: int | None) -> tuple[np.ndarray, int]:
    """Decode through ffmpeg to float32 WAV on a pipe, every channel at the file's own rate, and mix
    it down block by block in a `_MonoMixer`, as the soundfile path does; (samples, their rate).

    The WAV header on the pipe says how many channels and what rate ffmpeg decoded; its lengths are
    unknown (a pipe cannot be rewound), so the samples are read until ffmpeg closes it. ffmpeg's
    messages go to a temporary file, so a chatty decode can never fill a pipe and stall the other one.
    """
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "warning",
        "-i", str(path), "-map", "0:a:0", "-vn", "-c:a", "pcm_f32le", "-f", "wav", "pipe:1",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as stderr_file:
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr_file,
                creationflags=_no_window_flags(),
            )  # fmt: skip
        except OSError as e:
            raise Hear2SeeError(f"The bundled ffmpeg program could not be started ({e}); reinstall the app.") from e
        try:
            samples, rate = _read_wav_pipe(proc, path, target_hz)
            returncode = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stderr_file.seek(0)
        stderr = stderr_file.read().decode("utf-8", "replace")
    lowered = stderr.lower()
    # ffmpeg "finds" MP3 frames in some random data; only trust a weak guess when the bytes say audio.
    misdetected = "misdetection possible" in lowered and not looks_like_audio
    if returncode != 0 or misdetected:
        log.info("ffmpeg could not decode %s (exit %s):\n%s", path, returncode, _tail(stderr))
        if any(marker in lowered for marker in _NO_AUDIO_MARKERS) and "error opening input" not in lowered:
            raise BadInputError(f"{path} has no audio track; choose a file with recorded narration.")
        if looks_like_audio or any(marker in lowered for marker in _DAMAGED_MARKERS):
            raise _damaged(path)
        raise _not_audio(path)
    if stderr.strip():
        log.info("ffmpeg warnings while decoding %s:\n%s", path, _tail(stderr))
    return samples, rate


def _read_wav_pipe(proc: subprocess.Popen[bytes], path: Path, target_hz: int | None) -> tuple[np.ndarray, int]:
    """(mono at `target_hz` or the stream's rate, that rate) from the float32 WAV ffmpeg writes to stdout,
    read until it closes.

    A trailing partial frame is dropped; no header at all (ffmpeg could not open the file) gives no
    samples, and the caller reads why from ffmpeg's messages.
    """
    assert proc.stdout is not None
    with proc.stdout:
        header = _read_wav_header(proc.stdout)
        if header is None:
            return np.zeros(0, dtype=np.float32), target_hz or SAMPLE_RATE_HZ
        channels, rate = header
        if rate < MIN_SAMPLE_RATE_HZ:
            raise BadInputError(
                f"{path} has a sample rate of only {rate} Hz, far too low for speech "
                "(its header is probably damaged); export the narration again at 16 kHz."
            )
        mixer = _MonoMixer(rate, target_hz)
        frame_bytes = 4 * channels
        carry = b""
        while chunk := proc.stdout.read(_PIPE_READ_BYTES):
            chunk = carry + chunk if carry else chunk
            usable = len(chunk) - len(chunk) % frame_bytes
            if usable:
                mixer.add(np.frombuffer(chunk, dtype="<f4", count=usable // 4).reshape(-1, channels))
            carry = chunk[usable:]
    return mixer.result(), mixer.rate_hz


def _read_wav_header(stream: IO[bytes]) -> tuple[int, int] | None:
    """(channels, rate) of the float32 WAV on `stream`, which is left at the first sample; None at an early end."""
    if len(riff := stream.read(12)) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        return None
    channels = rate = 0
    while len(head := stream.read(8)) == 8:
        chunk_id, size = head[:4], int.from_bytes(head[4:8], "little")
        if chunk_id == b"data":
            return (channels, rate) if channels > 0 and rate > 0 else None
        body = stream.read(size + (size & 1))
        if chunk_id == b"fmt " and len(body) >= 16:
            channels, rate, bits = (int.from_bytes(body[2:4], "little"), int.from_bytes(body[4:8], "little"),
                                    int.from_bytes(body[14:16], "little"))
            if bits != 32:  # asked for pcm_f32le; anything else would be misread
                raise Hear2SeeError(f"ffmpeg wrote {bits}-bit samples where 32-bit floats were asked for; "
                                    "reinstall the app.")
    return None


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
