"""Offline quality metrics for rendered clips: AV-Align, optical-flow flicker, CLIPSIM, FVD and IS.

Kept free of Qt and of model downloads so the CLI, the UI and tests can score any MP4 the app writes.
AV-Align is the TempoTokens reference's number (`av_align`, audio onsets as librosa finds them in
`onsets`), with a stricter one-to-one variant beside it (`av_align_one_to_one`, on `spectral_flux`).
`av_align`, `flicker` and `optical_flow` need OpenCV (`opencv-python-headless`); `onsets`,
`spectral_flux` and `frechet` need only numpy/scipy/soxr; CLIPSIM, FVD and IS need torch and model
files the user put on disk (`clipsim`, `feature_models`).
"""
