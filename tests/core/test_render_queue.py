"""The render queue on the tiny pipeline: order and reorder, cancel one (waiting or running), cancel all,
a failure that does not stop the others, and a queue file that survives a restart."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import Fix
from hear2see_desktop.core.render_queue import ItemStatus, QueueEvents, QueueItem, QueueStore, RenderQueue
from hear2see_desktop.core.render_queue.request_json import request_from_dict, request_to_dict
from hear2see_desktop.core.render_request import RenderRequest
from hear2see_desktop.core.settings import LoraSpec, RenderSettings
from hear2see_desktop.core.storyboard.board import Scene, Storyboard
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import probe_video


@pytest.fixture(scope="module")
def quiet_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second and a half of silence: with a prompt given there is nothing to transcribe."""
    path = tmp_path_factory.mktemp("quiet") / "quiet.wav"
    sf.write(path, np.zeros(24000, dtype=np.float32), 16000, subtype="PCM_16")
    return path


def tiny_request(model: Path, audio: Path, out: Path, **changes: object) -> RenderRequest:
    settings = RenderSettings(prompt="a quiet lake", model=str(model), width=64, height=64, steps=2, fps=4,
                              frames=1, seed=3, device="cpu")
    return RenderRequest(audio, out, replace(settings, **changes), runs_log=out.parent / "runs.jsonl")


