"""Gzipped WARC files (one gzip member per record) decompressed with ISA-L, remembering where members start."""

from __future__ import annotations

import collections
import io
from typing import BinaryIO

try:  # python-isal: ISA-L's inflate, faster than the one FastWARC has built in
    from isal import isal_zlib
except ImportError:  # pragma: no cover - FastWARC then reads the file itself
    isal_zlib = None

_GZIP_WBITS = 16 + 15  # a gzip header and trailer around a deflate stream with a 32 KB window


def available() -> bool:
    return isal_zlib is not None


class GzipMembers(io.RawIOBase):
    """The decompressed bytes of a gzip file, member after member, as a stream for FastWARC to parse.

    Each member is inflated on its own, so the file offset where it starts is known: `member_offset` turns a
    position in the decompressed bytes (where FastWARC found a record) into the offset of the member holding
    it, which is what a WARC index records. A record that starts inside a member (several records gzipped
    together) gets its member's offset.

    Corrupt or foreign bytes between members end the stream early: `error` then says where and why, for the
    reader to raise once FastWARC has parsed what came before. A member cut off by the end of the file
    hands over what could be inflated of it (its record then shows up as truncated), as FastWARC does.
    """

    # Compressed bytes read from the file at a time, and handed to the inflater at a time: a member ends
    # inside a feed, and what follows it in the feed is copied once (small feeds keep that copy small).
    WINDOW_BYTES = 1 << 20
    FEED_BYTES = 1 << 15
    # Decompressed bytes inflated at a time at most: a member of zeros inflates a thousandfold
    OUTPUT_BYTES = 1 << 20

    def __init__(self, path: str | BinaryIO) -> None:
        super().__init__()
        if isal_zlib is None:  # pragma: no cover
            raise RuntimeError("python-isal is not installed")
        # a path, or a stream already open (a remote file): closed with this stream either way
        self.fileobj = open(path, "rb", buffering=0) if isinstance(path, str) else path  # noqa: SIM115
        self._window = bytearray(self.WINDOW_BYTES)
        self._view = memoryview(self._window)
        self._filled = 0  # bytes of the window holding file data
        self._at = 0  # next window byte to inflate
        self._window_offset = 0  # file offset of the window's first byte
        self._inflater = None  # the member being inflated
        self._produced = 0  # decompressed bytes inflated so far
        self._position = 0  # decompressed bytes handed out so far
        self._pending = b""  # inflated, not yet handed out from `_pending_at` on
        self._pending_at = 0
        # (decompressed position, file offset) of members not yet asked about, in file order
        self._members: collections.deque[tuple[int, int]] = collections.deque()
        self._last_member_offset = 0
        self._ended = False
        self.error: str | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # FastWARC asks for the position through seek(0, SEEK_CUR); nothing else is supported

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if (whence == io.SEEK_CUR and offset == 0) or (whence == io.SEEK_SET and offset == self._position):
            return self._position
        raise io.UnsupportedOperation("a gzip member stream only reads forward")

    def member_offset(self, position: int) -> int:
        """File offset of the member holding the decompressed byte at `position`; positions must be asked
        about in increasing order (records come in file order)."""
        members = self._members
        while members and members[0][0] <= position:
            self._last_member_offset = members.popleft()[1]
        return self._last_member_offset

    def _refill(self) -> bool:
        """Fill the window with the file's next bytes, once the inflater took all it held; False at the end."""
        self._window_offset += self._filled
        self._at = 0
        self._filled = self.fileobj.readinto(self._view)
        return self._filled > 0

    def read(self, size: int = -1) -> bytes:
        """Up to `size` decompressed bytes (fewer at a member's end); b"" at the end of the stream."""
        if self._pending_at >= len(self._pending):
            self._pending, self._pending_at = self._inflate(), 0
        pending, at = self._pending, self._pending_at
        if at == 0 and (size < 0 or size >= len(pending)):
            self._pending = b""  # all of it: no copy
            taken = pending
        else:
            end = len(pending) if size < 0 else min(len(pending), at + size)
            taken = pending[at:end]
            self._pending_at = end
        self._position += len(taken)
        return taken

    def _inflate(self) -> bytes:
        """The next inflated bytes, never empty but at the end of the stream."""
        while not self._ended:
            if self._at >= self._filled and not self._refill():
                self._ended = True  # an unfinished member (file cut off) ends with what it gave so far
                break
            if self._inflater is None:
                self._inflater = isal_zlib.decompressobj(_GZIP_WBITS)
                self._members.append((self._produced, self._window_offset + self._at))
            end = min(self._filled, self._at + self.FEED_BYTES)
            try:
                data = self._inflater.decompress(self._view[self._at : end], self.OUTPUT_BYTES)
            except isal_zlib.error as error:
                self.error = f"gzip data is corrupt in the member at offset {self._members[-1][1]}: {error}"
                self._ended = True
                break
            if self._inflater.eof:
                self._at = end - len(self._inflater.unused_data)
                self._inflater = None
            else:  # the feed is used up, but for what waits until the output limit lets it through
                self._at = end - len(self._inflater.unconsumed_tail)
            if data:
                self._produced += len(data)
                return data
        return b""

    def readinto(self, buffer) -> int:  # pragma: no cover - FastWARC calls read()
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.fileobj.close()
            self._view.release()
        super().close()
