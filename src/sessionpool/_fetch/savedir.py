"""Where the fetch engine saves bodies (:attr:`FetchOptions.save_dir`): never outside the directory.

Each body goes to one file directly in the directory, named after the URL
(host, port and path, reduced to letters, digits, ``.``, ``_`` and ``-``)
with a short hash of the whole URL, so that two URLs never share a file. A
name holds no path separator and no ``..``, and before writing, the path is
resolved (following any symlink already there) and refused if it leads out
of the directory. The body is streamed to a temporary file in the directory
and renamed over the name once complete (:class:`PartialFile`), so a
symlink that was put there is replaced, never written through, a reader
never sees half a body, and a body that fails half way leaves nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

__all__ = ["PartialFile", "SaveDir", "UnsafeSavePath", "save_name"]

_NAME_LIMIT = 96  # characters of the readable part of a name, before the hash
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


class UnsafeSavePath(ValueError):
    """A body's file would be outside the save directory (through a symlink, say): it is not written."""


def save_name(url: str) -> str:
    """The file name a body fetched from ``url`` is saved under: readable, flat, and unique to the URL."""
    parts = urlsplit(url)
    port = f"_{parts.port}" if parts.port is not None else ""
    readable = _sanitise(f"{parts.hostname or 'nohost'}{port}{parts.path}")[:_NAME_LIMIT].rstrip("._-")
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    extension = _EXTENSION.search(parts.path)
    suffix = extension.group() if extension else ""  # a dot and 1 to 8 letters or digits: safe as it is
    return f"{readable or 'body'}-{digest}{suffix}"


def _sanitise(text: str) -> str:
    """Only letters, digits, ``.``, ``_`` and ``-``, no run of dots, and no dot or dash first."""
    text = _DOTS.sub("_", _UNSAFE.sub("_", text))
    return text.lstrip(".-")


class SaveDir:
    """A directory that bodies are saved into, created if needed.

    :param path: the directory; ``OSError`` if it cannot be made or is not one.
    """

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.root = path.resolve(strict=True)
        if not self.root.is_dir():
            raise NotADirectoryError(f"{path} is not a directory")

    def target(self, url: str) -> Path:
        """Where the body of ``url`` goes; :class:`UnsafeSavePath` if that resolves outside the directory."""
        name = save_name(url)
        path = self.root / name
        resolved = path.resolve()  # follows a symlink already there, wherever it points
        if resolved == self.root or not resolved.is_relative_to(self.root):
            raise UnsafeSavePath(f"refusing to write {name!r}: it resolves to {resolved}, outside {self.root}")
        return path

    def save(self, url: str, body: bytes) -> Path:
        """Write ``body`` under the name for ``url``; returns the path written."""
        with self.open(url) as file:
            file.write(body)
        return file.path

    def open(self, url: str) -> PartialFile:
        """A file to stream the body of ``url`` into, moved under its name only when closed without an error.

        Until then it is a temporary file in the directory (``.partial-*``);
        an error in the ``with`` block, or :meth:`PartialFile.discard`,
        removes it, so no half body is ever left under a URL's name.
        """
        path = self.target(url)
        descriptor, temporary = tempfile.mkstemp(dir=self.root, prefix=".partial-")
        return PartialFile(os.fdopen(descriptor, "wb"), temporary, path)


class PartialFile:
    """A body being saved: written to a temporary file, moved over its name when complete.

    Used as a context manager: leaving the block normally moves the file into
    place (:attr:`path`); leaving it with an error removes it.
    """

    def __init__(self, file: BinaryIO, temporary: str, path: Path) -> None:
        self._file = file
        self._temporary = temporary
        #: Where the body goes once complete.
        self.path = path
        self._done = False

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` to the body."""
        self._file.write(chunk)

    def commit(self) -> None:
        """Close the file and move it over its name (replacing a symlink itself, never what it points to)."""
        if self._done:
            return
        self._done = True
        try:
            self._file.close()
            os.replace(self._temporary, self.path)
        except BaseException:
            self._remove()
            raise

    def discard(self) -> None:
        """Close the file and remove it: nothing of the body is kept."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            self._file.close()
        self._remove()

    def _remove(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self._temporary)

    def __enter__(self) -> PartialFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
