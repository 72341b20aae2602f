"""The Caption style dialog: its preview redraws as fields change (the caption where the style puts it, in its
colours), the installed fonts are listed by a worker, and the panel keeps the chosen style for the render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.caption_preview import caption_preview, sample_frame
from hear2see_desktop.core.caption_style import CaptionStyle
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.ui.caption_style_dialog import CaptionStyleDialog
from hear2see_desktop.ui.export_dialog import ExportDialog
from hear2see_desktop.ui.images import qimage_to_rgb
from hear2see_desktop.ui.render_settings_panel import RenderSettingsPanel
from tests.ui.driving import click


def preview_rgb(dialog: CaptionStyleDialog) -> np.ndarray:
    return qimage_to_rgb(dialog.preview_image().toImage())


def caption_rows(dialog: CaptionStyleDialog) -> tuple[np.ndarray, int]:
    """The rows the caption covers in the preview, and the preview's height."""
    shown = preview_rgb(dialog)
    background = sample_frame(shown.shape[1], shown.shape[0])
    return np.flatnonzero(np.any(shown != background, axis=(1, 2))), shown.shape[0]


def test_the_preview_follows_the_fields(qtbot: QtBot) -> None:
    dialog = CaptionStyleDialog(CaptionStyle(), (576, 1024))
    qtbot.addWidget(dialog)
    dialog.show()
    shown = preview_rgb(dialog)
    assert shown.shape[0] > shown.shape[1], "the preview has the video's vertical shape"
    assert np.array_equal(shown, caption_preview(CaptionStyle(), 576, 1024, shown.shape[0])), \
        "the preview is the render's own drawing"
    rows, height = caption_rows(dialog)
    assert rows.min() > height / 2, "a bottom caption starts in the lower half"

    dialog.position.setCurrentIndex(dialog.position.findData("top"))
    rows, height = caption_rows(dialog)
    assert rows.max() < height / 2, "after choosing Top the caption is in the upper half"

    dialog.highlight_colour.set_colour("#00FF00")
    green = lambda rgb: np.all(np.abs(rgb.astype(int) - [0, 255, 0]) < 50, axis=2).sum()  # noqa: E731
    assert green(preview_rgb(dialog)) == 0, "no highlighting until it is ticked"
    dialog.highlight.setChecked(True)
    assert green(preview_rgb(dialog)) > 10, "the spoken word in the highlight colour"

    dialog.colour.set_colour("#FF0000")
    red = np.all(np.abs(preview_rgb(dialog).astype(int) - [255, 0, 0]) < 50, axis=2).sum()
    assert red > 10
    assert dialog.style() == CaptionStyle(position="top", highlight="word", highlight_colour="#00FF00",
                                          colour="#FF0000")


def test_the_installed_fonts_are_listed_without_blocking(qtbot: QtBot) -> None:
    dialog = CaptionStyleDialog(CaptionStyle(), (512, 512))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.fonts_listed, timeout=30_000)
    names = [dialog.font_combo.itemText(i) for i in range(dialog.font_combo.count())]
    assert "DejaVu Sans Condensed Bold" in names and dialog.font_combo.currentData() == ""
    before = preview_rgb(dialog)
    dialog.font_combo.setCurrentIndex(names.index("DejaVu Sans Condensed Bold"))
    assert np.array_equal(preview_rgb(dialog), before), "the bundled font by name is the automatic choice"
    assert dialog.style().font == "DejaVu Sans Condensed Bold"


def test_the_panel_keeps_the_style_chosen_in_the_dialog(qtbot: QtBot) -> None:
    panel = RenderSettingsPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.settings().caption_style() == CaptionStyle()
    click(qtbot, panel.captions_field.style_button)
    dialog = panel.captions_field.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.max_chars.setValue(20)
    dialog.position.setCurrentIndex(dialog.position.findData("middle"))
    with qtbot.waitSignal(panel.settings_changed):
        dialog.accept()
    assert panel.settings().caption_style() == CaptionStyle(max_chars=20, position="middle")

    # Cancel keeps what was there.
    click(qtbot, panel.captions_field.style_button)
    qtbot.waitUntil(lambda: panel.captions_field.dialog is not None)
    panel.captions_field.dialog.max_lines.setValue(1)
    panel.captions_field.dialog.reject()
    assert panel.settings().caption_style().max_lines == 2

    # A project's style comes back into the panel as it was saved.
    saved = RenderSettings(captions=True).with_caption_style(CaptionStyle(colour="#FFEE00", highlight="word"))
    panel.set_settings(saved)
    assert panel.settings().caption_style() == saved.caption_style() and panel.captions.isChecked()


def test_the_export_dialog_offers_ass_beside_srt_and_vtt(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = ExportDialog(tmp_path / "fox", True, True, has_word_times=True)
    qtbot.addWidget(dialog)
    assert dialog.ass_check.isEnabled() and not dialog.ass_check.isChecked()
    dialog.mp4_path.setText(str(tmp_path / "out" / "clip.mp4"))
    assert dialog.ass_path.text() == str(tmp_path / "out" / "clip.ass")
    dialog.ass_check.setChecked(True)
    assert dialog.choice().ass == tmp_path / "out" / "clip.ass"
    without = ExportDialog(tmp_path / "fox", True, True, has_word_times=False)
    qtbot.addWidget(without)
    assert not without.ass_check.isEnabled() and without.choice().ass is None
