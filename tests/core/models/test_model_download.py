"""Model downloads against a real HTTP server on 127.0.0.1: complete, resumed, corrupt, cancelled, retried.

The internet is blocked in every test here, so nothing real is ever fetched.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError, CancelledError, ModelMissingError
from hear2see_desktop.core.models import registry
from hear2see_desktop.core.models.catalogue import (
    CatalogueEntry,
    ModelFile,
    find_entry,
    load_catalogue,
)
from hear2see_desktop.core.models.download import (
    DownloadFailedError,
    DownloadJob,
    hub_sha256,
    human_bytes,
    human_duration,
    ssl_context,
)
from tests.model_server import ModelServer, Served, block_internet, model_server, sha256

BODY = os.urandom(256 * 1024 + 123)
FAST = {"backoff_s": 0.01, "timeout_s": 5.0, "chunk_bytes": 16 * 1024}


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    monkeypatch.delenv("HEAR2SEE_MODELS_DIR", raising=False)
    monkeypatch.delenv("HEAR2SEE_CATALOGUE", raising=False)
    return block_internet(monkeypatch)


@pytest.fixture
def server() -> ModelServer:
    with model_server() as running:
        yield running


class Recorder:
    """A progress callback and a cancel switch that flips after `cancel_after` bytes."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.calls: list[tuple[int, int, str]] = []
        self.cancel_after = cancel_after

    def __call__(self, done: int, total: int, message: str, preview: object = None) -> None:
        self.calls.append((done, total, message))

    def cancelled(self) -> bool:
        return self.cancel_after is not None and any(done >= self.cancel_after for done, _, _ in self.calls)


def one_file(server: ModelServer, path: str = "/model.bin", sha: str | None = None, **switches: object) -> ModelFile:
    server.files[path] = Served(BODY, **switches)  # type: ignore[arg-type]
    return ModelFile(server.url(path), "weights/model.bin", sha, len(BODY))


def test_a_complete_download_is_verified_and_lands_under_its_final_name(server: ModelServer, tmp_path: Path) -> None:
    file = one_file(server, sha=sha256(BODY))
    recorder = Recorder()
    result = DownloadJob([file], tmp_path / "m", **FAST).run(recorder, recorder.cancelled)
    assert result == tmp_path / "m"
    assert (tmp_path / "m/weights/model.bin").read_bytes() == BODY
    assert not (tmp_path / "m/weights/model.bin.part").exists()
    assert server.ranges("/model.bin") == [None]
    downloading = [call for call in recorder.calls if call[2].startswith("Downloading")]
    assert downloading and downloading[-1][0] == downloading[-1][1] == len(BODY)
    assert all(done <= total for done, total, _ in recorder.calls)


def test_an_interrupted_download_resumes_with_a_range_request(server: ModelServer, tmp_path: Path) -> None:
    half = 128 * 1024
    file = one_file(server, sha=sha256(BODY), drop_after=half, drops=1)
    with pytest.raises(DownloadFailedError, match="resumes where it stopped"):
        DownloadJob([file], tmp_path, retries=1, **FAST).run(Recorder(), lambda: False)
    part = tmp_path / "weights/model.bin.part"
    assert part.stat().st_size == half and not (tmp_path / "weights/model.bin").exists()

    DownloadJob([file], tmp_path, **FAST).run(Recorder(), lambda: False)
    assert server.ranges("/model.bin") == [None, f"bytes={half}-"]
    assert (tmp_path / "weights/model.bin").read_bytes() == BODY and not part.exists()


def test_a_dropped_connection_is_resumed_within_the_same_job(server: ModelServer, tmp_path: Path) -> None:
    file = one_file(server, drop_after=64 * 1024, drops=1, etag=sha256(BODY))  # the hub's hash, as an ETag
    DownloadJob([file], tmp_path, retries=2, **FAST).run(Recorder(), lambda: False)
    assert server.ranges("/model.bin") == [None, f"bytes={64 * 1024}-"]
    assert (tmp_path / "weights/model.bin").read_bytes() == BODY


def test_a_server_that_ignores_range_makes_the_download_start_again(server: ModelServer, tmp_path: Path) -> None:
    file = one_file(server, sha=sha256(BODY), ignore_range=True)
    part = tmp_path / "weights/model.bin.part"
    part.parent.mkdir(parents=True)
    stale = b"stale bytes from another version"
    part.write_bytes(stale)
    DownloadJob([file], tmp_path, **FAST).run(Recorder(), lambda: False)
    assert server.ranges("/model.bin") == [f"bytes={len(stale)}-"]
    assert (tmp_path / "weights/model.bin").read_bytes() == BODY


