"""The cost before the click: the settings panel's estimate follows the settings, a render estimated above 30 minutes
asks first (a draft, anyway, or not now), and a first run starts with defaults that fit the machine."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from hear2see_desktop.core.audio import load_audio
from hear2see_desktop.core.render_estimate import LONG_RENDER_S
from hear2see_desktop.core.render_job import RenderJob
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.ui.main_window import MainWindow
from hear2see_desktop.ui.main_window.render_session import ANYWAY, CANCEL, DRAFT, LONG_RENDER_TITLE
from tests.ui.driving import Modals, click
from tests.ui.window_setup import TIMEOUT_MS, make_window, use_tiny_model, wait_idle

WORDS = [Word("A", 0.10, 0.20, 1.0), Word("red", 0.20, 0.40, 1.0), Word("fox", 0.40, 0.70, 1.0),
         Word("runs.", 0.70, 1.00, 1.0), Word("It", 1.40, 1.55, 1.0), Word("stops", 1.55, 1.90, 1.0),
         Word("at", 1.90, 2.00, 1.0), Word("the", 2.00, 2.10, 1.0), Word("river.", 2.10, 2.60, 1.0)]
FOX = Transcript(text=" ".join(w.word for w in WORDS), words=WORDS, engine="given", model="test")


def with_narration(qtbot: QtBot, window: MainWindow, narration: Path) -> None:
    window.set_audio(narration, load_audio(narration), FOX)
    wait_idle(qtbot, window)


def shown_estimate(qtbot: QtBot, window: MainWindow, different_from: str = "") -> str:
    """The panel's estimate once it is worked out (and differs from `different_from`)."""
    label = window.settings_panel.estimate_label
    qtbot.waitUntil(lambda: label.text().startswith("About") and label.text() != different_from, timeout=TIMEOUT_MS)
    return label.text()


def rendering(qtbot: QtBot, window: MainWindow) -> RenderSettings:
    """The settings of the render the window runs once its estimate is in."""
    def render_job() -> RenderJob | None:
        worker = window.workers.get("render")
        return worker.job if worker is not None and isinstance(worker.job, RenderJob) else None

    qtbot.waitUntil(lambda: render_job() is not None, timeout=TIMEOUT_MS)
    job = render_job()
    assert job is not None
    return job.request.settings


def test_the_estimate_follows_the_settings(qtbot: QtBot, tmp_path: Path, narration_wav: Path) -> None:
    window = make_window(qtbot, tmp_path, None, warm_up_asr=False)
    panel = window.settings_panel
    assert "narration" in panel.estimate_label.text()  # nothing to estimate yet
    with_narration(qtbot, window, narration_wav)
    classic_512 = shown_estimate(qtbot, window)
    assert classic_512.endswith("on this CPU (rough until a first render). Above 30 min: the draft would take "
                                f"about {classic_512.split('about ')[-1]}")
    assert window.estimates.latest is not None and window.estimates.latest.render.seconds > LONG_RENDER_S
    panel.width_px.setValue(256)
    panel.height_px.setValue(256)
    classic_256 = shown_estimate(qtbot, window, classic_512)
    seconds_256 = window.estimates.latest.render.seconds
    assert seconds_256 < LONG_RENDER_S < window.estimates.latest.draft.seconds * 100
    panel.mode.setCurrentIndex(panel.mode.findData("smooth"))
    shown_estimate(qtbot, window, classic_256)
    assert window.estimates.latest.render.seconds < seconds_256 / 2  # smooth: a small share of classic's samples
    panel.mode.setCurrentIndex(panel.mode.findData("animate"))
    panel.width_px.setValue(384)
    panel.height_px.setValue(384)
    qtbot.waitUntil(lambda: "Animate above 256 px on a CPU" in panel.estimate_label.text(), timeout=TIMEOUT_MS)


