"""The run record as a type: what one render used and produced, enough to render the same frames again.

The render job makes a `RunRecord`; the run log (runlog.py) stores its `to_dict()` as one JSON line;
replays and the tests read it back with `from_dict`. The JSON keeps the shape earlier versions wrote, so old
logs still read: a field an older version did not write takes the value that describes such a run. `aspect` is
written for people and the history to read (the size's shape, core/aspect.py) and read back from `size`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hear2see_desktop.core.aspect import aspect_of
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.settings import RenderSettings, from_logged_run
from hear2see_desktop.core.storyboard.board import Storyboard
from hear2see_desktop.core.transcript import Transcript


@dataclass(frozen=True)
class AudioUsed:
    """The narration: where it was, its SHA-256 (a replay refuses a changed file) and its length."""

    path: str
    sha256: str
    duration_s: float


@dataclass(frozen=True)
class MusicUsed:
    """The background music mixed under the narration: where it was and its SHA-256 (a replay refuses a changed
    file); its level is in the settings."""

    path: str
    sha256: str


@dataclass(frozen=True)
class ModelUsed:
    """The Stable Diffusion weights as asked for (`requested`) and as found."""

    requested: str
    kind: str
    path: str
    config: str | None
    sha256: str


@dataclass(frozen=True)
class ClusterUnit:
    """Where one unit of a cluster render ran: its kind (classic, keyframe, segment), the image, keyframe or
    segment it made, the worker (`node:pid`, or `client` when the client rendered it itself), how many
    workers it took (more than one after a worker died), and its cost: seconds the worker rendered it,
    seconds from sending it to having its result on the client, and bytes sent each way (pictures and
    latents; zero for a unit the client rendered)."""

    kind: str
    index: int
    worker: str
    attempts: int
    render_s: float = 0.0
    round_trip_s: float = 0.0
    bytes_in: int = 0
    bytes_out: int = 0


@dataclass(frozen=True)
class ClusterUsed:
    """The Ray cluster a render ran on: the address as given, its workers, and where each unit ran."""

    address: str
    workers: list[str]
    units: list[ClusterUnit]

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "workers": list(self.workers), "units": [_fields(u) for u in self.units]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterUsed:
        return cls(str(data["address"]), [str(w) for w in data.get("workers", [])],
                   [ClusterUnit(str(u["kind"]), int(u["index"]), str(u["worker"]), int(u.get("attempts", 1)),
                                float(u.get("render_s", 0.0)), float(u.get("round_trip_s", 0.0)),
                                int(u.get("bytes_in", 0)), int(u.get("bytes_out", 0)))
                    for u in data.get("units", [])])


@dataclass(frozen=True)
class MotionUsed:
    """Animate mode's motion model as asked for (`requested`) and as found, with its weights' SHA-256."""

    requested: str
    kind: str
    path: str
    sha256: str


@dataclass(frozen=True)
class LoraUsed:
    path: str
    weight: float
    sha256: str


@dataclass(frozen=True)
class DeviceUsed:
    requested: str
    used: str
    dtype: str


@dataclass(frozen=True)
class OutputMade:
    """The MP4 and its SHA-256 (how `hear2see eval` finds the run of a video)."""

    path: str
    sha256: str


@dataclass
class RunRecord:
    """One render, as the run log keeps it (see the module docstring)."""

    id: str
    time: str  # ISO 8601, UTC
    app_version: str
    replay_of: str | None
    audio: AudioUsed
    transcript: Transcript
    prompt: str
    negative_prompt: str
    style: str
    model: ModelUsed
    loras: list[LoraUsed]
    mode: str
    decoder: str
    preview_decoder: str
    scheduler: str
    steps: int
    cfg: float
    frames: int  # distinct images (classic) or planned frames (smooth, fast)
    output_frames: int
    seeds: list[int]
    fps: int
    size: tuple[int, int]
    device: DeviceUsed
    versions: dict[str, str]
    memory_fallbacks: list[str]
    unet_evaluations: int  # UNet samples (CFG counts two)
    unet_calls: int
    frame_cache: dict[str, int]  # hits, misses
    timings_s: dict[str, float]
    settings: RenderSettings
    storyboard: Storyboard | None
    output: OutputMade
    subtitles: list[str] = field(default_factory=list)
    keyframes: int | None = None  # smooth and fast only
    keyframe_times_s: list[float] | None = None
    rating: int | None = None  # the user's 1-5 score, added later by `rate_run`
    motion_model: MotionUsed | None = None  # animate only
    music: MusicUsed | None = None  # only when music was mixed under the narration
    cluster: ClusterUsed | None = None  # only when the render ran on a Ray cluster

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the run log's line, in the shape earlier versions wrote."""
        sequence = ({"keyframes": self.keyframes, "keyframe_times_s": self.keyframe_times_s}
                    if self.keyframes is not None else {})
        data: dict[str, Any] = {
            "id": self.id, "time": self.time, "app_version": self.app_version, "replay_of": self.replay_of,
            "audio": _fields(self.audio), "transcript": self.transcript.to_dict(), "prompt": self.prompt,
            "negative_prompt": self.negative_prompt, "style": self.style, "model": _fields(self.model),
            "loras": [_fields(lora) for lora in self.loras], "mode": self.mode, "decoder": self.decoder,
            "preview_decoder": self.preview_decoder, "scheduler": self.scheduler, "steps": self.steps,
            "cfg": self.cfg, "frames": self.frames, "output_frames": self.output_frames, **sequence,
            "seeds": list(self.seeds), "fps": self.fps, "size": list(self.size),
            "aspect": aspect_of(*self.size), "device": _fields(self.device),
            "versions": dict(self.versions), "memory_fallbacks": list(self.memory_fallbacks),
            "unet_evaluations": self.unet_evaluations, "unet_calls": self.unet_calls,
            "frame_cache": dict(self.frame_cache), "timings_s": dict(self.timings_s),
            "settings": self.settings.to_dict(),
            "storyboard": self.storyboard.to_dict() if self.storyboard is not None else None,
            "output": _fields(self.output), "subtitles": list(self.subtitles),
        }
        if self.motion_model is not None:
            data["motion_model"] = _fields(self.motion_model)
        if self.music is not None:
            data["music"] = _fields(self.music)
        if self.cluster is not None:
            data["cluster"] = self.cluster.to_dict()
        if self.rating is not None:
            data["rating"] = self.rating
        return data

    @classmethod
    def from_dict(cls, data: Any) -> RunRecord:
        """Read a run log's record back. A record that lacks what a replay needs (its settings, narration and
        transcript), or holds a wrong type, raises BadInputError naming the run and the field."""
        run = data.get("id") if isinstance(data, dict) else None
        try:
            return cls._read(data)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise BadInputError(f"The run {run} in the run log is missing fields needed to replay it, or holds "
                                f"wrong ones ({type(error).__name__}: {error}): render the narration again "
                                "instead.") from error

    @classmethod
    def _read(cls, data: dict[str, Any]) -> RunRecord:
        settings = from_logged_run(data["settings"])
        audio, model, device = data["audio"], data.get("model") or {}, data.get("device") or {}
        size = data.get("size") or [settings.width, settings.height]
        rating = data.get("rating")
        storyboard = data.get("storyboard")
        motion = data.get("motion_model")
        music = data.get("music")
        cluster = data.get("cluster")
        return cls(
            id=str(data["id"]), time=str(data.get("time", "")), app_version=str(data.get("app_version", "")),
            replay_of=_optional_str(data.get("replay_of")),
            audio=AudioUsed(str(audio["path"]), str(audio["sha256"]), float(audio["duration_s"])),
            transcript=Transcript.from_dict(data["transcript"]),
            prompt=str(data.get("prompt", settings.prompt)),
            negative_prompt=str(data.get("negative_prompt", settings.negative_prompt)),
            style=str(data.get("style", settings.style)),
            model=ModelUsed(str(model.get("requested", settings.model)), str(model.get("kind", "")),
                            str(model.get("path", "")), _optional_str(model.get("config")),
                            str(model.get("sha256", ""))),
            loras=[LoraUsed(str(lo["path"]), float(lo.get("weight", 1.0)), str(lo.get("sha256", "")))
                   for lo in data.get("loras", [])],
            mode=str(data.get("mode", settings.mode)), decoder=str(data.get("decoder", "vae")),
            preview_decoder=str(data.get("preview_decoder", "latent-colours")),
            scheduler=str(data.get("scheduler", settings.scheduler)), steps=int(data.get("steps", settings.steps)),
            cfg=float(data.get("cfg", settings.cfg)), frames=int(data.get("frames", 0)),
            output_frames=int(data.get("output_frames", data.get("frames", 0))),
            seeds=[int(s) for s in data.get("seeds", [settings.seed])], fps=int(data.get("fps", settings.fps)),
            size=(int(size[0]), int(size[1])),
            device=DeviceUsed(str(device.get("requested", settings.device)), str(device.get("used", "")),
                              str(device.get("dtype", ""))),
            versions={str(k): str(v) for k, v in (data.get("versions") or {}).items()},
            memory_fallbacks=[str(s) for s in data.get("memory_fallbacks", [])],
            unet_evaluations=int(data.get("unet_evaluations", 0)), unet_calls=int(data.get("unet_calls", 0)),
            frame_cache={str(k): int(v) for k, v in (data.get("frame_cache") or {}).items()},
            timings_s={str(k): float(v) for k, v in (data.get("timings_s") or {}).items()},
            settings=settings,
            storyboard=Storyboard.from_dict(storyboard) if storyboard else None,
            output=OutputMade(str((data.get("output") or {}).get("path", "")),
                              str((data.get("output") or {}).get("sha256", ""))),
            subtitles=[str(p) for p in data.get("subtitles", [])],
            keyframes=int(data["keyframes"]) if data.get("keyframes") is not None else None,
            keyframe_times_s=([float(t) for t in data["keyframe_times_s"]]
                              if data.get("keyframe_times_s") is not None else None),
            rating=int(rating) if isinstance(rating, int) and not isinstance(rating, bool) else None,
            motion_model=(MotionUsed(str(motion["requested"]), str(motion.get("kind", "")), str(motion.get("path", "")),
                                     str(motion.get("sha256", ""))) if motion else None),
            music=MusicUsed(str(music["path"]), str(music["sha256"])) if music else None,
            cluster=ClusterUsed.from_dict(cluster) if cluster else None,
        )


def _fields(part: Any) -> dict[str, Any]:
    """A frozen part's fields as a dict, in declaration order."""
    return dict(vars(part))


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)