def test_a_corrupt_file_fails_its_hash_and_is_deleted(server: ModelServer, tmp_path: Path) -> None:
    file = one_file(server, sha=sha256(BODY), corrupt=True)
    with pytest.raises(DownloadFailedError) as caught:
        DownloadJob([file], tmp_path, **FAST).run(Recorder(), lambda: False)
    message = str(caught.value)
    assert "SHA-256" in message and file.url in message and "\n" not in message
    assert list((tmp_path / "weights").iterdir()) == []


def test_the_hubs_sha256_from_the_redirect_is_checked_when_the_catalogue_has_none(
    server: ModelServer, tmp_path: Path
) -> None:
    server.files["/resolve/main/model.bin"] = Served(b"", redirect_to="/blob/abc", linked_etag=sha256(BODY))
    server.files["/blob/abc"] = Served(BODY, corrupt=True)
    file = ModelFile(server.url("/resolve/main/model.bin"), "model.bin", None, len(BODY))
    with pytest.raises(DownloadFailedError, match="SHA-256"):
        DownloadJob([file], tmp_path, **FAST).run(Recorder(), lambda: False)
    assert list(tmp_path.iterdir()) == []
    server.files["/blob/abc"].corrupt = False
    DownloadJob([file], tmp_path, **FAST).run(Recorder(), lambda: False)
    assert (tmp_path / "model.bin").read_bytes() == BODY


def test_a_cancelled_download_keeps_its_part_file_but_never_the_final_name(
    server: ModelServer, tmp_path: Path
) -> None:
    file = one_file(server, delay_s=0.02)  # about 200 kB/s, so there is a speed to show
    recorder = Recorder(cancel_after=160 * 1024)
    with pytest.raises(CancelledError):
        DownloadJob([file], tmp_path, **FAST).run(recorder, recorder.cancelled)
    assert not (tmp_path / "weights/model.bin").exists()
    kept = (tmp_path / "weights/model.bin.part").stat().st_size
    assert 160 * 1024 <= kept < len(BODY)
    assert any("/s, " in message and message.endswith(" left") for _, _, message in recorder.calls)


def test_a_503_is_retried_with_back_off(server: ModelServer, tmp_path: Path) -> None:
    file = one_file(server, sha=sha256(BODY), fail_503=2)
    DownloadJob([file], tmp_path, retries=3, **FAST).run(Recorder(), lambda: False)
    assert len(server.ranges("/model.bin")) == 3
    assert (tmp_path / "weights/model.bin").read_bytes() == BODY


def test_a_server_that_keeps_failing_gives_up_with_one_sentence(server: ModelServer, tmp_path: Path) -> None:
    file = one_file(server, fail_503=10)
    with pytest.raises(DownloadFailedError) as caught:
        DownloadJob([file], tmp_path, retries=3, **FAST).run(Recorder(), lambda: False)
    assert "after 3 tries" in str(caught.value) and file.url in str(caught.value)
    assert len(server.ranges("/model.bin")) == 3


def test_a_404_names_the_url(server: ModelServer, tmp_path: Path) -> None:
    file = ModelFile(server.url("/gone.bin"), "gone.bin")
    with pytest.raises(ModelMissingError) as caught:
        DownloadJob([file], tmp_path, **FAST).run(Recorder(), lambda: False)
    assert file.url in str(caught.value) and "404" in str(caught.value)
    assert len(server.ranges("/gone.bin")) == 1  # a 404 is not retried


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def vosk_entry(server: ModelServer, data: bytes, name: str = "vosk-model-tiny") -> CatalogueEntry:
    server.files[f"/{name}.zip"] = Served(data)
    file = ModelFile(server.url(f"/{name}.zip"), f"{name}.zip", None, len(data), unpack=True)
    return CatalogueEntry("vosk-tiny", "vosk", "Vosk tiny", "Apache-2.0", len(data), f"vosk/{name}", (file,),
                          "am/final.mdl")


def test_a_vosk_zip_unpacks_into_the_models_folder_where_the_app_finds_it(server: ModelServer) -> None:
    from hear2see_desktop.core.asr.vosk_engine import find_vosk_model

    data = make_zip({"vosk-model-tiny/am/final.mdl": b"acoustic", "vosk-model-tiny/conf/model.conf": b"--x=1",
                     "vosk-model-tiny/README": b"hello"})
    entry = vosk_entry(server, data)
    assert not registry.is_installed(entry, registry.models_root())
    target = DownloadJob(entry, **FAST).run(Recorder(), lambda: False)
    assert target == paths.models_dir() / "vosk" / "vosk-model-tiny"
    assert (target / "am/final.mdl").read_bytes() == b"acoustic"
    assert find_vosk_model() == target
    assert registry.is_installed(entry, registry.models_root())
    assert sorted(p.name for p in target.parent.iterdir()) == ["vosk-model-tiny"]  # no zip, no temp folder


