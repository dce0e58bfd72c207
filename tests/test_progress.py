import io
import sys

from tarjama.translate.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar(3, "Translating a.txt") as advance:
        assert advance is None
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(3, "Translating a.txt") as advance:
        advance(2)
        advance(1)
    assert "Translating a.txt" in terminal.getvalue() and "3/3" in terminal.getvalue()
