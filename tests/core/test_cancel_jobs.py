"""Cancel any job and the next one works: nothing under a final name, nothing stuck, no state left over.

Each job's own test file checks that a cancel stops it promptly and leaves no partial output. Here
every job is cancelled and then run again to the end with the same inputs, as a user would after
pressing Cancel: transcription, export (each kind), download (a file and an archive being unpacked)
and render (the smooth mode; classic is in test_render_modes).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import CancelledError
from hear2see_desktop.core.export_job import ExportJob
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.models import registry
from hear2see_desktop.core.models.catalogue import CatalogueEntry, ModelFile
from hear2see_desktop.core.models.download import DownloadJob
from hear2see_desktop.core.render_job import RenderJob, RenderRequest
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.transcribe_job import TranscribeJob
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import probe_video
from tests.model_server import ModelServer, Served, block_internet, model_server, sha256

FOX = Transcript(
    text="A red fox runs through the snowy forest. It stops at a frozen river.",
    words=[Word("A", 0.1, 0.2, 1.0), Word("red", 0.2, 0.4, 1.0), Word("fox", 0.4, 0.7, 1.0),
           Word("runs.", 0.7, 1.0, 1.0), Word("It", 1.6, 1.8, 1.0), Word("stops.", 1.8, 2.2, 1.0)],
    engine="given",
    model="test",
)


def cancel_after(n_checks: int):
    """A cancel check that says "stop" from its `n_checks`-th call on (it counts its calls)."""
    calls = 0

    def cancelled() -> bool:
        nonlocal calls
        calls += 1
        return calls >= n_checks

    cancelled.calls = lambda: calls  # type: ignore[attr-defined]
    return cancelled


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- transcription -------------------------------------------------------------------------------


@pytest.mark.parametrize("at_check", [1, 2])
def test_a_cancelled_transcription_can_be_started_again(narration_wav: Path, at_check: int) -> None:
    # Check 1 is before recognition starts; check 2 is inside the engine, between segments.
    job = TranscribeJob(narration_wav, engine="whisper")
    cancelled = cancel_after(at_check)
    with pytest.raises(CancelledError):
        job.run(no_progress, cancelled)
    assert cancelled.calls() == at_check  # stopped at the check that said so

    transcript = job.run(no_progress, never_cancelled)
    assert "fox" in transcript.text.lower()


# --- export --------------------------------------------------------------------------------------


def exports(source: Path, out: Path) -> dict[str, tuple[ExportJob, list[str], int]]:
    """One job of each kind, the files it makes, and a cancel check that falls in its middle.

    The MP4 is copied in small chunks and the frames one by one, a check before each; a text file
    is checked before it is written and again before its part file is renamed into place.
    """
    frames = [np.full((8, 8, 3), 40 * i, dtype=np.uint8) for i in range(4)]
    return {
        "mp4": (ExportJob("mp4", out / "fox.mp4", mp4=source, chunk_bytes=16 * 1024), ["fox.mp4"], 3),
        "frames": (ExportJob.frame_images(frames, out),
                   ["frame_0001.png", "frame_0002.png", "frame_0003.png", "frame_0004.png"], 3),
        "transcript": (ExportJob.transcript_text(FOX, out / "fox.txt"), ["fox.txt"], 2),
        "subtitles": (ExportJob.subtitles(FOX, out / "fox.srt"), ["fox.srt"], 2),
    }


@pytest.mark.parametrize("kind", ["mp4", "frames", "transcript", "subtitles"])
def test_a_cancelled_export_leaves_nothing_and_the_next_one_completes(tmp_path: Path, kind: str) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(np.random.default_rng(1).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    out = tmp_path / "out"
    out.mkdir()
    job, made, middle = exports(source, out)[kind]
    with pytest.raises(CancelledError):
        job.run(no_progress, cancel_after(middle))
    assert names(out) == []

    job, made, _ = exports(source, out)[kind]
    result = job.run(no_progress, never_cancelled)
    assert names(out) == made and [p.name for p in result.paths] == made
    if kind == "mp4":
        assert (out / "fox.mp4").read_bytes() == source.read_bytes()


# --- downloads -----------------------------------------------------------------------------------

BODY = np.random.default_rng(2).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
FAST = {"backoff_s": 0.01, "timeout_s": 5.0, "chunk_bytes": 8 * 1024}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> ModelServer:
    monkeypatch.delenv("HEAR2SEE_MODELS_DIR", raising=False)
    block_internet(monkeypatch)
    with model_server() as running:
        yield running


def test_a_cancelled_download_resumes_to_a_verified_file(server: ModelServer, tmp_path: Path) -> None:
    server.files["/model.bin"] = Served(BODY, delay_s=0.005)
    file = ModelFile(server.url("/model.bin"), "weights/model.bin", sha256(BODY), len(BODY))
    cancelled = cancel_after(10)  # checked before each 8 KiB chunk: stops about 70 KiB in
    with pytest.raises(CancelledError):
        DownloadJob([file], tmp_path, **FAST).run(no_progress, cancelled)
    assert names(tmp_path / "weights") == ["model.bin.part"]
    assert 0 < (tmp_path / "weights/model.bin.part").stat().st_size < len(BODY)

    DownloadJob([file], tmp_path, **FAST).run(no_progress, never_cancelled)
    assert names(tmp_path / "weights") == ["model.bin"]
    assert (tmp_path / "weights/model.bin").read_bytes() == BODY
    assert server.ranges("/model.bin")[-1] is not None  # the second run asked only for the rest


def test_a_download_cancelled_while_unpacking_is_not_installed_until_run_again(server: ModelServer) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for n in range(6):
            bundle.writestr(f"vosk-model-tiny/am/part{n}.bin", bytes([n]) * 20_000)
        bundle.writestr("vosk-model-tiny/am/final.mdl", b"acoustic")
    data = buffer.getvalue()
    server.files["/vosk-model-tiny.zip"] = Served(data)
    file = ModelFile(server.url("/vosk-model-tiny.zip"), "vosk-model-tiny.zip", None, len(data), unpack=True)
    entry = CatalogueEntry("vosk-tiny", "vosk", "Vosk tiny", "Apache-2.0", len(data), "vosk/vosk-model-tiny",
                           (file,), "am/final.mdl")
    unpacking: list[str] = []

    def progress(done: int, total: int, message: str, preview: object = None) -> None:
        if message.startswith("Unpacking"):
            unpacking.append(message)

    with pytest.raises(CancelledError):
        DownloadJob(entry, **FAST).run(progress, lambda: len(unpacking) >= 2)
    assert not registry.is_installed(entry, registry.models_root())
    vosk_dir = paths.models_dir() / "vosk"
    assert not any(p.name.startswith(".") for p in vosk_dir.iterdir()), "a temporary unpack folder was left"

    target = DownloadJob(entry, **FAST).run(no_progress, never_cancelled)
    assert registry.is_installed(entry, registry.models_root())
    assert (target / "am/final.mdl").read_bytes() == b"acoustic"
    assert names(vosk_dir) == ["vosk-model-tiny"]


# --- render --------------------------------------------------------------------------------------


def test_a_cancelled_smooth_render_leaves_no_output_and_the_next_one_finishes(
    tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path
) -> None:
    settings = RenderSettings(model=str(tiny_models[0]), width=64, height=64, steps=2, seed=3, device="cpu",
                              mode="smooth", fps=2, transition_s=None)  # a keyframe on the last frame too
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "smooth.mp4"
    previews = 0

    def progress(done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
        nonlocal previews
        previews += preview is not None

    request = RenderRequest(narration_wav, out, settings, transcript=FOX, runs_log=tmp_path / "runs.jsonl",
                            srt_path=out_dir / "smooth.srt", use_cache=False)
    with pytest.raises(CancelledError):
        RenderJob(request).run(progress, lambda: previews >= 3)
    assert names(out_dir) == []
    assert not (tmp_path / "runs.jsonl").exists()

    result = RenderJob(request).run(no_progress, never_cancelled)
    assert names(out_dir) == ["smooth.mp4", "smooth.srt"]
    assert probe_video(out).frame_count == result.record.output_frames
