"""Conversions between numpy RGB arrays (what core jobs produce) and QImage (what widgets draw).

QImage, unlike QPixmap, may be built off the GUI thread, so workers convert frames before they
emit them and the UI thread only ever receives a ready image.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 RGB array as a QImage that owns its pixels.

    The image is a deep copy: the array may be freed or overwritten as soon as this returns.
    Safe to call from a worker thread.
    """
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"An RGB image must have shape (height, width, 3); got {array.shape}.")
    if array.dtype != np.uint8:
        raise ValueError(f"An RGB image must hold uint8 values (0-255); got {array.dtype}.")
    height, width = int(array.shape[0]), int(array.shape[1])
    if height == 0 or width == 0:
        return QImage()
    array = np.ascontiguousarray(array)
    view = QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    # `view` borrows the numpy buffer; copy() detaches it so the array can go.
    return view.copy()


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """A fresh (H, W, 3) uint8 RGB array of any QImage (alpha is dropped); (0, 0, 3) for a null image."""
    if image.isNull():
        return np.zeros((0, 0, 3), dtype=np.uint8)
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    # Rows are padded to 4 bytes, so read whole lines and cut each to width * 3.
    buffer = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()


def sharp_pixmap(image: QImage, size: QSize, ratio: float) -> QPixmap:
    """`image` smoothly scaled to `size` logical pixels at device pixel `ratio`, so it stays sharp on HiDPI screens.

    GUI thread only (QPixmap); callers cache the result, since smooth scaling is the costly part of a repaint.
    """
    scaled = image.scaled(
        max(1, round(size.width() * ratio)),
        max(1, round(size.height() * ratio)),
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    pixmap = QPixmap.fromImage(scaled)
    pixmap.setDevicePixelRatio(ratio)
    return pixmap
