"""Where a run writes: checked before any work, and the system's refusals told in the user's words.

An outputs folder ``OUT`` holds the published files and ``OUT/.tarjama`` (the translation memory,
the article locks in ``locks/``, the hashes of rendered files in ``rendered/``). Each must be a
folder that can be written, on a file system that is not mounted read-only; a run checks all of
it before it loads a model, so that a wrong ``--out`` costs no work.
"""

from __future__ import annotations

from pathlib import Path

from tarjama.errors import InputError
from tarjama.files import STATE_FOLDER, check_output_dir, state_path
from tarjama.memory.store import check_memory
from tarjama.text.inputs import file_kind

DEFAULT_OUTPUT_DIR = Path("outputs")  # where a run publishes unless told otherwise
# The publisher's folders under OUT/.tarjama: article locks, the hashes of rendered files, remembered runs.
LOCKS_FOLDER, RENDERED_FOLDER, RUNS_FOLDER = "locks", "rendered", "runs"
STATE_SUBFOLDERS = (LOCKS_FOLDER, RENDERED_FOLDER, RUNS_FOLDER)


def check_outputs(out_dir: Path | str, memory: Path | str | None = None) -> None:
    """Check the whole outputs layout (``OUT``, ``OUT/.tarjama`` and its subfolders) and the memory.

    ``memory`` is the translation memory the run will use, if any: it must be a valid memory, or a
    file that can be created.
    """
    out_dir = Path(out_dir)
    check_output_dir(out_dir)
    state = state_path(out_dir)
    for folder in (state, *(state / name for name in STATE_SUBFOLDERS)):
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                kind = file_kind(folder)
                raise InputError(f"is {kind}, not a folder: tarjama keeps its translation memory and locks "
                                 f"in {STATE_FOLDER}/; move {'the file' if kind == 'a file' else 'it'} aside",
                                 path=folder)
            check_output_dir(folder)
    if memory is not None:
        check_memory_location(memory)


def check_memory_location(path: Path | str) -> None:
    """The memory file can be used: a valid memory, or a new file in a folder that can be written."""
    path = Path(path)
    check_output_dir(path.parent)
    if path.exists() or path.is_symlink():
        check_memory(path)
