"""Files attached inside the PDF, compressed as they are written so memory stays small.

WeasyPrint's own attachments read the whole file into memory and compress it at level 9,
which for a campaign of 100,000 donations (a few hundred megabytes of JSON lines with proofs)
breaks both the time and the memory budget. Instead each attachment is streamed through
zlib here, hashed on the way (SHA-256 for the report, MD5 for the PDF's own checksum), and
the finished, already-compressed stream is added to the PDF by ``render.embed_attachments``.

Compression and hashing run on a helper thread: zlib and hashlib release the GIL on large
buffers, so on a machine with two cores they overlap with the Python code that formats the
next lines instead of adding to it. The queue between the two is bounded, so a slow
compressor holds the producer back rather than letting blocks pile up in memory.

Blocks are large (8 MiB) because every time the helper thread comes back from zlib or
hashlib it must win the GIL back from the busy producer, which gives it up only every few
milliseconds (``sys.getswitchinterval``). With blocks of 1 MiB those waits outweighed the
work, the helper fell behind and the producer stalled on the full queue (a second of a
large report); with 8 MiB blocks the waits are a small fraction of the work.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import zlib
from dataclasses import dataclass

from giving.reports.data import AttachmentInfo

# Level 3: on the ledger's JSON lines about three times faster than zlib's default level 6
# for files about a sixth larger (measured: 67 MB in 0.26 s against 0.76 s).
COMPRESSION_LEVEL = 3
_BLOCK = 8 << 20
_QUEUE_BLOCKS = 4  # at most about 40 MiB waiting per attachment


@dataclass(frozen=True)
class CompressedAttachment:
    """A finished attachment: its deflated bytes and the facts about the original."""

    info: AttachmentInfo
    deflated: bytes
    md5_hex: str


class AttachmentWriter:
    """A write-only binary file that deflates, hashes and counts what it is given."""

    def __init__(self, name: str, *, description: str, mime_type: str) -> None:
        self.name = name
        self.description = description
        self.mime_type = mime_type
        self._compressor = zlib.compressobj(COMPRESSION_LEVEL)
        self._chunks: list[bytes] = []
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._size = 0
        self._blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE_BLOCKS)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def write(self, data: bytes) -> int:
        # Many small lines are gathered into blocks of _BLOCK bytes: far fewer calls into
        # C, and large enough for zlib and hashlib to release the GIL.
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= _BLOCK:
            self._hand_over()
        return len(data)

    def _hand_over(self) -> None:
        if not self._pending:
            return
        block = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, name=f"deflate {self.name}", daemon=True
            )
            self._thread.start()
        self._blocks.put(block)

    def _work(self) -> None:
        while (block := self._blocks.get()) is not None:
            if self._error is not None:
                continue  # keep draining so the producer is never blocked forever
            try:
                self._digest(block)
            except BaseException as exc:  # handed to finish() in the producer's thread
                self._error = exc

    def _digest(self, block: bytes) -> None:
        self._sha256.update(block)
        self._md5.update(block)
        self._size += len(block)
        out = self._compressor.compress(block)
        if out:
            self._chunks.append(out)

    def abort(self) -> None:
        """Stop the helper thread after a failure elsewhere; the attachment is discarded."""
        if self._thread is not None and self._thread.is_alive():
            self._pending.clear()
            self._blocks.put(None)
            self._thread.join()

    def finish(self) -> CompressedAttachment:
        if self._thread is not None:
            self._hand_over()
            self._blocks.put(None)
            self._thread.join()
            if self._error is not None:
                raise self._error
        else:  # small enough to do here
            block = b"".join(self._pending)
            self._pending.clear()
            self._digest(block)
        self._chunks.append(self._compressor.flush())
        deflated = b"".join(self._chunks)
        self._chunks.clear()
        info = AttachmentInfo(
            name=self.name,
            description=self.description,
            mime_type=self.mime_type,
            size=self._size,
            sha256=self._sha256.hexdigest(),
        )
        return CompressedAttachment(info=info, deflated=deflated, md5_hex=self._md5.hexdigest())
