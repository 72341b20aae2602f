"""LoRA training end to end on the tiny pipeline: real diffusers and PEFT, a tiny set of coloured shapes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

from hear2see_desktop import __version__
from hear2see_desktop.core.errors import BadInputError, CancelledError, Fix, ModelMissingError
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.training.checkpoints import LORA_NAME, checkpoints_dir, saved_checkpoints
from hear2see_desktop.core.training.dataset import load_dataset
from hear2see_desktop.core.training.lora_train import TrainLoraJob, TrainResult, TrainSettings, samples_dir
from tests.core.training.lora_setup import PROMPT, render
from tests.tiny_dataset import write_shapes_dataset

# A high learning rate and a batch of 4 make the loss fall clearly within 30 steps on the tiny model;
# alpha = 2 x rank checks that the scale is folded into the file.
FAST = TrainSettings(rank=4, alpha=8.0, steps=30, learning_rate=1e-2, resolution=64, batch_size=4, seed=3,
                     device="cpu", every=15, validation_prompt=PROMPT, validation_steps=2)


@dataclass
class Trained:
    result: TrainResult
    settings: TrainSettings
    dataset: Path
    previews: list[np.ndarray]
    steps: list[tuple[int, int, float]]


@pytest.fixture(scope="module")
def trained(tiny_models: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """One 30-step run on the diffusers folder, shared by the tests that read its output."""
    root = tmp_path_factory.mktemp("trained")
    previews: list[np.ndarray] = []

    def progress(done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
        if preview is not None:
            previews.append(preview)

    settings = replace(FAST, base=str(tiny_models[0]))
    dataset = write_shapes_dataset(root / "shapes")
    (root / "out").mkdir()
    steps: list[tuple[int, int, float]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HEAR2SEE_HOME", str(root / "home"))  # the weights-hash cache goes here
        result = TrainLoraJob(dataset, root / "out" / "style.safetensors", settings,
                              on_step=lambda step, total, loss: steps.append((step, total, loss))).run(
            progress, never_cancelled)
    return Trained(result, settings, dataset, previews, steps)




def lora_weights_in(model: torch.nn.Module, file_keys: list[str], prefix: str) -> dict[str, torch.Tensor]:
    """The loaded LoRA factors of `model`, under the file's key names (one adapter loaded)."""
    found = {}
    for key in file_keys:
        module_name, _, rest = key.removeprefix(prefix).rpartition(".lora_")
        layer = getattr(model.get_submodule(module_name), f"lora_{rest.split('.')[0]}")
        (adapter,) = layer.keys()
        found[key] = layer[adapter].weight.detach().float()
    return found


def test_the_loss_falls_over_a_few_dozen_steps(trained: Trained) -> None:
    losses = trained.result.losses
    assert len(losses) == 30 and trained.result.steps == 30
    assert trained.steps == [(i + 1, 30, loss) for i, loss in enumerate(losses)]  # each step as a typed event
    assert all(np.isfinite(losses))
    first, last = float(np.mean(losses[:5])), float(np.mean(losses[-5:]))
    assert last < 0.9 * first, f"mean loss went from {first:.3f} to {last:.3f}"
    assert trained.result.final_loss == losses[-1]


def test_the_file_is_a_diffusers_lora_that_records_the_run(trained: Trained) -> None:
    from hear2see_desktop.core.models.importing import detect_kind, lora_format, read_safetensors_shapes

    out = trained.result.out_path
    assert detect_kind(out) == "lora"
    names = list(read_safetensors_shapes(out))
    assert lora_format(names) == "diffusers"
    assert all(name.startswith("unet.") for name in names)
    assert {name.rsplit(".", 2)[-2] for name in names} == {"lora_A", "lora_B"}
    assert {name.split(".lora_")[0].rsplit(".", 1)[-1] for name in names} >= {"to_q", "to_k", "to_v", "0"}
    with safe_open(str(out), "pt") as handle:
        metadata = handle.metadata()
    expected_hash = load_dataset(trained.dataset).sha256
    assert metadata["base_model"] == trained.settings.base
    assert (metadata["rank"], metadata["alpha"], metadata["steps"]) == ("4", "8", "30")
    assert (metadata["resolution"], metadata["seed"]) == ("64", "3")
    assert metadata["dataset_sha256"] == expected_hash and len(metadata["base_model_sha256"]) == 64
    assert metadata["software"] == f"hear2see {__version__}"
    assert (metadata["precision"], metadata["gradient_checkpointing"]) == ("fp32", "off")  # auto, on the CPU
    # Nothing half-written is left beside it; checkpoints and validation images are where they should be.
    assert sorted(p.name for p in out.parent.iterdir()) == ["style.checkpoints", "style.safetensors",
                                                           "style.samples"]
    assert [step for step, _ in saved_checkpoints(checkpoints_dir(out))] == [15, 30]
    assert [p.name for p in trained.result.samples] == ["step-000015.png", "step-000030.png"]
    assert all(p.parent == samples_dir(out) and p.is_file() for p in trained.result.samples)
    assert len(trained.previews) == 2
    assert all(p.shape == (64, 64, 3) and p.dtype == np.uint8 for p in trained.previews)


