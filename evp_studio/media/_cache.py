"""A least-recently-used frame cache whose limit is in bytes."""

from __future__ import annotations

from collections import OrderedDict

import av
import numpy as np

# A cached frame is either converted RGB or the decoder's own YUV frame, kept as it came
# out of the decoder (half the bytes of RGB for 4:2:0, and no conversion cost unless read).
CachedFrame = np.ndarray | av.VideoFrame


def frame_nbytes(frame: CachedFrame) -> int:
    """Bytes held by a cached frame: array size, or the sum of the YUV plane buffers."""
    if isinstance(frame, np.ndarray):
        return int(frame.nbytes)
    return sum(int(plane.buffer_size) for plane in frame.planes)


class FrameCache:
    """Frames by index, evicting the least recently used once over ``limit_bytes``.

    Parameters
    ----------
    limit_bytes
        Upper bound on the summed size of the cached frames; 0 disables caching.
    """

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = max(0, int(limit_bytes))
        self._items: OrderedDict[int, tuple[CachedFrame, int]] = OrderedDict()
        self._nbytes = 0

    @property
    def nbytes(self) -> int:
        """Summed size of the cached frames, bytes."""
        return self._nbytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, index: int) -> bool:
        return index in self._items

    def get(self, index: int) -> CachedFrame | None:
        """Return the frame at ``index`` and mark it recently used, or None."""
        item = self._items.get(index)
        if item is None:
            return None
        self._items.move_to_end(index)
        return item[0]

    def put(self, index: int, frame: CachedFrame) -> None:
        """Store ``frame`` at ``index`` (replacing any), then evict down to the limit.

        A frame larger than the whole limit is not stored.
        """
        self.discard(index)
        size = frame_nbytes(frame)
        if size > self.limit_bytes:
            return
        self._items[index] = (frame, size)
        self._nbytes += size
        while self._nbytes > self.limit_bytes:
            _, (_, old_size) = self._items.popitem(last=False)
            self._nbytes -= old_size

    def discard(self, index: int) -> None:
        """Remove the frame at ``index`` if present."""
        item = self._items.pop(index, None)
        if item is not None:
            self._nbytes -= item[1]

    def clear(self) -> None:
        """Drop every frame."""
        self._items.clear()
        self._nbytes = 0