def test_a_zip_slip_entry_is_refused_and_nothing_lands_outside(server: ModelServer) -> None:
    data = make_zip({"vosk-model-tiny/am/final.mdl": b"x", "../../escaped.txt": b"gotcha"})
    entry = vosk_entry(server, data)
    with pytest.raises(DownloadFailedError, match="outside its folder"):
        DownloadJob(entry, **FAST).run(Recorder(), lambda: False)
    root = paths.models_dir()
    assert not list(root.parent.rglob("escaped.txt"))
    assert sorted(p.name for p in (root / "vosk").iterdir()) == []


def test_a_damaged_zip_is_deleted(server: ModelServer) -> None:
    data = bytearray(make_zip({"vosk-model-tiny/am/final.mdl": b"acoustic model " * 50}))
    position = data.index(b"acoustic model")
    data[position:position + 8] = b"ACOUSTIC"  # stored data no longer matches its CRC
    entry = vosk_entry(server, bytes(data))
    with pytest.raises(DownloadFailedError, match="damaged"):
        DownloadJob(entry, **FAST).run(Recorder(), lambda: False)
    assert sorted(p.name for p in (paths.models_dir() / "vosk").iterdir()) == []


def test_a_download_that_needs_more_space_than_free_is_refused_before_it_starts(
    server: ModelServer, tmp_path: Path
) -> None:
    file = ModelFile(server.url("/huge.bin"), "huge.bin", None, 10**18)
    with pytest.raises(BadInputError, match="free"):
        DownloadJob([file], tmp_path, **FAST).run(Recorder(), lambda: False)
    assert server.requests == []


def test_a_real_catalogue_url_cannot_be_reached_from_the_tests(no_internet: list[object], tmp_path: Path) -> None:
    entry = find_entry("taesd")
    with pytest.raises(DownloadFailedError):
        DownloadJob(entry, tmp_path, retries=1, **FAST).run(Recorder(), lambda: False)
    assert "huggingface.co" in no_internet


def test_the_models_root_follows_the_users_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hear2see_desktop.core.asr.vosk_engine import vosk_models_folder

    default = paths.models_dir()
    assert default == paths.data_dir() / "models"
    usb = tmp_path / "usb" / "models"
    assert registry.set_models_root(usb) == usb and usb.is_dir()
    assert paths.models_dir() == usb == registry.models_root()
    assert vosk_models_folder() == usb / "vosk"
    assert json.loads(paths.models_location_path().read_text())["models_dir"] == str(usb)
    monkeypatch.setenv("HEAR2SEE_MODELS_DIR", str(tmp_path / "env"))
    assert paths.models_dir() == tmp_path / "env" and registry.models_root_override()
    monkeypatch.delenv("HEAR2SEE_MODELS_DIR")
    assert registry.set_models_root(None) == default


