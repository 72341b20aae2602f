"""Offline quality metrics for rendered clips: audio onsets, AV-Align and optical-flow flicker.

Kept free of Qt and of model downloads so the CLI, the UI and tests can score any MP4 the app writes.
`av_align` and `flicker` need OpenCV (`opencv-python-headless`); `onsets` needs only numpy/scipy.
"""
