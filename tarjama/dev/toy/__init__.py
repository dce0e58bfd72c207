"""The toy model: a small MarianMT ar→en trained on the spot on a synthetic corpus (it knows only its templates)."""

from enum import StrEnum


class ToySize(StrEnum):
    """The sizes of ``tarjama models toy``: the default (minutes) and a small one for tests (seconds)."""

    DEFAULT = "default"
    SMALL = "small"