def test_a_models_root_that_cannot_be_used_is_one_sentence(tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(BadInputError, match="is a file"):
        registry.set_models_root(a_file)
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o500)
    try:
        if os.access(read_only, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(BadInputError, match="cannot be written"):
            registry.set_models_root(read_only / "models")
    finally:
        read_only.chmod(0o700)
    assert paths.models_dir() == paths.data_dir() / "models"


def test_remove_deletes_only_what_the_entry_installed() -> None:
    root = registry.models_root()
    entry = find_entry("lcm-lora-sd15")
    lora = registry.entry_path(entry, root)
    lora.parent.mkdir(parents=True)
    lora.write_bytes(b"l" * 10)
    mine = lora.parent / "my-style.safetensors"
    mine.write_bytes(b"m")
    assert registry.model_state(entry).state == "installed"
    assert registry.remove("lcm-lora-sd15") == 10
    assert not lora.exists() and mine.exists()

    sd = find_entry("sd15")
    folder = sd.install_dir(root)
    for file in sd.files[:3]:
        (folder / file.path).parent.mkdir(parents=True, exist_ok=True)
        (folder / file.path).write_text("{}")
    (folder / "unet").mkdir()
    (folder / "unet" / "diffusion_pytorch_model.safetensors.part").write_bytes(b"u" * 5)
    state = registry.model_state(sd)
    assert state.state == "partial" and state.partial_bytes == 5 and state.path == folder
    registry.remove("sd15")
    assert not folder.exists() and (root / "sd").is_dir()


def test_the_bundled_catalogue_is_complete_and_matches_where_the_app_looks() -> None:
    from hear2see_desktop.core.asr.whisper_engine import WHISPER_MODEL_FILES
    from hear2see_desktop.core.settings import DEFAULT_MODEL

    entries = load_catalogue()
    names = [entry.name for entry in entries]
    assert len(names) == len(set(names))
    kinds = {entry.kind for entry in entries}
    assert kinds == {"vosk", "sd", "taesd", "lora", "clip", "whisper", "motion", "sound"}
    for expected in ("vosk-en-small", "vosk-en-large", "sd15", "taesd", "lcm-lora-sd15", "clip-vit-b32",
                     "whisper-tiny.en", "whisper-base.en", "animatediff-v1-5-2", "animatediff-v1-5-3", "animatelcm",
                     "animatelcm-lora", "ast-audioset"):
        assert expected in names
    for entry in entries:
        assert entry.title and entry.licence and entry.size_bytes > 0 and entry.files
        assert all(file.url.startswith("https://") for file in entry.files)
        if not entry.is_archive:  # the marker comes last: a half-finished install never looks complete
            assert entry.files[-1].path == entry.marker, entry.name
        if entry.kind == "vosk":
            assert entry.folder.startswith("vosk/") and entry.files[0].url.endswith(".zip")
        if entry.kind == "whisper":
            assert entry.folder.startswith("whisper/")
            assert set(WHISPER_MODEL_FILES) <= {file.path for file in entry.files}
        if entry.kind == "lora":
            assert entry.folder == "loras" and entry.marker.endswith(".safetensors")
        if entry.kind == "motion":  # installed where a motion model's hub id is looked up, as a diffusers folder
            hub_id = entry.homepage.removeprefix("https://huggingface.co/")
            assert entry.folder == f"motion/{hub_id.split('/')[-1]}" and entry.marker == "config.json", entry.name
            assert {file.path for file in entry.files} == {"config.json", "diffusion_pytorch_model.safetensors"}
            assert all(file.url.startswith(f"https://huggingface.co/{hub_id}/resolve/") for file in entry.files)
        if entry.kind == "sound":  # a transformers tagger folder as the sound loader reads it, safetensors only
            assert entry.folder.startswith("sounds/") and entry.marker == "config.json", entry.name
            assert {file.path for file in entry.files} == {"config.json", "model.safetensors",
                                                          "preprocessor_config.json"}
    sd = find_entry("sd15", entries)
    assert sd.folder == "sd/" + DEFAULT_MODEL.split("/")[-1] and sd.marker == "model_index.json"
    sd_paths = {file.path for file in sd.files}
    assert {"unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
            "text_encoder/model.safetensors", "tokenizer/vocab.json", "scheduler/scheduler_config.json"} <= sd_paths
    assert not any("safety_checker" in path or ".fp16." in path or path.endswith(".bin") for path in sd_paths)
    clip = find_entry("clip-vit-b32", entries)
    assert clip.folder == "clip" and clip.marker == "config.json"  # find_clip_model looks at models/clip/config.json


@pytest.mark.parametrize("broken, problem", [
    ({"name": "a", "kind": "vosk", "title": "t", "licence": "l", "size_bytes": 1, "folder": "../x", "marker": "m",
      "files": [{"url": "https://x/a", "path": "a"}]}, "plain relative path"),
    ({"name": "a", "kind": "car", "title": "t", "licence": "l", "size_bytes": 1, "folder": "x", "marker": "m",
      "files": [{"url": "https://x/a", "path": "a"}]}, "kind"),
    ({"name": "a", "kind": "sd", "title": "t", "licence": "l", "size_bytes": 1, "folder": "x", "marker": "m",
      "files": [{"url": "https://x/a", "path": "a", "sha256": "abc"}]}, "sha256"),
])
def test_a_broken_catalogue_is_refused_with_the_reason(broken: dict, problem: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps({"models": [broken]}))
    monkeypatch.setenv("HEAR2SEE_CATALOGUE", str(path))
    with pytest.raises(BadInputError, match=problem):
        load_catalogue()
    path.write_text(json.dumps({"models": [find_entry_raw("taesd"), find_entry_raw("taesd")]}))
    with pytest.raises(BadInputError, match="used twice"):
        load_catalogue()


def find_entry_raw(name: str) -> dict:
    data = json.loads(paths.resource_path("models", "catalogue.json").read_text())
    return next(raw for raw in data["models"] if raw["name"] == name)


def test_helpers_speak_the_users_units(monkeypatch: pytest.MonkeyPatch) -> None:
    assert human_bytes(41_000_000) == "41 MB" and human_bytes(3_438_167_536) == "3.4 GB" and human_bytes(12) == "12 B"
    assert human_duration(45) == "45 s" and human_duration(80) == "1 min 20 s" and human_duration(7500) == "2 h 5 min"
    digest = "a" * 64
    assert hub_sha256(f'"{digest}"') == digest and hub_sha256(f'W/"{digest.upper()}"') == digest
    assert hub_sha256('"0123456789abcdef0123456789abcdef01234567"') is None and hub_sha256(None) is None
    import certifi

    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    assert ssl_context().cert_store_stats()["x509_ca"] > 0