def test_a_render_above_thirty_minutes_asks_first_and_offers_the_draft(
        qtbot: QtBot, tmp_path: Path, narration_wav: Path, tiny_models: tuple[Path, Path, Path],
        modals: Modals) -> None:
    window = make_window(qtbot, tmp_path, None, warm_up_asr=False)
    with_narration(qtbot, window, narration_wav)
    use_tiny_model(window, tiny_models[0])
    panel = window.settings_panel
    panel.frames.setValue(0)  # one image per output frame, 25 steps at 512 px: hours on a CPU
    panel.steps.setValue(25)
    panel.fps.setValue(8)
    panel.width_px.setValue(512)
    panel.height_px.setValue(512)

    modals.expect_question(LONG_RENDER_TITLE, CANCEL)
    click(qtbot, window.render_button)  # at once, before the panel worked its estimate out: the render's own
    modals.wait_answered(qtbot, TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert window.statusBar().currentMessage() == "Render not started."
    assert window.last_render is None and window.timeline.frame_count() == 0

    modals.expect_question(LONG_RENDER_TITLE, DRAFT)
    click(qtbot, window.render_button)
    modals.wait_answered(qtbot, TIMEOUT_MS)
    # The draft is in the form (what renders is what the user sees), and it is what renders.
    assert (panel.width_px.value(), panel.steps.value(), panel.fps.value()) == (384, 12, 6)
    assert rendering(qtbot, window).width == 384 and rendering(qtbot, window).steps == 12
    click(qtbot, window.cancel_button)
    wait_idle(qtbot, window)

    panel.width_px.setValue(512)
    panel.height_px.setValue(512)
    panel.steps.setValue(25)
    panel.frames.setValue(0)
    # Once the panel's estimate is current, the click takes it without working it out again.
    qtbot.waitUntil(lambda: window.estimates.matching(window.current_settings()) is not None, timeout=TIMEOUT_MS)
    modals.expect_question(LONG_RENDER_TITLE, ANYWAY)
    click(qtbot, window.render_button)
    modals.wait_answered(qtbot, TIMEOUT_MS)
    assert panel.width_px.value() == 512 and rendering(qtbot, window).width == 512
    click(qtbot, window.cancel_button)
    wait_idle(qtbot, window)


def test_a_short_render_starts_without_a_question(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                                  tiny_models: tuple[Path, Path, Path], modals: Modals) -> None:
    window = make_window(qtbot, tmp_path, None, warm_up_asr=False)
    with_narration(qtbot, window, narration_wav)
    use_tiny_model(window, tiny_models[0], frames=2, steps=2)
    results: list[object] = []
    window.render_finished.connect(results.append)
    click(qtbot, window.render_button)
    qtbot.waitUntil(lambda: bool(results), timeout=TIMEOUT_MS)  # `modals` fails the test on any question


def test_first_run_defaults_fit_the_machine_and_saved_settings_win(qtbot: QtBot, tmp_path: Path) -> None:
    cpu = make_window(qtbot, tmp_path / "cpu", None, first_run=True, warm_up_asr=False)
    settings = cpu.settings_panel.settings()
    assert (settings.mode, settings.width, settings.height) == ("smooth", 256, 256)

    gpu = make_window(qtbot, tmp_path / "gpu", None, first_run=True, warm_up_asr=False,
                      machine_device=lambda _requested: "cuda")
    assert gpu.settings_panel.width_px.value() == 256  # until torch has looked for a GPU, off the UI thread
    qtbot.waitUntil(lambda: gpu.settings_panel.width_px.value() == 512, timeout=TIMEOUT_MS)
    assert gpu.settings_panel.current_mode() == "smooth"

    changed = make_window(qtbot, tmp_path / "changed", None, first_run=True, warm_up_asr=False,
                          machine_device=lambda _requested: "cuda")
    changed.settings_panel.steps.setValue(30)  # the user's choice, made before the GPU was found
    qtbot.waitUntil(lambda: changed.estimates.probe is None and changed.estimates._first_run_shown is None,
                    timeout=TIMEOUT_MS)
    assert changed.settings_panel.width_px.value() == 256 and changed.settings_panel.steps.value() == 30

    saved = make_window(qtbot, tmp_path / "saved", None, warm_up_asr=False, machine_device=lambda _requested: "cuda")
    assert (saved.settings_panel.current_mode(), saved.settings_panel.width_px.value()) == ("classic", 512)
