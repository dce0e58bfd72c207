"""Domain errors: what the CLI prints as one ``error:`` line instead of a traceback."""

from __future__ import annotations

import os
from pathlib import Path


def printable(path: Path | str) -> str:
    """The path as text that can be encoded (printed, logged, sent as JSON): the bytes of a name that
    is not valid UTF-8 (kept by Python as lone surrogates) shown as ``\\xe9`` escapes."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    return text


class TarjamaError(Exception):
    """Base of every error meant for the user; ``exit_code`` follows the contract."""

    exit_code = 1

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = None if path is None else printable(path)
        self.line = line
        super().__init__(self.describe())

    def describe(self) -> str:
        """The message prefixed with ``file:line:`` where they are known."""
        where = self.path or ""
        if where and self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}" if where else self.message


class InputError(TarjamaError):
    """Bad usage or bad input (exit code 2): the user can fix it."""

    exit_code = 2


class ModelNotAvailable(InputError):
    """The requested model is neither local nor downloadable; the message says how to get it."""


class RunError(TarjamaError):
    """A run failed for a reason outside the user's control (exit code 1)."""

    exit_code = 1


# Failures of the machine's resources (memory, disk, a device, time) that another try may not meet: a run made of
# several articles fails as a whole on them, to be tried again, instead of blaming the article it was on.
RESOURCE_FAILURES: tuple[type[BaseException], ...] = (MemoryError, OSError, TimeoutError)
