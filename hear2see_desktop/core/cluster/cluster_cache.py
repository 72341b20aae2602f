"""The client's frame cache during a cluster render: the seam between the ordinary render and the workers.

The client runs the same render job as on this computer, with this cache in place of the frame cache. Asked
for a key that a scheduled unit will produce, it waits (reading `cancelled`) until the unit's results arrive,
so frames stream into the video in order and are the very pixels the worker made. A key no unit makes, or one
whose unit failed on every worker, is an ordinary lookup: a miss, which the client renders itself. Results
are written through to the frame cache on disk when it is on, so a cancelled cluster render resumes too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from hear2see_desktop.core.cluster.units import Unit, UnitResult
from hear2see_desktop.core.errors import CancelledError
from hear2see_desktop.core.jobs import CancelledFn
from hear2see_desktop.core.render.frame_cache import DEFAULT_MAX_BYTES, FrameCache

POLL_S = 0.05
"""How often a wait for a unit's result reads `cancelled`."""
REPORT_S = 0.25
"""How often a long wait tells `on_wait` (the render's progress, and the workers' step previews: an animate clip
takes minutes on a worker)."""


class ClusterCache(FrameCache):
    """A frame cache whose keys of scheduled units wait for the cluster (see the module docstring)."""

    def __init__(self, root: Path | None, cancelled: CancelledFn, max_bytes: int = DEFAULT_MAX_BYTES,
                 on_wait: Callable[[], None] | None = None) -> None:
        """`on_wait` is called about every `REPORT_S` while the render waits for a unit's result."""
        super().__init__(root, max_bytes)
        self.cancelled = cancelled
        self.on_wait = on_wait
        self._changed = threading.Condition()
        self._coming: set[str] = set()
        self._keep: set[str] = set()  # keys other units start from: kept in memory until the render ends
        self._images: dict[str, np.ndarray] = {}
        self._arrays: dict[str, np.ndarray] = {}

    # --- the scheduler's side -----------------------------------------------------------------------
    def expect(self, units: Iterable[Unit]) -> None:
        """Make lookups of these units' keys wait for their results."""
        with self._changed:
            for unit in units:
                self._coming.update(unit.produces)
                self._keep.update(unit.needs)

    def deliver(self, unit: Unit, result: UnitResult) -> None:
        """A unit's results: hand them to whoever waits, and keep them on disk."""
        arrays = {key: np.array(array) for key, array in result.arrays.items()}  # writable copies of Ray's
        result = UnitResult(result.images, arrays, result.unet_samples, result.unet_calls)
        for key, array in result.arrays.items():
            super().put_array(key, array)
        for key, rgb in result.images.items():
            super().put_image(key, rgb)
        with self._changed:
            self._arrays.update(result.arrays)
            self._images.update(result.images)
            self._coming.difference_update(unit.produces)
            self._changed.notify_all()

    def give_up(self, unit: Unit) -> None:
        """A unit no worker could finish: its keys become misses the client renders itself."""
        with self._changed:
            self._coming.difference_update(unit.produces)
            self._changed.notify_all()

    def unread(self) -> int:
        """Pictures that arrived and the render has not read yet (the scheduler keeps this bounded)."""
        with self._changed:
            return sum(1 for key in self._images if key not in self._keep)

    def available(self, key: str) -> bool:
        """Whether `key`'s latents and picture can be sent as a unit's input now."""
        with self._changed:
            if key in self._images and key in self._arrays:
                return True
        return self._on_disk(key)

    def inputs(self, keys: Iterable[str]) -> UnitResult:
        """The latents and pictures of `keys` (a segment's keyframes), from memory or the disk cache."""
        inputs = UnitResult()
        for key in keys:
            with self._changed:
                rgb, array = self._images.get(key), self._arrays.get(key)
            rgb = rgb if rgb is not None else super().get_image(key)
            array = array if array is not None else super().get_array(key)
            if rgb is not None and array is not None:
                inputs.images[key], inputs.arrays[key] = rgb, array
        return inputs

    def on_disk(self, keys: Iterable[str], with_array: bool = False) -> set[str]:
        """Which of `keys` the disk cache already holds (with their latents when `with_array`)."""
        return {key for key in keys if self._on_disk(key, with_array)}

    def array_on_disk(self, key: str) -> bool:
        """Whether the disk cache holds latents alone under `key` (an animate clip's)."""
        return self.root is not None and self._path(key, ".npy").is_file()

    def _on_disk(self, key: str, with_array: bool = True) -> bool:
        if self.root is None:
            return False
        return self._path(key, ".png").is_file() and (not with_array or self._path(key, ".npy").is_file())

    # --- the render's side ----------------------------------------------------------------------------
    def get_image(self, key: str) -> np.ndarray | None:
        self._wait(key)
        with self._changed:
            rgb = self._images.get(key) if key in self._keep else self._images.pop(key, None)
        return rgb if rgb is not None else super().get_image(key)

    def get_array(self, key: str) -> np.ndarray | None:
        self._wait(key)
        with self._changed:
            array = self._arrays.get(key)
        return array if array is not None else super().get_array(key)

    def put_image(self, key: str, rgb: np.ndarray) -> None:
        """The client rendered `key` itself: keep it, and hand it to units that start from it."""
        super().put_image(key, rgb)
        self._remember(key, rgb, self._images)

    def put_array(self, key: str, array: np.ndarray) -> None:
        super().put_array(key, array)
        self._remember(key, array, self._arrays)

    def _remember(self, key: str, value: np.ndarray, store: dict[str, np.ndarray]) -> None:
        with self._changed:
            if key in self._keep:
                store[key] = value
                self._changed.notify_all()

    def _wait(self, key: str) -> None:
        reported = time.monotonic()
        with self._changed:
            while key in self._coming:
                if self.cancelled():
                    raise CancelledError()
                self._changed.wait(POLL_S)
                if self.on_wait is not None and time.monotonic() - reported >= REPORT_S:
                    reported = time.monotonic()
                    self.on_wait()
