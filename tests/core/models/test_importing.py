"""Importing checkpoints and LoRAs creators already have: offline, header-only recognition, pickles refused.

Every test here runs with sockets blocked to anything but this machine, so an import (and the render of
what was imported) that reached for the network would fail, and the attempt is reported.
"""

from __future__ import annotations

import gzip
import json
import pickle
import socket
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError, ModelMissingError
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.models import importing
from hear2see_desktop.core.models.importing import (
    detect_kind,
    import_checkpoint,
    import_file,
    import_lora,
    list_imported,
)
from hear2see_desktop.core.render import sd15_config
from hear2see_desktop.core.render.model_source import default_single_file_config, resolve_model_source
from hear2see_desktop.core.render_job import RenderJob, RenderRequest
from hear2see_desktop.core.settings import LoraSpec, RenderSettings
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import read_frames

FOX = Transcript(
    text="A red fox runs through the snowy forest at dawn.",
    words=[Word("a", 0.1, 0.2, 1.0), Word("red", 0.2, 0.4, 1.0), Word("fox", 0.4, 0.7, 1.0)],
    engine="given",
    model="test",
)
PROMPTS = [
    "a photo of a cat, highly detailed",
    "A red fox runs through the snowy forest at dawn.",
    "Cinematic lighting, 35mm film, (masterpiece:1.2), Über-café naïve résumé",
    "don't you're it's 1234567 3.14 x-ray e-mail #hashtag @user",
    "東京の夜景 😀👍🏽 ÆØÅ ß Ω ж",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
]
LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> object:
    """Sockets may reach only this machine, and no Hugging Face cache is visible; any attempt fails the test."""
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOCAL_HOSTS:  # type: ignore[index]
            attempts.append(address)
            raise ConnectionRefusedError(f"this test may not reach {address}")

    def connect(sock: socket.socket, address: object) -> None:
        refuse(sock, address)
        real_connect(sock, address)  # type: ignore[arg-type]

    def connect_ex(sock: socket.socket, address: object) -> int:
        refuse(sock, address)
        return real_connect_ex(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path_factory.mktemp("empty-hf-cache")))
    yield attempts
    assert attempts == [], f"the code tried to reach the network: {attempts}"


def instant_ids(text: str) -> list[int]:
    """The real CLIP token ids, from instant-clip-tokenizer (OpenAI's algorithm, its own implementation)."""
    import instant_clip_tokenizer

    tokenizer = instant_clip_tokenizer.Tokenizer()
    return [tokenizer.start_of_text(), *tokenizer.encode(text), tokenizer.end_of_text()]


def render(model: Path, narration: Path, out: Path, config: str | None = None,
           loras: list[LoraSpec] | None = None) -> dict:
    settings = RenderSettings(model=str(model), model_config=config, width=64, height=64, steps=2, fps=4, seed=7,
                              device="cpu", frames=1, loras=loras or [])
    request = RenderRequest(narration, out, settings, transcript=FOX, runs_log=out.with_suffix(".jsonl"),
                            use_cache=False)
    return RenderJob(request).run(no_progress, never_cancelled).record


# ---------------------------------------------------------------------------------------------------------
# A lone SD 1.5 file: bundled configs + a tokenizer built from package data


