"""The main window's display widgets: what they hold after their setters, what clicks emit, and
that painting survives odd sizes and extreme inputs (no take, a tiny window, two hours of audio)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.eval_result import EvalResult
from hear2see_desktop.core.metrics.av_align import AvAlignResult
from hear2see_desktop.core.metrics.av_align_one_to_one import OneToOneResult
from hear2see_desktop.core.metrics.flicker import FlickerResult
from hear2see_desktop.core.settings import LoraSpec
from hear2see_desktop.core.transcript import Word
from hear2see_desktop.ui.images import qimage_to_rgb, rgb_to_qimage, sharp_pixmap
from hear2see_desktop.ui.level_meter import PEAK_HOLD_S, LevelMeter
from hear2see_desktop.ui.metrics_panel import MetricsPanel
from hear2see_desktop.ui.preview_view import DEFAULT_HINT, PreviewView
from hear2see_desktop.ui.timeline_view import TimelineView
from hear2see_desktop.ui.waveform_view import ENVELOPE_BUCKETS, WaveformView

SIZES = [(1, 1), (37, 9), (640, 120), (2400, 200)]


def _grab_all_sizes(widget: QWidget) -> None:
    for width, height in SIZES:
        widget.resize(width, height)
        assert not widget.grab().isNull()


def _rgb(height: int, width: int, value: int = 0) -> np.ndarray:
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[..., 0] = value
    rgb[..., 1] = np.arange(width, dtype=np.uint8)[None, :]
    rgb[..., 2] = np.arange(height, dtype=np.uint8)[:, None]
    return rgb


# --- images ---------------------------------------------------------------------------------------
def test_rgb_round_trips_through_qimage_even_with_padded_rows_and_strided_input() -> None:
    rgb = _rgb(7, 5, value=200)  # 15 bytes a row: QImage pads to 16
    assert np.array_equal(qimage_to_rgb(rgb_to_qimage(rgb)), rgb)
    flipped = rgb[:, ::-1]  # not contiguous
    assert np.array_equal(qimage_to_rgb(rgb_to_qimage(flipped)), flipped)


def test_qimage_owns_its_pixels_so_the_array_can_be_reused() -> None:
    rgb = _rgb(4, 6, value=10)
    image = rgb_to_qimage(rgb)
    rgb[:] = 255
    del rgb
    assert qimage_to_rgb(image)[0, 0].tolist() == [10, 0, 0]


def test_rgb_to_qimage_works_in_a_worker_thread() -> None:
    images: list[QImage] = []
    worker = threading.Thread(target=lambda: images.append(rgb_to_qimage(_rgb(8, 8, value=7))))
    worker.start()
    worker.join()
    assert images[0].width() == 8 and qimage_to_rgb(images[0])[3, 3, 0] == 7


def test_rgb_to_qimage_rejects_arrays_that_are_not_rgb_bytes() -> None:
    with pytest.raises(ValueError, match="height, width, 3"):
        rgb_to_qimage(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        rgb_to_qimage(np.zeros((4, 4, 3), dtype=np.float32))
    assert qimage_to_rgb(QImage()).shape == (0, 0, 3)


# --- waveform -------------------------------------------------------------------------------------
def test_sharp_pixmap_holds_device_pixels_and_draws_at_the_logical_size(qtbot: QtBot) -> None:
    rgb = np.zeros((10, 20, 3), dtype=np.uint8)
    rgb[:, 10:] = (255, 0, 0)  # left half black, right half red
    for ratio in (1.0, 2.0, 1.5):
        pixmap = sharp_pixmap(rgb_to_qimage(rgb), QSize(40, 30), ratio)  # stretched: the caller chose the size
        assert (pixmap.width(), pixmap.height()) == (round(40 * ratio), round(30 * ratio))
        assert pixmap.devicePixelRatio() == ratio
        assert pixmap.deviceIndependentSize().toSize() == QSize(40, 30)
        pixels = qimage_to_rgb(pixmap.toImage())
        assert tuple(pixels[5, 2]) == (0, 0, 0) and tuple(pixels[5, -3]) == (255, 0, 0)
    tiny = sharp_pixmap(rgb_to_qimage(rgb), QSize(0, 0), 1.0)
    assert (tiny.width(), tiny.height()) == (1, 1)  # never an empty pixmap a painter would trip on


def test_waveform_keeps_a_bounded_envelope_with_the_true_extremes(qtbot: QtBot) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    samples = np.zeros(48_000, dtype=np.float32)
    samples[10_000], samples[30_000] = 0.9, -0.7
    view.set_samples(samples, sample_rate_hz=16_000)
    mins, maxs = view.envelope()
    assert view.duration_s == pytest.approx(3.0)
    assert len(mins) <= ENVELOPE_BUCKETS
    assert maxs.max() == pytest.approx(0.9) and mins.min() == pytest.approx(-0.7)


def test_waveform_reads_int16_pcm_as_full_scale(qtbot: QtBot) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    view.set_samples(np.array([0, 16384, -32768, 0], dtype=np.int16), sample_rate_hz=8)
    mins, maxs = view.envelope()
    assert maxs.max() == pytest.approx(0.5) and mins.min() == pytest.approx(-1.0)
    assert view.duration_s == pytest.approx(0.5)


def test_waveform_paints_with_no_samples_at_any_size(qtbot: QtBot) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    view.set_samples(np.zeros(0, dtype=np.float32))
    assert view.duration_s == 0.0
    _grab_all_sizes(view)
    view.clear()
    assert view.duration_s == 0.0 and view.playhead_s is None


@pytest.mark.timing
def test_two_hours_of_audio_load_and_paint_fast(qtbot: QtBot) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    samples = np.empty(2 * 3600 * 16_000, dtype=np.float32)
    samples[:] = 0.25
    samples[::977] = -0.5
    start = time.perf_counter()
    view.set_samples(samples)
    load_s = time.perf_counter() - start
    del samples
    view.set_words([Word("w", t, t + 0.3, 0.9) for t in np.arange(0.0, 7200.0, 0.5)])
    view.set_playhead(3600.0)
    start = time.perf_counter()
    _grab_all_sizes(view)
    paint_s = time.perf_counter() - start
    assert view.duration_s == pytest.approx(7200.0)
    assert load_s < 1.0, f"loading two hours of audio took {load_s:.2f} s"
    assert paint_s < 1.0, f"painting two hours of audio at {len(SIZES)} sizes took {paint_s:.2f} s"


def test_click_on_waveform_asks_to_seek_to_that_moment(qtbot: QtBot) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(400, 120)
    view.set_samples(np.zeros(160_000, dtype=np.float32))  # 10 s
    with qtbot.waitSignal(view.seek_requested, timeout=1000) as blocker:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(100, 60))
    assert blocker.args[0] == pytest.approx(2.5, abs=0.05)


def test_click_on_an_empty_waveform_asks_for_nothing(qtbot: QtBot) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(400, 120)
    with qtbot.assertNotEmitted(view.seek_requested):
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(100, 60))


def test_word_labels_that_would_overlap_are_skipped_or_stacked(qtbot: QtBot) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(300, 120)
    view.set_samples(np.zeros(16_000 * 10, dtype=np.float32))
    words = [Word(f"word{i}", i * 0.05, i * 0.05 + 0.04, 1.0) for i in range(50)]  # all in 2.5 s
    view.set_words(words)
    labels = view.visible_word_labels()
    assert 0 < len(labels) < len(words)
    rows: dict[int, list] = {}
    for _, rect in labels:
        rows.setdefault(rect.top(), []).append(rect)
    for rects in rows.values():
        for left, right in zip(rects, rects[1:], strict=False):
            assert not left.intersects(right), "two word labels are drawn on top of each other"
    assert not view.grab().isNull()


def test_recording_grows_the_waveform_chunk_by_chunk(qtbot: QtBot) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(500, 120)
    view.set_live(True)
    assert view.is_live and view.duration_s == 0.0
    rng = np.random.default_rng(1)
    chunks = [(rng.standard_normal(int(rng.integers(1, 9000))) * 0.2).astype(np.float32) for _ in range(60)]
    chunks[17][3] = 0.95
    for chunk in chunks:
        view.append_samples(chunk)
    recorded = np.concatenate(chunks)
    mins, maxs = view.envelope()
    assert view.duration_s == pytest.approx(len(recorded) / 16_000)
    assert len(mins) <= 2 * ENVELOPE_BUCKETS
    assert maxs.max() == pytest.approx(recorded.max()) and mins.min() == pytest.approx(recorded.min())
    assert not view.grab().isNull()
    with qtbot.assertNotEmitted(view.seek_requested):
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(10, 60))
    view.set_live(False)
    assert not view.is_live and view.duration_s == pytest.approx(len(recorded) / 16_000)


def test_recorded_envelope_matches_the_take_bucket_for_bucket(qtbot: QtBot) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    take = np.sin(np.arange(300_000, dtype=np.float32) / 50.0) * np.linspace(0.1, 1.0, 300_000, dtype=np.float32)
    view.set_live(True)
    for start in range(0, len(take), 4_000):
        view.append_samples(take[start : start + 4_000])
    mins, maxs = view.envelope()
    step = view.samples_per_bucket
    assert step > 1, "a long take should have been folded into coarser buckets"
    expected_mins = [take[i : i + step].min() for i in range(0, len(take), step)]
    expected_maxs = [take[i : i + step].max() for i in range(0, len(take), step)]
    assert np.allclose(mins, expected_mins) and np.allclose(maxs, expected_maxs)


def test_playhead_is_set_and_hidden(qtbot: QtBot) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    view.set_samples(np.zeros(16_000, dtype=np.float32))
    view.set_playhead(0.5)
    assert view.playhead_s == 0.5
    view.set_playhead(None)
    assert view.playhead_s is None


def test_waveform_refuses_stereo_and_nonsense_rates(qtbot: QtBot) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    with pytest.raises(ValueError, match="mono"):
        view.set_samples(np.zeros((10, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="sample rate"):
        view.set_samples(np.zeros(10, dtype=np.float32), sample_rate_hz=0)


# --- timeline -------------------------------------------------------------------------------------
def test_preview_is_replaced_by_the_final_frame(qtbot: QtBot) -> None:
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(600, view.sizeHint().height())
    view.set_duration(12.0)
    preview, final = rgb_to_qimage(_rgb(64, 64, 1)), rgb_to_qimage(_rgb(64, 64, 2))
    view.set_frame(0, 3.0, preview, final=False)
    assert view.frame_count() == 1 and not view.has_final(0)
    assert not view.grab().isNull()
    view.set_frame(0, 3.0, final, final=True)
    assert view.frame_count() == 1 and view.has_final(0)
    assert view.frame(0).image is final and view.frame(0).time_s == 3.0
    view.set_frame(0, 3.0, preview, final=False)  # a late preview never hides a finished frame
    assert view.frame(0).image is final
    assert not view.grab().isNull()


def test_thumbnails_keep_aspect_ratio_and_fit_the_strip(qtbot: QtBot) -> None:
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(800, view.sizeHint().height())
    view.set_duration(10.0)
    view.set_frame(0, 0.0, rgb_to_qimage(_rgb(64, 128)), final=True)  # 2:1
    rect = view.thumbnail_rect(0)
    assert rect.height() == 72 and rect.width() == 144
    view.set_frame(1, 10.0, rgb_to_qimage(_rgb(64, 64)), final=True)
    assert view.thumbnail_rect(1).right() <= view.width() - 1, "the last frame runs off the strip"


def test_clicking_a_thumbnail_reports_its_index(qtbot: QtBot) -> None:
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(600, view.sizeHint().height())
    view.set_duration(6.0)
    for index in range(3):
        view.set_frame(index, index * 2.0, rgb_to_qimage(_rgb(32, 32, index)), final=True)
    with qtbot.waitSignal(view.frame_clicked, timeout=1000) as blocker:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.thumbnail_rect(1).center())
    assert blocker.args == [1]


def test_many_close_frames_overlap_with_the_latest_on_top(qtbot: QtBot) -> None:
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(400, view.sizeHint().height())
    view.set_duration(60.0)
    for index in range(40):
        view.set_frame(index, 30.0 + index * 0.01, rgb_to_qimage(_rgb(16, 16, index)), final=index % 2 == 0)
    assert view.frame_count() == 40
    point = view.thumbnail_rect(39).center()
    assert view.index_at(point.x(), point.y()) == 39
    _grab_all_sizes(view)
    view.clear()
    assert view.frame_count() == 0 and not view.has_final(0) and view.duration_s == 60.0


def test_timeline_paints_empty_and_with_null_images(qtbot: QtBot) -> None:
    view = TimelineView()
    qtbot.addWidget(view)
    _grab_all_sizes(view)  # no duration, no frames
    view.set_frame(5, 2.0, QImage(), final=False)  # duration still unknown
    view.set_playhead(1.0)
    _grab_all_sizes(view)
    assert view.frame_count() == 1 and view.playhead_s == 1.0


# --- level meter ----------------------------------------------------------------------------------
class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_level_is_clamped_to_the_meter_scale(qtbot: QtBot) -> None:
    meter = LevelMeter(clock=_Clock())
    qtbot.addWidget(meter)
    meter.set_level(-12.5)
    assert meter.level_dbfs == -12.5
    meter.set_level(float("-inf"))
    assert meter.level_dbfs == -60.0
    meter.set_level(float("nan"))
    assert meter.level_dbfs == -60.0
    meter.set_level(3.0)
    assert meter.level_dbfs == 0.0 and meter.clipped
    meter.reset()
    assert meter.level_dbfs == -60.0 and not meter.clipped


def test_peak_holds_then_falls_but_never_below_the_level(qtbot: QtBot) -> None:
    clock = _Clock()
    meter = LevelMeter(clock=clock)
    qtbot.addWidget(meter)
    meter.set_level(-6.0)
    meter.set_level(-40.0)
    assert meter.peak_dbfs == -6.0
    clock.now += PEAK_HOLD_S * 0.9
    assert meter.peak_dbfs == -6.0
    clock.now += 0.1 + 0.5  # held, then falling for half a second
    assert -40.0 < meter.peak_dbfs < -6.0
    clock.now += 60.0
    assert meter.peak_dbfs == -40.0
    meter.set_level(-30.0)
    assert meter.peak_dbfs == -30.0
    _grab_all_sizes(meter)


# --- preview --------------------------------------------------------------------------------------
def test_preview_shows_an_image_or_a_hint(qtbot: QtBot) -> None:
    view = PreviewView()
    qtbot.addWidget(view)
    assert view.current_image() is None and view.message == DEFAULT_HINT
    _grab_all_sizes(view)
    image = rgb_to_qimage(_rgb(64, 128))
    view.show_image(image, caption="frame 1 of 12")
    assert view.current_image() is image and view.caption == "frame 1 of 12"
    _grab_all_sizes(view)
    view.clear("Rendering was cancelled")
    assert view.current_image() is None and view.message == "Rendering was cancelled"
    assert not view.grab().isNull()


def test_preview_fits_the_image_centred_with_its_aspect_ratio(qtbot: QtBot) -> None:
    view = PreviewView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show_image(rgb_to_qimage(_rgb(100, 200)))  # 2:1 into 4:3
    assert view.image_rect().getRect() == (0, 50, 400, 200)
    view.show_image(rgb_to_qimage(_rgb(200, 100)))  # 1:2
    assert view.image_rect().getRect() == (125, 0, 150, 300)
    pixels = qimage_to_rgb(view.grab().toImage())
    assert pixels.shape[:2] == (300, 400)


def test_the_lcm_draft_preset_needs_the_lcm_lora_and_sets_a_four_step_draft(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hear2see_desktop.ui.render_settings_panel import RenderSettingsPanel

    models = tmp_path / "models"
    monkeypatch.setenv("HEAR2SEE_MODELS_DIR", str(models))
    panel = RenderSettingsPanel()
    qtbot.addWidget(panel)
    assert not panel.lcm_button.isEnabled() and "Models" in panel.lcm_button.toolTip()
    installed = models / "loras" / "lcm-lora-sdv1-5.safetensors"
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"a LoRA file")  # only its presence matters to the picker
    panel.lora_edit.setText("/styles/watercolor.safetensors")
    panel.refresh_model_choices()
    assert panel.lcm_button.isEnabled()
    qtbot.mouseClick(panel.lcm_button, Qt.MouseButton.LeftButton)
    settings = panel.settings()
    assert (settings.scheduler, settings.steps, settings.cfg) == ("lcm", 4, 1.0)
    assert settings.loras == [LoraSpec(str(installed), 1.0)] and settings.width == 384

    # In animate mode the draft is AnimateLCM's: the button waits for its motion module and LoRA.
    panel.mode.setCurrentIndex(panel.mode.findData("animate"))
    assert not panel.lcm_button.isEnabled() and "AnimateLCM" in panel.lcm_button.toolTip()
    motion = models / "motion" / "AnimateLCM"
    motion.mkdir(parents=True)
    for name in ("config.json", "diffusion_pytorch_model.safetensors"):
        (motion / name).write_bytes(b"{}")
    animate_lora = models / "loras" / "AnimateLCM_sd15_t2v_lora.safetensors"
    animate_lora.write_bytes(b"a LoRA file")
    panel.refresh_model_choices()
    assert panel.lcm_button.isEnabled() and "6 steps at CFG 2" in panel.lcm_button.toolTip()
    qtbot.mouseClick(panel.lcm_button, Qt.MouseButton.LeftButton)
    settings = panel.settings()
    assert (settings.mode, settings.scheduler, settings.steps, settings.cfg) == ("animate", "lcm", 6, 2.0)
    assert settings.motion_model == str(motion) and settings.loras == [LoraSpec(str(animate_lora), 0.8)]


def test_metrics_panel_shows_the_reference_av_align_then_the_one_to_one(qtbot: QtBot) -> None:
    panel = MetricsPanel()
    qtbot.addWidget(panel)
    def aligned(score: float | None, strict: float | None) -> AvAlignResult:
        return AvAlignResult(score, (), (), (), (), "", OneToOneResult(strict, (), (), (), ()))

    result = EvalResult(video="v.mp4", frames=3, fps=8.0, duration_s=0.4, av_align=aligned(1.25, 0.4),
                        flicker=FlickerResult(3.04, 9.0, 2), clipsim=None, scene_following=None, fvd=None,
                        inception_score=None, text="", run=None, notes=[])
    panel.show_result(result)
    assert panel.summary.text() == "AV-Align 1.25 (one-to-one 0.40) · CLIPSIM – · flicker 3.0 (plain 9.0)"
    result = replace(result, av_align=aligned(None, None))
    panel.show_result(result)
    assert panel.summary.text().startswith("AV-Align no events · CLIPSIM")
