"""Where audio comes from: paths, URLs, bytes and file objects, checked before any decoder sees them.

:func:`open_source` turns any of them into a path or a seekable file object, or raises one
clear message (a folder, a missing or unreadable file, 0 bytes); :func:`looks_like` names
what non-audio bytes are (a PDF, a zip, a web page) and :func:`declared_wav_frames` reads
how many frames a WAV header promises, so a truncated file can be told apart.
"""

from __future__ import annotations

import io
import os
import struct
from typing import BinaryIO, Union

from ser_core.errors import AudioError, EmptyAudioError
from ser_core.storage import is_url

AudioSource = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]


def describe(source: AudioSource) -> str:
    """A short human name for a source, for error messages."""
    if isinstance(source, (str, os.PathLike)):
        return f"'{os.fspath(source)}'"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"the recording ({len(source) / 1e6:.1f} MB)" if len(source) >= 100_000 else \
            f"the recording ({len(source):,} bytes)"
    name = getattr(source, "name", None)
    return f"'{name}'" if isinstance(name, str) else "<file object>"


def open_source(source: AudioSource) -> str | BinaryIO:
    """Return a path string or a seekable binary file object; reject empty and unreadable sources."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if is_url(path):
            return _open_url(path)
        if os.path.isdir(path):
            raise AudioError(f"'{path}' is a folder; expected an audio file")
        if not os.path.isfile(path):
            raise AudioError(f"no audio file at '{path}'; expected an existing file")
        if not os.access(path, os.R_OK):
            raise AudioError(f"cannot read '{path}': permission denied")
        if os.path.getsize(path) == 0:
            raise EmptyAudioError(f"'{path}' is 0 bytes; expected an audio file")
        return path
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise EmptyAudioError("received 0 bytes of audio; expected an encoded audio file")
        return io.BytesIO(bytes(source))
    if hasattr(source, "read"):
        if not (hasattr(source, "seekable") and source.seekable()):
            return open_source(source.read())
        source.seek(0, io.SEEK_END)
        size = source.tell()
        source.seek(0)
        if size == 0:
            raise EmptyAudioError(f"{describe(source)} holds 0 bytes; expected an audio file")
        return source
    raise AudioError(
        f"cannot read audio from a {type(source).__name__}; expected a path, bytes or a binary file object"
    )


def _open_url(url: str) -> BinaryIO:
    """The bytes at an fsspec URL as a named in-memory file (clips are small; a worker reads each once)."""
    from ser_core.storage import read_url

    try:
        data = read_url(url)
    except FileNotFoundError:
        raise AudioError(f"no audio file at '{url}'; expected an existing file") from None
    except OSError as error:
        raise AudioError(f"cannot read '{url}': {error}") from None
    if not data:
        raise EmptyAudioError(f"'{url}' is 0 bytes; expected an audio file")
    handle = io.BytesIO(data)
    handle.name = url
    return handle


def head_bytes(src: str | BinaryIO, n: int = 64) -> bytes:
    """The first ``n`` bytes of a source (the file position is restored)."""
    if isinstance(src, str):
        with open(src, "rb") as handle:
            return handle.read(n)
    position = src.tell()
    head = src.read(n)
    src.seek(position)
    return head


#: Leading bytes of formats that are not audio, for a message saying what a file looks like.
_NOT_AUDIO = {b"%PDF": "a PDF document", b"PK\x03\x04": "a zip archive", b"\x89PNG": "a PNG image",
              b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"<!DO": "an HTML page",
              b"<htm": "an HTML page", b"{": "a JSON or text file", b"\x7fELF": "a program"}


def looks_like(head: bytes) -> str | None:
    """What non-audio format the leading bytes belong to, or None."""
    for magic, what in _NOT_AUDIO.items():
        if head.startswith(magic):
            return what
    if head and all(32 <= byte < 127 or byte in (9, 10, 13) for byte in head[:64]):
        return "a text file"
    return None


def declared_wav_frames(src: str | BinaryIO) -> int | None:
    """Frames a RIFF/WAVE header declares in its ``data`` chunk (None for other formats or odd headers)."""
    head = head_bytes(src, 4096)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    position, block_align = 12, None
    while position + 8 <= len(head):
        chunk, size = head[position:position + 4], struct.unpack("<I", head[position + 4:position + 8])[0]
        if chunk == b"fmt " and position + 22 <= len(head):
            block_align = struct.unpack("<H", head[position + 20:position + 22])[0]
        if chunk == b"data":
            return size // block_align if block_align else None
        position += 8 + size + (size & 1)
    return None


def rewind(src: str | BinaryIO) -> None:
    """Back to the first byte of a file object (a path needs nothing)."""
    if not isinstance(src, str):
        src.seek(0)