def test_the_tokenizer_built_from_package_data_gives_the_real_clip_ids(tmp_path: Path) -> None:
    from transformers import CLIPTokenizer

    folder = sd15_config.write_clip_tokenizer_files(tmp_path / "tokenizer")
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).write_bytes(paths.resource_path("sd15", "tokenizer", name).read_bytes())
    tokenizer = CLIPTokenizer.from_pretrained(folder, local_files_only=True)
    assert len(tokenizer) == 49408
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (49406, 49407, 49407)
    for prompt in PROMPTS:
        assert tokenizer(prompt)["input_ids"] == instant_ids(prompt), prompt
    assert tokenizer("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_a_lone_safetensors_gets_a_complete_sd15_folder_with_nothing_else_on_disk(tmp_path: Path) -> None:
    from transformers import CLIPTokenizer

    folder = default_single_file_config()
    assert folder == paths.cache_dir() / "sd15-config"
    for part in ("model_index.json", "scheduler/scheduler_config.json", "unet/config.json", "vae/config.json",
                 "text_encoder/config.json", "feature_extractor/preprocessor_config.json",
                 "tokenizer/tokenizer_config.json", "tokenizer/special_tokens_map.json",
                 "tokenizer/vocab.json", "tokenizer/merges.txt"):
        assert (folder / part).is_file(), part
    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer", local_files_only=True)
    assert tokenizer(PROMPTS[1])["input_ids"] == instant_ids(PROMPTS[1])
    built_at = (folder / "tokenizer" / "vocab.json").stat().st_mtime_ns
    lone = tmp_path / "someone-elses-model.safetensors"
    save_file({"x": torch.zeros(1)}, str(lone))
    source = resolve_model_source(str(lone))
    assert source.kind == "single_file" and source.config_dir == folder.resolve()
    assert (folder / "tokenizer" / "vocab.json").stat().st_mtime_ns == built_at  # built once, then reused


def test_the_bundled_configs_are_sd15_sized() -> None:
    """Instantiated without memory (meta tensors), the bundled configs give SD 1.5's exact parameter counts."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    folder = paths.resource_path("sd15")
    with init_empty_weights():
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
        text_encoder = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))

    def count(model: torch.nn.Module) -> int:
        return sum(parameter.numel() for parameter in model.parameters())

    assert (count(unet), count(vae), count(text_encoder)) == (859_520_964, 83_653_863, 123_060_480)
    assert PNDMScheduler.from_pretrained(folder / "scheduler").config.beta_schedule == "scaled_linear"
    expected = importing.expected_shapes()
    assert (expected.cross_attention_dim, expected.in_channels, expected.text_hidden_size) == (768, 4, 768)


def test_the_bpe_list_is_also_read_from_an_open_clip_style_data_file(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    merges = sd15_config.clip_merges()
    package = tmp_path / "open_clip"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('the package must not be imported')\n")
    text = '"bpe_simple_vocab_16e6.txt#version: 0.2\n' + "\n".join(merges) + "\nmore unused merges\n"
    (package / "bpe_simple_vocab_16e6.txt.gz").write_bytes(gzip.compress(text.encode()))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "open_clip", raising=False)
    where, blob = next(sd15_config._bpe_sources())
    assert where == str(package / "bpe_simple_vocab_16e6.txt.gz")
    assert sd15_config._merges_from_text(blob) == merges


def test_a_changed_bpe_list_is_refused_rather_than_giving_wrong_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    merges = sd15_config.clip_merges()
    tampered = '"bpe_simple_vocab_16e6.txt#version: 0.2\n' + "\n".join(["t h", *merges[1:]]) + "\n"
    monkeypatch.setattr(sd15_config, "_bpe_sources", lambda: iter([("somewhere", tampered.encode())]))
    with pytest.raises(ModelMissingError, match="CLIP tokenizer data"):
        sd15_config.clip_merges()


# ---------------------------------------------------------------------------------------------------------
# Checkpoints


def test_an_imported_checkpoint_is_copied_indexed_and_renders(tiny_models: tuple[Path, Path, Path],
                                                              narration_wav: Path, tmp_path: Path) -> None:
    _, single_file, config_dir = tiny_models
    installed = import_checkpoint(single_file, config_dir=config_dir)
    assert installed == paths.models_dir() / "sd" / single_file.name
    assert installed.read_bytes() == single_file.read_bytes()
    [entry] = list_imported("checkpoint")
    assert entry["path"] == str(installed) and entry["source"] == str(single_file.absolute())
    assert entry["kind"] == "checkpoint" and len(entry["sha256"]) == 64 and entry["config"] == str(config_dir)
    assert sorted(p.name for p in installed.parent.iterdir()) == [single_file.name]  # no .part left behind
    record = render(installed, narration_wav, tmp_path / "imported.mp4", config=entry["config"])
    assert record.model.kind == "single_file"
    assert len(list(read_frames(tmp_path / "imported.mp4"))) == record.output_frames


def test_reimporting_the_same_file_is_a_no_op(tiny_models: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, single_file, config_dir = tiny_models
    first = import_checkpoint(single_file, config_dir=config_dir)
    written_at = first.stat().st_mtime_ns
    copy = tmp_path / "renamed-copy.safetensors"
    copy.write_bytes(single_file.read_bytes())
    assert import_checkpoint(single_file, config_dir=config_dir) == first
    assert import_checkpoint(copy, config_dir=config_dir) == first  # same bytes, other name
    assert first.stat().st_mtime_ns == written_at and len(list_imported()) == 1
    # A different file under a taken name gets the hash in its name instead of replacing the first.
    other = tmp_path / "other" / single_file.name
    other.parent.mkdir()
    tensors = load_file(single_file)
    tensors["model.diffusion_model.out.2.bias"] = tensors["model.diffusion_model.out.2.bias"] + 1
    save_file(tensors, str(other))
    second = import_checkpoint(other, config_dir=config_dir)
    assert second != first and second.name.startswith(single_file.stem + "-")
    assert [entry["path"] for entry in list_imported()] == [str(first), str(second)]
    first.unlink()
    assert [entry["path"] for entry in list_imported()] == [str(second)]  # pickers list what is still there


def test_the_tiny_checkpoint_is_not_taken_for_sd15(tiny_models: tuple[Path, Path, Path]) -> None:
    with pytest.raises(BadInputError, match=r"32-wide text conditioning, which does not fit Stable Diffusion 1.5"):
        import_checkpoint(tiny_models[1])
    assert list_imported() == []
    assert not paths.models_dir().exists() or not [p for p in paths.models_dir().rglob("*") if p.is_file()]


def fake_checkpoint(path: Path, cross_attention_dim: int = 768, in_channels: int = 4, **extra: tuple) -> Path:
    """A header-true stand-in: real tensor names and shapes of the layers the check reads, tiny elsewhere."""
    tensors = {
        "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(320, in_channels, 3, 3, dtype=torch.float16),
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight":
            torch.zeros(320, cross_attention_dim, dtype=torch.float16),
        "first_stage_model.decoder.conv_in.bias": torch.zeros(4),
        "cond_stage_model.transformer.text_model.final_layer_norm.bias": torch.zeros(4),
    }
    tensors.update({name: torch.zeros(shape) for name, shape in extra.items()})
    save_file(tensors, str(path))
    return path


@pytest.mark.parametrize(
    ("make", "looks_like"),
    [
        (lambda p: fake_checkpoint(p, 1024), "a checkpoint for Stable Diffusion 2.x"),
        (lambda p: fake_checkpoint(p, 2048, **{"conditioner.embedders.0.x": (1,)}), "an SDXL checkpoint"),
        (lambda p: fake_checkpoint(p, 768, 9), "an inpainting checkpoint"),
    ],
)
def test_other_model_families_are_refused_by_name(make: object, looks_like: str, tmp_path: Path) -> None:
    path = make(tmp_path / "downloaded.safetensors")  # type: ignore[operator]
    with pytest.raises(BadInputError) as refused:
        import_checkpoint(path)
    assert str(refused.value) == (f"downloaded.safetensors looks like {looks_like}, which does not fit Stable "
                                  "Diffusion 1.5: only Stable Diffusion 1.5 models and LoRAs can be used.")
    assert list_imported() == []


def test_an_sd15_shaped_checkpoint_passes_the_check(tmp_path: Path) -> None:
    installed = import_checkpoint(fake_checkpoint(tmp_path / "sd15-shaped.safetensors"))
    assert installed.parent == paths.models_dir() / "sd"


# ---------------------------------------------------------------------------------------------------------
# LoRAs in both key formats


def test_loras_in_kohya_and_diffusers_formats_import_and_change_the_picture(
    tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path
) -> None:
    from tests.tiny_lora import save_tiny_lora, save_tiny_lora_kohya, save_tiny_lora_peft

    folder, single_file, config_dir = tiny_models
    model = import_checkpoint(single_file, config_dir=config_dir)
    sources = {
        "diffusers": save_tiny_lora(folder, tmp_path / "diffusers"),
        "peft": save_tiny_lora_peft(folder, tmp_path / "peft.safetensors"),
        "kohya": save_tiny_lora_kohya(folder, tmp_path / "kohya.safetensors", text_encoder=False),
        "kohya_te": save_tiny_lora_kohya(folder, tmp_path / "kohya_te.safetensors", alpha=2),
    }
    assert {name: detect_kind(path) for name, path in sources.items()} == dict.fromkeys(sources, "lora")
    installed = {name: import_lora(path, config_dir=config_dir) for name, path in sources.items()}
    formats = {Path(entry["path"]).name: entry["format"] for entry in list_imported("lora")}
    assert formats == {"pytorch_lora_weights.safetensors": "diffusers", "peft.safetensors": "diffusers",
                       "kohya.safetensors": "kohya", "kohya_te.safetensors": "kohya"}
    assert all(path.parent == paths.models_dir() / "loras" for path in installed.values())

    def picture(name: str | None) -> str:
        loras = [LoraSpec(str(installed[name]), 1.0)] if name else []
        record = render(model, narration_wav, tmp_path / f"{name}.mp4", config=str(config_dir), loras=loras)
        return record.output.sha256

    base = picture(None)
    shas = {name: picture(name) for name in installed}
    # The same factors in three key layouts are the same change to the model ...
    assert shas["diffusers"] == shas["peft"] == shas["kohya"] != base
    # ... and kohya's text-encoder layers and alpha (scale alpha / rank) take effect too.
    assert shas["kohya_te"] not in (base, shas["kohya"])
    assert picture(None) == base


def test_a_lora_for_another_model_family_is_refused(tmp_path: Path) -> None:
    sdxl = tmp_path / "sdxl_lora.safetensors"
    save_file({"lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight": torch.zeros(4, 2048),
               "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight": torch.zeros(640, 4)},
              str(sdxl))
    with pytest.raises(BadInputError, match="looks like a LoRA for SDXL, which does not fit Stable Diffusion 1.5"):
        import_lora(sdxl)
    sd15 = tmp_path / "sd15_lora.safetensors"
    save_file({"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight":
               torch.zeros(4, 768), "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight":
               torch.zeros(4, 768)}, str(sd15))
    assert import_lora(sd15).parent == paths.models_dir() / "loras"


# ---------------------------------------------------------------------------------------------------------
# Recognising a file from its header


def test_detect_kind_reads_only_the_header(tiny_models: tuple[Path, Path, Path], tmp_path: Path) -> None:
    assert detect_kind(tiny_models[1]) == "checkpoint"
    random_weights = tmp_path / "random.safetensors"
    save_file({"encoder.weight": torch.randn(3, 3), "decoder.bias": torch.randn(3)}, str(random_weights))
    with pytest.raises(BadInputError, match=r"^random.safetensors is not an SD 1.5 checkpoint or LoRA: "):
        detect_kind(random_weights)
    not_safetensors = tmp_path / "notes.safetensors"
    not_safetensors.write_text("hello, this is text")
    with pytest.raises(BadInputError, match=r"^The file .*notes.safetensors is not a safetensors file \(its header"):
        detect_kind(not_safetensors)
    with pytest.raises(BadInputError, match="is a checkpoint, not a LoRA"):
        import_lora(tiny_models[1])
    assert import_file(tiny_models[1], config_dir=tiny_models[2])[0] == "checkpoint"


def test_a_cut_short_checkpoint_is_refused_at_import_with_nothing_left(tiny_models: tuple[Path, Path, Path],
                                                                      tmp_path: Path) -> None:
    whole = tiny_models[1].read_bytes()
    cut = tmp_path / "half-downloaded.safetensors"
    cut.write_bytes(whole[: len(whole) * 2 // 3])  # the header is whole, the tensors are not
    with pytest.raises(BadInputError, match=r"^The file .*half-downloaded.safetensors is cut short \("):
        import_file(cut, config_dir=tiny_models[2])
    leftovers = [p for p in paths.models_dir().rglob("*") if p.is_file()] if paths.models_dir().exists() else []
    assert leftovers == []


# ---------------------------------------------------------------------------------------------------------
# Pickles


class WritesAFile:
    """A pickle payload: unpickling it calls Path.write_text, as a malicious checkpoint would run code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.write_text, (self.marker, "this pickle ran code"))


