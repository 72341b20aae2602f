"""A tiny sound-event tagger folder of the real architecture (ASTForAudioClassification + ASTFeatureExtractor),
saved with save_pretrained, for the sound tests. Nothing here downloads.

`save_tiny_tagger` writes random weights; `save_loudness_tagger` sets them so that the tagger hears by energy:
a loud window (above about -28 dBFS of noise) is "Rain", a quiet one "Ocean", and "Speech" always scores high
(so the tests check that speech never becomes a picture). How: each 16x16 patch embeds as (m, -m, 0, ...)
with m its mean log-mel value less a threshold; attention is uniform (zero queries and keys) with identity
values, so the [CLS] token takes the share of loud patches; the layer norms keep only its sign; the
classifier maps that sign to Rain or Ocean.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

LABELS = ["Speech", "Silence", "Rain", "Ocean", "Thunder", "Music", "Dog", "Inside, small room"]
"""AudioSet display names, as a real AudioSet tagger's id2label spells them."""
HIDDEN = 8
MEL_BINS = 16
MAX_FRAMES = 100  # 1 s of 10 ms frames, as the windows are
LOUD_THRESHOLD = 0.4
"""The mean normalised log-mel value between quiet (-40 dBFS noise: 0.15) and loud (-20 dBFS: 0.64) windows."""


def tiny_tagger_config() -> ASTConfig:
    return ASTConfig(hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
                     max_length=MAX_FRAMES, num_mel_bins=MEL_BINS, patch_size=16, frequency_stride=10,
                     time_stride=10, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                     id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)})


def _save(model: ASTForAudioClassification, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.eval().save_pretrained(folder)
    ASTFeatureExtractor(num_mel_bins=MEL_BINS, max_length=MAX_FRAMES).save_pretrained(folder)
    return folder


def save_tiny_tagger(folder: Path | str, seed: int = 0) -> Path:
    """A randomly initialised tiny tagger folder (config.json, model.safetensors, preprocessor_config.json)."""
    torch.manual_seed(seed)
    return _save(ASTForAudioClassification(tiny_tagger_config()), Path(folder))


def save_loudness_tagger(folder: Path | str) -> Path:
    """A tiny tagger that hears loud windows as Rain and quiet ones as Ocean (see the module docstring)."""
    model = ASTForAudioClassification(tiny_tagger_config())
    params = dict(model.named_parameters())

    def named(suffix: str) -> torch.nn.Parameter:  # by name ending, so either transformers layout matches
        return next(p for name, p in params.items() if name.endswith(suffix))

    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        for name, parameter in params.items():
            if "layernorm" in name and name.endswith("weight"):
                parameter.fill_(1.0)
        weight = named("patch_embeddings.projection.weight")
        bias = named("patch_embeddings.projection.bias")
        area = weight.shape[-1] * weight.shape[-2]
        weight[0].fill_(1.0 / area)
        bias[0] = -LOUD_THRESHOLD
        weight[1].fill_(-1.0 / area)
        bias[1] = LOUD_THRESHOLD
        value = next(p for name, p in params.items() if name.endswith(("v_proj.weight", "value.weight")))
        out = next(p for name, p in params.items() if name.endswith(("o_proj.weight", "output.dense.weight")))
        value.copy_(torch.eye(HIDDEN))
        out.copy_(torch.eye(HIDDEN))
        head_weight, head_bias = named("classifier.dense.weight"), named("classifier.dense.bias")
        head_bias.fill_(-12.0)
        head_bias[LABELS.index("Speech")] = 6.0
        head_weight[LABELS.index("Rain"), 0] = 8.0
        head_bias[LABELS.index("Rain")] = 0.0
        head_weight[LABELS.index("Ocean"), 0] = -8.0
        head_bias[LABELS.index("Ocean")] = 0.0
    return _save(model, Path(folder))


def noise_take(levels_dbfs: list[float], seconds_each: float, seed: int = 0, rate_hz: int = 16000) -> np.ndarray:
    """Rain-like noise (white noise with drops: a random flutter of the level), one stretch per RMS level."""
    rng = np.random.default_rng(seed)
    parts = []
    for level in levels_dbfs:
        count = int(round(seconds_each * rate_hz))
        flutter = 1.0 + 0.3 * np.repeat(rng.uniform(-1, 1, count // 160 + 1), 160)[:count]
        noise = rng.standard_normal(count) * flutter
        parts.append(noise / np.sqrt(np.mean(noise**2)) * 10 ** (level / 20))
    return np.concatenate(parts).astype(np.float32)
