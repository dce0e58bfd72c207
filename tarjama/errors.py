"""Domain errors: what the CLI prints as one ``error:`` line instead of a traceback."""

from __future__ import annotations

from pathlib import Path


class TarjamaError(Exception):
    """Base of every error meant for the user; ``exit_code`` follows the contract."""

    exit_code = 1

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = None if path is None else str(path)
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