def crafted_checkpoints(folder: Path, marker: Path) -> list[Path]:
    """The payload as a raw pickle (.ckpt) and inside a torch.save zip beside real weights (.pt)."""
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / "evil.ckpt"
    raw.write_bytes(pickle.dumps({"state_dict": {"w": torch.zeros(2)}, "payload": WritesAFile(marker)}))
    zipped = folder / "evil.pt"
    torch.save({"state_dict": {"model.diffusion_model.x": torch.zeros(2)}, "payload": WritesAFile(marker)}, zipped)
    return [raw, zipped]


def test_the_crafted_pickle_really_would_write_a_file(tmp_path: Path) -> None:
    """The control: plain pickle loading does run the payload, so the test below is about something real."""
    marker = tmp_path / "control-marker.txt"
    for path in crafted_checkpoints(tmp_path / "files", marker):
        if path.suffix == ".ckpt":
            pickle.loads(path.read_bytes())
    assert marker.read_text() == "this pickle ran code"


def test_a_crafted_pickle_is_never_executed_trusted_or_not(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    for path in crafted_checkpoints(tmp_path / "files", marker):
        with pytest.raises(BadInputError, match=rf"^{path.name} is a pickle-based file, which can run code"):
            import_checkpoint(path)
        with pytest.raises(BadInputError, match="pickle-based"):
            detect_kind(path)
        with pytest.raises(BadInputError, match="pickle-based"):
            resolve_model_source(str(path))
        with pytest.raises(BadInputError, match=rf"^{path.name} holds more than plain weights .* cannot be converted"):
            import_checkpoint(path, trust_pickle=True)
        with pytest.raises(BadInputError, match="cannot be converted safely"):
            import_file(path, trust_pickle=True)
        assert not marker.exists()
    assert list_imported() == []
    leftovers = [p for p in paths.models_dir().rglob("*") if p.is_file()] if paths.models_dir().exists() else []
    assert leftovers == []


def test_a_trusted_plain_weights_pickle_is_converted_to_safetensors_once(tiny_models: tuple[Path, Path, Path],
                                                                        tmp_path: Path) -> None:
    from tests.tiny_lora import save_tiny_lora

    folder, single_file, config_dir = tiny_models
    tensors = load_file(single_file)
    ckpt = tmp_path / "tiny-sd15.ckpt"
    torch.save({"state_dict": tensors, "global_step": 1234, "epoch": 3}, ckpt)
    with pytest.raises(BadInputError, match="pickle-based"):
        import_checkpoint(ckpt, config_dir=config_dir)
    installed = import_checkpoint(ckpt, trust_pickle=True, config_dir=config_dir)
    assert installed == paths.models_dir() / "sd" / "tiny-sd15.safetensors"
    converted = load_file(installed)
    assert converted.keys() == tensors.keys() and all(torch.equal(converted[k], tensors[k]) for k in tensors)
    [entry] = list_imported()
    assert entry["converted_from"] == "ckpt" and entry["source"] == str(ckpt.absolute())
    assert import_checkpoint(ckpt, trust_pickle=True, config_dir=config_dir) == installed  # converted once
    # A LoRA saved with torch.save (.bin): its kind is found once it has been read safely.
    lora = load_file(save_tiny_lora(folder, tmp_path / "lora"))
    torch.save(lora, tmp_path / "pytorch_lora_weights.bin")
    kind, lora_path = import_file(tmp_path / "pytorch_lora_weights.bin", trust_pickle=True, config_dir=config_dir)
    assert kind == "lora" and lora_path == paths.models_dir() / "loras" / "pytorch_lora_weights.safetensors"
    assert json.loads(importing.index_path().read_text())["imported"][-1]["format"] == "diffusers"

