"""MLLP framing (pure): <VT> message <FS><CR>, i.e. 0x0B ... 0x1C 0x0D.

The listener reads frames with python-hl7's asyncio `MLLPStreamReader.readblock`; these helpers
frame ACKs, and split a byte stream into messages where no event loop is at hand (tests, files).
"""

from __future__ import annotations

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c"
CARRIAGE_RETURN = b"\x0d"
TRAILER = END_BLOCK + CARRIAGE_RETURN


class FramingError(ValueError):
    """Bytes outside a <VT> ... <FS><CR> block."""


def frame(message: str | bytes, encoding: str = "utf-8") -> bytes:
    body = message.encode(encoding) if isinstance(message, str) else message
    return START_BLOCK + body + TRAILER


def unframe(data: bytes) -> bytes:
    """The message inside one complete frame."""
    if not data.startswith(START_BLOCK) or not data.endswith(TRAILER):
        raise FramingError("an MLLP frame is <VT> message <FS><CR>")
    return data[1:-2]


class Deframer:
    """Feed bytes as they arrive; take out each complete message."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self._buffer = bytearray()
        self._limit = limit

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        messages: list[bytes] = []
        while True:
            end = self._buffer.find(TRAILER)
            if end < 0:
                if len(self._buffer) > self._limit:
                    self._buffer.clear()
                    raise FramingError(f"no end of block within {self._limit} bytes")
                return messages
            block = bytes(self._buffer[:end])
            del self._buffer[: end + len(TRAILER)]
            start = block.find(START_BLOCK)
            if start < 0:
                raise FramingError("a block without its start character <VT>")
            if block[:start].strip():
                raise FramingError("bytes before the start of a block")
            messages.append(block[start + 1 :])

    @property
    def pending(self) -> int:
        return len(self._buffer)
