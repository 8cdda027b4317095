"""pixfeed's exceptions (docs/conventions.md). The native module raises these classes."""

from __future__ import annotations

import os

__all__ = [
    "BackendError",
    "DecodeError",
    "ImageTooLargeError",
    "ModelError",
    "PixfeedError",
    "ShardError",
    "UnsupportedFormatError",
]


class PixfeedError(Exception):
    """Base class of every error pixfeed raises on its own account."""


class DecodeError(PixfeedError, ValueError):
    """An image could not be decoded: corrupt, truncated or an unsupported feature.

    ``source`` names the file (or ``"<bytes>"``) as Python spells it (``os.fsencode``
    gives its bytes back) and ``reason`` says what is wrong. The message shows a name's
    bytes that are not UTF-8 as ``\\xNN``.
    """

    def __init__(self, source: str, reason: str, kind: str = "corrupt") -> None:
        super().__init__(f"{_shown(source)}: {reason}")
        self.source = source
        self.reason = reason
        #: "corrupt", "truncated", "unsupported", "format" or "too_large".
        self.kind = kind

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.source, self.reason, self.kind))


def _shown(name: str) -> str:
    """``name`` printable anywhere: the bytes of a file name that is not UTF-8 as ``\\xNN``."""
    try:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    except UnicodeError:
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


class UnsupportedFormatError(DecodeError):
    """The bytes are not in a format pixfeed decodes."""


class ImageTooLargeError(DecodeError):
    """The header declares more pixels than ``max_pixels`` (checked before allocating)."""


class ShardError(DecodeError):
    """A tar shard cannot be read: cut short (``kind="truncated"``: a header cut off, a
    member's data running past the end of the file) or corrupt (``kind="corrupt"``: a bad
    header checksum, a malformed pax or long-name record, a sample without an image) or
    not read (``kind="unsupported"``: a GNU sparse member).
    ``source`` names the shard (or ``shard:member @ offset N``), ``offset`` is the byte
    offset in the shard where it is wrong."""

    def __init__(self, source: str, reason: str, kind: str = "corrupt", offset: int = 0) -> None:
        super().__init__(source, reason, kind)
        self.offset = offset

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.source, self.reason, self.kind, self.offset))


class ModelError(PixfeedError, ValueError):
    """An ONNX model cannot be used: it does not load, or its inputs or outputs are not
    what a YOLO detector has. ``model`` names the file and ``reason`` says what is wrong."""

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"{model}: {reason}")
        self.model = model
        self.reason = reason

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.model, self.reason))


class BackendError(PixfeedError, ValueError):
    """The inference backend asked for is not in the installed onnxruntime. ``backend``
    names it, ``available`` lists the execution providers that are installed."""

    def __init__(self, backend: str, available: list[str], message: str) -> None:
        super().__init__(message)
        self.backend = backend
        self.available = list(available)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.backend, self.available, str(self)))