def test_items_run_in_queue_order_and_a_bad_one_does_not_stop_the_rest(
        tiny_models: tuple[Path, Path, Path], quiet_wav: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_text("these are my notes, not audio\n" * 20)
    ended: list[str] = []
    queue = RenderQueue(events=QueueEvents(finished=lambda item, result: ended.append(item.label)))
    first = queue.add(tiny_request(tiny_models[0], quiet_wav, tmp_path / "first.mp4"), "first")
    queue.add(tiny_request(tiny_models[0], notes, tmp_path / "notes.mp4"), "notes")
    last = queue.add(tiny_request(tiny_models[0], quiet_wav, tmp_path / "last.mp4"), "last")
    queue.move(last.id, 0)

    ran = queue.run_all()

    assert ended == [item.label for item in ran] == ["last", "first", "notes"]
    statuses = {item.label: item for item in queue.items()}
    assert statuses["last"].status == statuses["first"].status == ItemStatus.DONE
    assert statuses["first"].run_id and probe_video(tmp_path / "first.mp4").frame_count == 6
    assert probe_video(tmp_path / "last.mp4").frame_count == 6
    bad = statuses["notes"]
    assert bad.status == ItemStatus.FAILED and bad.exit_code == 2
    assert "notes.wav is not an audio file" in bad.sentence() and not (tmp_path / "notes.mp4").exists()
    assert queue.item(first.id).status == ItemStatus.DONE and queue.waiting() == 0


def test_cancel_one_running_and_one_waiting_item(tiny_models: tuple[Path, Path, Path], quiet_wav: Path,
                                                 tmp_path: Path) -> None:
    requests = [tiny_request(tiny_models[0], quiet_wav, tmp_path / f"{name}.mp4") for name in ("a", "b", "c")]
    seen: list[str] = []

    def progress(item: QueueItem, done: int, total: int, message: str, preview: object = None) -> None:
        if item.label == "a" and not seen:  # the first word from the first render: stop it and drop "c"
            seen.append(message)
            assert queue.cancel(item.id) and queue.cancel(ids["c"])

    queue = RenderQueue(events=QueueEvents(progress=progress))
    ids = {name: queue.add(request, name).id for name, request in zip("abc", requests, strict=True)}

    ran = queue.run_all()

    assert [(item.label, item.status) for item in ran] == [("a", ItemStatus.CANCELLED), ("b", ItemStatus.DONE)]
    assert queue.item(ids["c"]).status == ItemStatus.CANCELLED and queue.item(ids["c"]).sentence() == "Cancelled."
    assert not (tmp_path / "a.mp4").exists() and not (tmp_path / "c.mp4").exists()
    assert not [p for p in tmp_path.iterdir() if ".part-" in p.name]  # no half-written video left behind
    assert (tmp_path / "b.mp4").is_file()
    assert not queue.cancel(ids["b"])  # a finished render cannot be cancelled
    assert queue.retry(ids["c"]) and queue.item(ids["c"]).status == ItemStatus.WAITING


def test_cancel_all_stops_the_running_render_and_empties_the_line(tiny_models: tuple[Path, Path, Path],
                                                                  quiet_wav: Path, tmp_path: Path) -> None:
    def progress(item: QueueItem, done: int, total: int, message: str, preview: object = None) -> None:
        cancelled.append(queue.cancel_all())

    cancelled: list[int] = []
    queue = RenderQueue(events=QueueEvents(progress=progress))
    for name in "abc":
        queue.add(tiny_request(tiny_models[0], quiet_wav, tmp_path / f"{name}.mp4"), name)

    ran = queue.run_all()

    assert cancelled[0] == 3  # the running one and the two waiting
    assert [item.label for item in ran] == ["a"]
    assert all(item.status == ItemStatus.CANCELLED for item in queue.items())
    assert not list(tmp_path.glob("*.mp4"))


def test_a_stopped_queue_puts_the_running_render_back_in_line_not_cancelled(
        tiny_models: tuple[Path, Path, Path], quiet_wav: Path, tmp_path: Path) -> None:
    def progress(item: QueueItem, done: int, total: int, message: str, preview: object = None) -> None:
        stopping.append(item.label)  # the first word from "a": pause the queue (as quitting the window does)

    stopping: list[str] = []
    queue = RenderQueue(QueueStore(), QueueEvents(progress=progress))
    for name in "ab":
        queue.add(tiny_request(tiny_models[0], quiet_wav, tmp_path / f"{name}.mp4"), name)

    ran = queue.run_all(stop=lambda: bool(stopping))

    assert [(item.label, item.status) for item in ran] == [("a", ItemStatus.WAITING)]
    assert [(item.label, item.status, item.sentence()) for item in RenderQueue(QueueStore()).items()] == [
        ("a", ItemStatus.WAITING, ""), ("b", ItemStatus.WAITING, "")]
    assert not list(tmp_path.glob("*.mp4")) and not [p for p in tmp_path.iterdir() if ".part-" in p.name]
    stopping.clear()
    queue.events = QueueEvents()
    assert [item.label for item in queue.run_all()] == ["a", "b"]  # resumed: both render, in order
    assert (tmp_path / "a.mp4").is_file() and (tmp_path / "b.mp4").is_file()


def test_the_queue_survives_a_restart_and_a_render_running_at_a_crash_comes_back_waiting(
        tiny_models: tuple[Path, Path, Path], quiet_wav: Path, tmp_path: Path) -> None:
    reopened: list[list[QueueItem]] = []

    def progress(item: QueueItem, done: int, total: int, message: str, preview: object = None) -> None:
        if item.label == "b" and not reopened:  # as if the app died here: what would the next start find?
            reopened.append(RenderQueue(QueueStore()).items())
            queue.cancel(item.id)

    queue = RenderQueue(QueueStore(), QueueEvents(progress=progress))
    assert queue.store is not None and queue.store.path == paths.render_queue_path()
    for name, steps in (("a", 2), ("b", 3), ("c", 4)):
        queue.add(tiny_request(tiny_models[0], quiet_wav, tmp_path / f"{name}.mp4", steps=steps), name)
    queue.move(queue.items()[0].id, 2)  # a to the end: b, c, a
    queue.run_next()  # b: cancelled while running, after the "crash" snapshot was read

    after_crash = reopened[0]
    assert [(item.label, item.status) for item in after_crash] == [
        ("b", ItemStatus.WAITING), ("c", ItemStatus.WAITING), ("a", ItemStatus.WAITING)]
    assert [item.request.settings.steps for item in after_crash] == [3, 4, 2]
    assert after_crash[1].request.out_path == tmp_path / "c.mp4"

    restarted = RenderQueue(QueueStore())
    assert [(item.label, item.status) for item in restarted.items()] == [
        ("b", ItemStatus.CANCELLED), ("c", ItemStatus.WAITING), ("a", ItemStatus.WAITING)]
    assert restarted.items()[0].sentence() == "Cancelled."
    restarted.clear_finished()
    assert [item.label for item in RenderQueue(QueueStore()).items()] == ["c", "a"]


def test_an_unreadable_queue_file_is_set_aside_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "queue.json"
    path.write_text("{half a queue")
    assert RenderQueue(QueueStore(path)).items() == []
    assert (tmp_path / "queue.json.unreadable").read_text() == "{half a queue"
    path.write_text(json.dumps({"version": 1, "items": [{"id": "x", "request": {"audio_path": "a.wav"}}]}))
    assert RenderQueue(QueueStore(path)).items() == []  # an item that does not read is left out


def test_a_request_and_a_failure_read_back_as_written(tmp_path: Path) -> None:
    board = Storyboard([Scene(0.0, 1.0, "a fox", "a red fox", "blurry"), Scene(1.0, 2.0, "runs", "a fox running")],
                       2.0, "anime")
    settings = RenderSettings(prompt="a fox", steps=9, mode="smooth", loras=[LoraSpec("s.safetensors", 0.7)],
                              transition_s=None)
    transcript = Transcript("a fox", [Word("a", 0.0, 0.1, 0.9)], "vosk", "m", 2.0)
    request = RenderRequest(tmp_path / "fox.wav", tmp_path / "fox.mp4", settings, asr_language="de",
                            sound_model="ast-audioset", transcript=transcript, storyboard=board,
                            srt_path=tmp_path / "fox.srt", use_cache=False)
    again = request_from_dict(json.loads(json.dumps(request_to_dict(request))))
    assert again == request
    item = QueueItem(request, "fox", reason=("No GPU here: use ", Fix("device", "cpu"), "."), exit_code=2,
                     status=ItemStatus.FAILED)
    read = QueueItem.from_dict(json.loads(json.dumps(item.to_dict())))
    assert read == item
    assert read.sentence(lambda fix: f"--{fix.setting} {fix.value}") == "No GPU here: use --device cpu."


def test_the_next_items_are_prepared_ahead_on_any_cluster_unless_told_not_to(tmp_path: Path) -> None:
    """Even on `local:N`, whose workers share this computer's cores, a queue of clips ran faster prepared ahead
    (bench/results/cluster_batch.md)."""
    def on(cluster: str | None) -> RenderRequest:
        return RenderRequest(tmp_path / "take.wav", tmp_path / "out.mp4", RenderSettings(), cluster=cluster)

    queue = RenderQueue()
    assert [queue.prepares_ahead(on(c)) for c in (None, "local:2", "auto", "ray://10.0.0.5:10001")] == [
        False, True, True, True]
    assert not RenderQueue(prepare_ahead=False).prepares_ahead(on("ray://10.0.0.5:10001"))
    assert not RenderQueue(prepare_ahead=False).prepares_ahead(on("local:2"))
