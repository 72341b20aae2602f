"""Running out of memory in the middle of a render: free the allocator's cache, step down, run the unit again.

A render is a sequence of units: one picture's denoise, one picture's decode, one batch of in-betweens. Each
is a function of its seeds and inputs alone, so a unit that runs out of memory is run again from its start on
a leaner path and makes the same picture (up to the float rounding of the leaner kernels). The steps down, in
order, for the kind of unit that failed:

- denoising: fewer in-betweens per UNet batch (halved, down to one); for animate's clip, FreeNoise's split
  inference (`enable_free_noise_split_inference`: the clip's frames go through the spatial layers 16 at a
  time and its pixels through the motion layers 256 at a time, instead of all at once); then attention one
  head at a time (`enable_attention_slicing("max")`: the `batch x heads x tokens x tokens` scores become
  `tokens x tokens`);
- decoding: the VAE decodes one picture at a time, in tiles half the usual size.

A step once taken holds for the rest of the render, and for the next renders at the same size on the same
loaded model (they would run out again); another size, or a reloaded model, starts on the fast path. Past
the last step the render stops with one sentence that names the size and what to lower.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hear2see_desktop.core.errors import Fix, RenderFailedError
from hear2see_desktop.core.render.devices import DeviceChoice
from hear2see_desktop.core.render.out_of_memory import free_memory, is_out_of_memory
from hear2see_desktop.core.render.vae_tiling import configure_vae_tiling, vae_tile_px

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

DENOISE = "denoise"
DECODE = "decode"

ATTENTION_SLICING = "attention_slicing"
SPLIT_INFERENCE = "free_noise_split_inference"
INBETWEEN_BATCH = "inbetween_batch_"  # + the new batch size
VAE_TILES = "vae_tiles_"  # + the new tile size in pixels

SD15_SIZE_PX = 512


def smaller_size(width: int, height: int) -> tuple[int, int]:
    """A size to suggest after running out of memory: three quarters of each side, in multiples of 64 px."""
    return max(64, width * 3 // 4 // 64 * 64), max(64, height * 3 // 4 // 64 * 64)


@dataclass
class MemoryLadder:
    """Where one loaded pipeline stands on the ladder for renders of one size (see the module docstring)."""

    pipe: Any
    device: DeviceChoice
    width: int
    height: int
    key: tuple[Any, ...] = ()
    batch_limit: int | None = None
    """Most in-betweens per UNet batch after stepping down (None: as many as the renderer chose)."""
    attention_sliced: bool = False
    vae_tile_px: int | None = None
    """The smaller VAE tile size after stepping down (None: the usual tiling of `configure_vae_tiling`)."""
    steps: list[str] = field(default_factory=list)
    """Every step down so far, in order: what the run record lists as `memory_fallbacks`."""
    motion_pipe: Any = None
    """Animate's `AnimateDiffPipeline` on `pipe`'s modules, when this ladder runs animate renders."""
    split_inference: bool = False
    _saved_processors: dict[str, Any] | None = None

    # --- running units -------------------------------------------------------------------------
    def run(self, kind: str, what: str, unit: Callable[[], Result]) -> Result:
        """`unit()`, run again one step further down after each out-of-memory error."""
        return self.run_batched(kind, what, [None], lambda _chunk: [unit()])[0]

    def run_batched(self, kind: str, what: str, items: Sequence[Item],
                    unit: Callable[[list[Item]], list[Result]]) -> list[Result]:
        """`unit` over `items` in chunks of at most `batch_size(len(items))`, one result per item, in order.

        A chunk that runs out of memory is split (halved) and run again; a chunk that succeeded is never
        repeated. `unit` must return one result per item of the chunk it is given.
        """
        results: list[Result] = []
        while len(results) < len(items):
            chunk = list(items[len(results):len(results) + self.batch_size(len(items))])
            try:
                done = unit(chunk)
            except Exception as error:
                if not is_out_of_memory(error):
                    raise
                reason = _first_line(error)
            else:
                if len(done) != len(chunk):
                    raise ValueError(f"{what}: {len(done)} results for {len(chunk)} items")
                results.extend(done)
                continue
            # Outside the handler: the error and its traceback (which holds the unit's tensors) are gone.
            free_memory(self.device.device)
            self._step_down(kind, what, len(chunk), reason)
        return results

    def batch_size(self, wanted: int) -> int:
        """How many of `wanted` in-betweens to denoise at once now."""
        return max(1, min(wanted, self.batch_limit)) if self.batch_limit is not None else max(1, wanted)

    @property
    def pictures_cacheable(self) -> bool:
        """Whether decoded pictures may go into the frame cache: not while smaller VAE tiles change their seams
        (the cache keys know only the usual tiling)."""
        return self.vae_tile_px is None

    def enable_free_noise(self, motion_pipe: Any, **options: Any) -> None:
        """FreeNoise on `motion_pipe` with `options`, split again if this ladder stepped down to split inference:
        diffusers cannot turn FreeNoise on over modules it split, so any split module is put back first (also one
        a ladder of a released model left on the cached motion model's layers)."""
        _unwrap_split_inference(motion_pipe.unet)
        motion_pipe.enable_free_noise(**options)
        if self.split_inference:
            motion_pipe.enable_free_noise_split_inference()

    # --- stepping down -------------------------------------------------------------------------
    def _step_down(self, kind: str, what: str, batch: int, reason: str) -> None:
        if kind == DENOISE and batch > 1:
            self.batch_limit = batch // 2
            step = f"{INBETWEEN_BATCH}{self.batch_limit}"
        elif kind == DENOISE and self.motion_pipe is not None and not self.split_inference:
            self.motion_pipe.enable_free_noise_split_inference()
            self.split_inference = True
            step = SPLIT_INFERENCE
        elif kind == DENOISE and not self.attention_sliced:
            self._slice_attention()
            step = ATTENTION_SLICING
        elif kind == DECODE and self.vae_tile_px is None:
            self._small_vae_tiles()
            step = f"{VAE_TILES}{self.vae_tile_px}"
        else:
            log.warning("%s ran out of memory at %dx%d after every step down (%s)", what, self.width,
                        self.height, reason)
            raise self.exhausted()
        self.steps.append(step)
        log.warning("%s ran out of memory at %dx%d (%s): trying again with %s", what, self.width, self.height,
                    reason, describe_step(step))

    @property
    def _denoiser(self) -> Any:
        """The pipeline whose UNet denoises: animate's, or the model's own."""
        return self.motion_pipe if self.motion_pipe is not None else self.pipe

    def _slice_attention(self) -> None:
        self._saved_processors = dict(self._denoiser.unet.attn_processors)
        if self.motion_pipe is not None:  # the motion UNet has no attention slicing of its own: set it per layer
            from diffusers.models.attention_processor import SlicedAttnProcessor

            self.motion_pipe.unet.set_attn_processor(SlicedAttnProcessor(slice_size=1))
        else:
            self.pipe.enable_attention_slicing("max")
        self.attention_sliced = True

    def _small_vae_tiles(self) -> None:

        self.vae_tile_px = max(64, vae_tile_px(self.device) // 2)
        configure_vae_tiling(self.pipe, self.device, self.vae_tile_px)
        self.pipe.vae.enable_slicing()

    def exhausted(self) -> RenderFailedError:
        """The one sentence for a render that ran out of memory on the last step down."""
        on_gpu = self.device.device != "cpu"
        memory = "GPU memory" if on_gpu else "memory"
        tried = [describe_step(step) for step in self.steps if not step.startswith(INBETWEEN_BATCH)]
        if self.batch_limit is not None:
            tried.insert(0, describe_step(f"{INBETWEEN_BATCH}{self.batch_limit}"))
        even = f" even with {_and(tried)}" if tried else ""
        width, height = smaller_size(self.width, self.height)
        smaller = (f"lower the width/height (to {width}x{height}, say)" if (width, height) != (self.width, self.height)
                   else "lower the width/height")
        advice: tuple[str | Fix, ...] = ((f"{smaller}, close other programs that use the GPU, or use ",
                                          Fix("device", "cpu")) if on_gpu else (f"{smaller} or close other programs",))
        return RenderFailedError(f"The render ran out of {memory} at {self.width}x{self.height}{even}: ", *advice, ".")

    # --- leaving the ladder --------------------------------------------------------------------
    def reset(self) -> None:
        """Put the pipeline back on the fast path (the next render is of another size)."""
        if self._saved_processors is not None:  # (named as the layers were then: before unwrapping them)
            try:
                self._denoiser.unet.set_attn_processor(self._saved_processors)
            except (ValueError, KeyError):  # the UNet's layers changed meanwhile: the library's default processors
                self._denoiser.unet.set_default_attn_processor()
            self._saved_processors = None
        if self.split_inference:
            _unwrap_split_inference(self.motion_pipe.unet)
        if self.vae_tile_px is not None:

            self.pipe.vae.disable_slicing()
            configure_vae_tiling(self.pipe, self.device)
        self.batch_limit, self.attention_sliced, self.vae_tile_px, self.split_inference = None, False, None, False
        self.steps = []


def describe_step(step: str) -> str:
    """A step's name as the log and the final sentence say it."""
    if step == ATTENTION_SLICING:
        return "attention computed one head at a time"
    if step == SPLIT_INFERENCE:
        return "the clip's frames denoised a few at a time"
    if step.startswith(INBETWEEN_BATCH):
        count = int(step[len(INBETWEEN_BATCH):])
        return "one in-between at a time" if count == 1 else f"{count} in-betweens at a time"
    if step.startswith(VAE_TILES):
        return f"the VAE decoding one picture at a time in {step[len(VAE_TILES):]} px tiles"
    return step


def ladder_for(loaded: Any, width: int, height: int, use_cfg: bool, decoder: str,
               motion_pipe: Any = None) -> MemoryLadder:
    """The ladder a render of this size uses on `loaded` (a `LoadedPipeline`): the previous render's when it had
    the same size and kind (its steps down hold), else a fresh one, after putting the pipeline back on the fast
    path. `motion_pipe`: animate's pipeline, for an animate render."""
    key = (width, height, use_cfg, decoder, id(motion_pipe) if motion_pipe is not None else None)
    current: MemoryLadder | None = loaded.memory_ladder
    if current is not None and current.key == key:
        if current.steps:
            log.info("rendering %dx%d with the steps down the previous render took: %s", width, height,
                     ", ".join(current.steps))
        return current
    if current is not None:
        current.reset()
    loaded.memory_ladder = MemoryLadder(loaded.pipe, loaded.device, width, height, key, motion_pipe=motion_pipe)
    return loaded.memory_ladder


def _unwrap_split_inference(unet: Any) -> None:
    """Put back every module FreeNoise's split inference wrapped (diffusers has no way back): the motion UNet
    shares its spatial layers with the model's own UNet, which must not keep splitting."""
    from diffusers.pipelines.free_noise_utils import SplitInferenceModule

    for module in list(unet.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, SplitInferenceModule):
                setattr(module, name, child.module)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200] if text else ''}"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
