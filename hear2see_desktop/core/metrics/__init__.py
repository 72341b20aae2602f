"""Offline quality metrics for rendered clips: audio onsets, AV-Align, optical-flow flicker, CLIPSIM, FVD and IS.

Kept free of Qt and of model downloads so the CLI, the UI and tests can score any MP4 the app writes.
`av_align` and `flicker` need OpenCV (`opencv-python-headless`); `onsets` and `frechet` need only numpy/scipy;
CLIPSIM, FVD and IS need torch and model files the user put on disk (`clipsim`, `feature_models`).
"""
