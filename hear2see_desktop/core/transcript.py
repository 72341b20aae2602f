"""What ASR produces: recognised words with their times, and the text they make."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Word:
    """One recognised word; `start`/`end` in seconds from the start of the audio, `conf` in [0, 1]."""

    word: str
    start: float
    end: float
    conf: float


@dataclass
class Transcript:
    """The recognised text of one take, with the engine and model that produced it."""

    text: str
    words: list[Word] = field(default_factory=list)
    engine: str = ""
    model: str = ""
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The `hear2see transcribe --json` shape: text, words, engine, model, duration_s."""
        return {
            "text": self.text,
            "words": [asdict(w) for w in self.words],
            "engine": self.engine,
            "model": self.model,
            "duration_s": self.duration_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        """Read the `to_dict` shape back; raises KeyError/TypeError/ValueError on a wrong shape."""
        words = [
            Word(str(w["word"]), float(w["start"]), float(w["end"]), float(w.get("conf", 1.0)))
            for w in data.get("words", [])
        ]
        return cls(
            text=str(data["text"]),
            words=words,
            engine=str(data.get("engine", "")),
            model=str(data.get("model", "")),
            duration_s=float(data.get("duration_s", 0.0)),
        )
