"""The settings panel's Aspect picker and the preview of a vertical frame, as a creator meets them."""

from __future__ import annotations

import numpy as np
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.ui.images import qimage_to_rgb, rgb_to_qimage
from hear2see_desktop.ui.preview_view import PreviewView
from hear2see_desktop.ui.render_settings_panel import RenderSettingsPanel


def make_panel(qtbot: QtBot) -> RenderSettingsPanel:
    panel = RenderSettingsPanel()
    qtbot.addWidget(panel)
    return panel


def choose(panel: RenderSettingsPanel, aspect: str) -> None:
    index = panel.aspect.findData(aspect)
    assert index >= 0, f"the picker has no {aspect}"
    panel.aspect.setCurrentIndex(index)


def size(panel: RenderSettingsPanel) -> tuple[int, int]:
    settings = panel.settings()
    return settings.width, settings.height


def test_the_picker_offers_the_shapes_short_videos_use_and_custom(qtbot: QtBot) -> None:
    panel = make_panel(qtbot)
    offered = [panel.aspect.itemData(i) for i in range(panel.aspect.count())]
    assert offered == ["16:9", "9:16", "1:1", "4:5", "custom"]
    assert "Shorts" in panel.aspect.itemText(1)
    assert panel.aspect.currentData() == "1:1", "the default 512x512 is square"


def test_choosing_an_aspect_sets_its_size_and_the_settings_follow(qtbot: QtBot) -> None:
    panel = make_panel(qtbot)
    with qtbot.waitSignal(panel.settings_changed):
        choose(panel, "9:16")
    assert size(panel) == (384, 704)
    choose(panel, "16:9")
    assert size(panel) == (704, 384)
    choose(panel, "4:5")
    assert size(panel) == (448, 576)
    choose(panel, "1:1")
    assert size(panel) == (512, 512), "back to the square it left"


def test_a_draft_size_stays_a_draft_in_another_shape(qtbot: QtBot) -> None:
    panel = make_panel(qtbot)
    panel.set_settings(RenderSettings(width=256, height=256))
    choose(panel, "9:16")
    assert size(panel) == (192, 320)


def test_typing_a_size_of_no_preset_shape_shows_custom_and_a_preset_shape_names_it(qtbot: QtBot) -> None:
    panel = make_panel(qtbot)
    panel.width_px.setValue(640)
    panel.height_px.setValue(448)
    assert panel.aspect.currentData() == "custom" and size(panel) == (640, 448), "the typed size is kept"
    panel.width_px.setValue(768)
    panel.height_px.setValue(432)
    assert panel.aspect.currentData() == "16:9" and size(panel) == (768, 432)
    choose(panel, "custom")
    assert size(panel) == (768, 432), "Custom leaves the size to the user"


def test_saved_settings_reopen_with_their_aspect(qtbot: QtBot) -> None:
    panel = make_panel(qtbot)
    saved = RenderSettings.from_dict(RenderSettings(width=384, height=704, mode="smooth").to_dict())
    panel.set_settings(saved)
    assert panel.aspect.currentData() == "9:16" and size(panel) == (384, 704)


def test_the_quality_presets_keep_the_chosen_shape(qtbot: QtBot) -> None:
    panel = make_panel(qtbot)
    choose(panel, "9:16")
    panel.apply_preset("Draft")  # a 384 px square preset, made vertical with about as many pixels
    width, height = size(panel)
    assert height > width and panel.aspect.currentData() == "9:16" and (width, height) == (320, 576)
    panel.apply_preset("Balanced")
    assert size(panel) == (384, 704)
    choose(panel, "custom")
    panel.apply_preset("Balanced")
    assert size(panel) == (512, 512), "with Custom the preset's own size"


def test_a_vertical_frame_is_previewed_upright_with_its_caption_wrapped_inside(qtbot: QtBot) -> None:
    view = PreviewView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    frame = np.full((704, 384, 3), 200, dtype=np.uint8)
    view.show_image(rgb_to_qimage(frame), "Image 3 at 2.4 s, a red fox runs through the snowy forest at dawn")
    target = view.image_rect()
    assert target.height() == 300 and abs(target.width() - round(300 * 384 / 704)) <= 1, "the frame was stretched"
    assert abs(target.center().x() - 200) <= 1
    band = view.caption_rect()
    assert target.contains(band), "the caption leaves the frame"
    assert band.height() > 2 * view.fontMetrics().height(), "a long caption on a narrow frame is not wrapped"

    pixels = qimage_to_rgb(view.grab().toImage())
    left_bar = pixels[:, : target.left() - 1]
    right_bar = pixels[:, target.right() + 2 :]
    assert (left_bar == left_bar[0, 0]).all() and (right_bar == right_bar[0, 0]).all(), "the bars show picture"
    above_caption = pixels[target.top() + 2 : band.top() - 2, target.left() + 2 : target.right() - 1]
    assert (np.abs(above_caption.astype(int) - 200) <= 2).all(), "the frame's pixels are not its own"