def test_both_loaders_read_the_trained_weights_and_draw_what_training_drew(
    trained: Trained, tiny_models: tuple[Path, Path, Path]
) -> None:
    from hear2see_desktop.core.render.devices import DeviceChoice
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import apply_loras, get_pipeline, release
    from hear2see_desktop.core.settings import LoraSpec
    from tests.tiny_pipeline import load_tiny_diffusers

    release()  # a fresh copy: an earlier test's render may have left another scheduler on the cached one
    out = trained.result.out_path
    saved = load_file(str(out))
    # The file holds the last checkpoint's weights with alpha / rank (= 2) folded into lora_B.
    checkpoint = load_file(str(checkpoints_dir(out) / "step-000030" / LORA_NAME))
    for key, tensor in saved.items():
        scale = 2.0 if ".lora_B." in key else 1.0
        assert torch.allclose(tensor, checkpoint[key] * scale), key
    assert any(tensor.abs().max() > 0 for key, tensor in saved.items() if ".lora_B." in key)

    plain = load_tiny_diffusers(tiny_models[0])
    plain.load_lora_weights(str(out))
    loaded = get_pipeline(resolve_model_source(str(tiny_models[0])), DeviceChoice("cpu", "float32"))
    try:
        apply_loras(loaded, [LoraSpec(str(out), 1.0)])
        for pipe in (plain, loaded.pipe):
            weights = lora_weights_in(pipe.unet, list(saved), "unet.")
            assert all(torch.equal(weights[key], saved[key]) for key in saved)
        styled, styled_plain = render(loaded.pipe), render(plain)
        apply_loras(loaded, [])
        base = render(loaded.pipe)
    finally:
        apply_loras(loaded, [])
    assert np.array_equal(styled, styled_plain)
    assert np.abs(styled.astype(int) - base.astype(int)).mean() > 1.0, "the LoRA did not change the picture"
    # What the loaders draw is what training drew at its last step (same prompt, seed and steps).
    drawn_in_training = np.asarray(Image.open(trained.result.samples[-1]).convert("RGB"))
    assert np.abs(drawn_in_training.astype(int) - styled.astype(int)).max() <= 2


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(
    tiny_models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Single-file base, text encoder trained too: stop at step 3 of 6, resume, compare with a straight run."""
    _, single_file, config_dir = tiny_models
    dataset = write_shapes_dataset(tmp_path / "shapes", count=5, captions="jsonl")
    settings = TrainSettings(base=str(single_file), base_config=str(config_dir), rank=4, steps=6, learning_rate=1e-2,
                             resolution=64, batch_size=2, seed=5, device="cpu", every=4, train_text_encoder=True,
                             caption_prefix="shp style")
    straight = TrainLoraJob(dataset, tmp_path / "straight.safetensors", settings).run(no_progress, never_cancelled)

    out = tmp_path / "stopped.safetensors"
    seen: list[int] = []

    def progress(done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
        if message.startswith("Training"):
            seen.append(done)

    with pytest.raises(CancelledError, match="run again with resume to continue") as cancelled:
        TrainLoraJob(dataset, out, settings).run(progress, lambda: bool(seen) and seen[-1] >= 3)
    assert cancelled.value.fixes == (Fix("resume"),)
    assert not out.exists()
    assert [step for step, _ in saved_checkpoints(checkpoints_dir(out))] == [3]  # kept when cancelled
    with pytest.raises(BadInputError, match="holds checkpoints of an earlier run: continue it with resume"):
        TrainLoraJob(dataset, out, settings).run(no_progress, never_cancelled)
    with pytest.raises(BadInputError, match="different rank"):
        TrainLoraJob(dataset, out, replace(settings, rank=8), resume=True).run(no_progress, never_cancelled)

    resumed = TrainLoraJob(dataset, out, settings, resume=True).run(no_progress, never_cancelled)
    assert resumed.losses == straight.losses and resumed.steps == 6
    expected, got = load_file(str(straight.out_path)), load_file(str(out))
    assert set(got) == set(expected)
    assert any(key.startswith("text_encoder.text_model.") for key in got)
    for key, tensor in expected.items():
        assert torch.allclose(got[key], tensor, rtol=0, atol=1e-6), key
    with pytest.raises(BadInputError, match="There is no checkpoint to resume"):
        TrainLoraJob(dataset, tmp_path / "new.safetensors", settings, resume=True).run(no_progress, never_cancelled)


def _empty(folder: Path) -> None:
    folder.mkdir()


def _missing_caption(folder: Path) -> None:
    write_shapes_dataset(folder)
    (folder / "shape_2.txt").unlink()
    (folder / "shape_4.txt").write_text("  \n", encoding="utf-8")


def _unreadable(folder: Path) -> None:
    write_shapes_dataset(folder)
    (folder / "shape_1.png").write_bytes(b"not a png at all")


def _truncated(folder: Path) -> None:
    write_shapes_dataset(folder)
    data = (folder / "shape_3.png").read_bytes()
    (folder / "shape_3.png").write_bytes(data[: len(data) // 2])


def _too_few(folder: Path) -> None:
    write_shapes_dataset(folder, count=2)


def _bad_metadata(folder: Path) -> None:
    write_shapes_dataset(folder, captions="jsonl")
    with open(folder / "metadata.jsonl", "a", encoding="utf-8") as file:
        file.write('{"file_name": "shape_9.png"}\n')


def _metadata_names_a_missing_image(folder: Path) -> None:
    write_shapes_dataset(folder, captions="jsonl")
    (folder / "shape_0.png").unlink()


@pytest.mark.parametrize(("make", "message"), [
    (_empty, "has no images"),
    (_missing_caption, "2 images in .* have no caption: shape_2.png, shape_4.png"),
    (_unreadable, "1 file in .* could not be read as an image: shape_1.png"),
    (_truncated, "could not be read as an image: shape_3.png"),
    (_too_few, "has 2 captioned images: a LoRA style needs at least 4"),
    (_bad_metadata, "Line 7 of .*metadata.jsonl is not a JSON object"),
    (_metadata_names_a_missing_image, "lists images that are not there: shape_0.png"),
])
def test_a_bad_dataset_is_refused_with_one_sentence_before_any_work(
    make: object, message: str, tiny_models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    make(folder)  # type: ignore[operator]
    seen: list[str] = []
    job = TrainLoraJob(folder, tmp_path / "style.safetensors", replace(FAST, base=str(tiny_models[0])))
    with pytest.raises(BadInputError, match=message) as caught:
        job.run(lambda done, total, text, preview=None: seen.append(text), never_cancelled)
    assert str(caught.value).count("\n") == 0 and str(caught.value).endswith(".")
    assert seen == [] and not (tmp_path / "style.safetensors").exists()


def test_a_missing_dataset_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")


def test_the_dataset_hash_names_images_and_captions_not_where_captions_are_kept(tmp_path: Path) -> None:
    as_txt = load_dataset(write_shapes_dataset(tmp_path / "txt"))
    as_jsonl = load_dataset(write_shapes_dataset(tmp_path / "jsonl", captions="jsonl"))
    assert as_txt.sha256 == as_jsonl.sha256
    assert as_txt.captions[:2] == ["a red square", "a green circle"]
    prefixed = load_dataset(tmp_path / "txt", caption_prefix="shp style")
    assert prefixed.captions[0] == "shp style, a red square" and prefixed.sha256 != as_txt.sha256
    (tmp_path / "txt" / "shape_0.txt").write_text("a crimson square", encoding="utf-8")
    assert load_dataset(tmp_path / "txt").sha256 != as_txt.sha256


@pytest.mark.parametrize(("change", "message"), [
    ({"rank": 2}, "rank must be a whole number from 4 to 128"),
    ({"rank": 256}, "rank must be a whole number from 4 to 128"),
    ({"resolution": 100}, "multiple of 8 between 64 and 2048"),
    ({"learning_rate": 0.0}, "learning rate must be above 0"),
    ({"batch_size": 0}, "batch size must be between 1 and 64"),
    ({"grad_accum": 0}, "Gradient accumulation"),
    ({"every": -1}, "Checkpoints every N steps must be 0"),
    ({"alpha": 0.0}, "alpha must be above 0"),
    ({"warmup_steps": 31}, "Warm-up steps"),
    ({"precision": "fp8"}, "Unknown precision"),
    ({"gradient_checkpointing": "sometimes"}, "Unknown gradient checkpointing 'sometimes'"),
])
def test_settings_out_of_range_are_one_sentence(change: dict[str, object], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        replace(FAST, **change).validate()


def test_a_missing_base_model_says_where_it_looked_like_render(tmp_path: Path) -> None:
    dataset = write_shapes_dataset(tmp_path / "shapes")
    job = TrainLoraJob(dataset, tmp_path / "style.safetensors", TrainSettings(device="cpu"))
    with pytest.raises(ModelMissingError, match="hear2see models download sd15"):
        job.run(no_progress, never_cancelled)


def test_the_output_must_be_a_safetensors_file_in_an_existing_folder(tmp_path: Path) -> None:
    dataset = write_shapes_dataset(tmp_path / "shapes")
    with pytest.raises(BadInputError, match="must end in .safetensors"):
        TrainLoraJob(dataset, tmp_path / "style.pt", FAST).run(no_progress, never_cancelled)
    with pytest.raises(BadInputError, match="does not exist"):
        TrainLoraJob(dataset, tmp_path / "no" / "style.safetensors", FAST).run(no_progress, never_cancelled)
