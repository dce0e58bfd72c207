"""The inbox run's rules without Prefect: what it remembers, logs, and counts as failing (InboxRunState)."""

import json

import pytest

from tarjama.errors import InputError, RunError
from tarjama.files import state_path
from tarjama.runs.inbox import LOG_NAME, UNREADABLE_NAME, ArticleStatus, FileState, InboxRunState, Verdict

BAD = Verdict(ArticleStatus.FAILED, error="not UTF-8", known_bad=True)


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.txt").write_text("مرحبا\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize(("only_changed", "remembered"), [(True, True), (False, False)])
def test_only_an_inbox_run_remembers_an_unreadable_article(inbox, tmp_path, only_changed, remembered):
    run = InboxRunState(inbox, tmp_path / "out", only_changed=only_changed)
    article = run.articles[0]
    run.skipped(article, Verdict(BAD.status, error=BAD.error, state=FileState.of(article), known_bad=True), 0.1)
    run.log()
    assert (run.unreadable is not None) is only_changed
    assert state_path(tmp_path / "out", UNREADABLE_NAME).is_file() is remembered


def test_an_unreadable_article_without_its_state_is_not_remembered(inbox, tmp_path):
    run = InboxRunState(inbox, tmp_path / "out", only_changed=True)
    run.skipped(run.articles[0], BAD, 0.1)
    assert run.unreadable is not None and not run.unreadable.entries


@pytest.mark.parametrize(("only_changed", "unreadable", "fails"), [
    (True, True, False),   # the article's own bad input, found by triage: reported once, not a failure
    (False, True, True),   # an explicit folder run fails on it
    (True, False, True),   # its run failed (even on an input error): a failure
    (False, False, True),
])
def test_which_failures_fail_the_run(inbox, tmp_path, only_changed, unreadable, fails):
    run = InboxRunState(inbox, tmp_path / "out", only_changed=only_changed)
    if unreadable:
        run.skipped(run.articles[0], BAD, 0.1)
    else:
        run.not_published(run.articles[0], InputError("cannot read"), 0.5)
    if fails:
        with pytest.raises(RunError, match="1 of 1 articles failed"):
            run.raise_failures()
    else:
        run.raise_failures()


def test_the_log_line_names_the_run_and_each_article(inbox, tmp_path):
    run = InboxRunState(inbox, tmp_path / "out", only_changed=True)
    run.skipped(run.articles[0], Verdict(ArticleStatus.SKIPPED, reason="up to date"), 0.01)
    run.log(flow_run_id="id", flow_run_name="inbox x")
    line = json.loads(state_path(tmp_path / "out", LOG_NAME).read_text(encoding="utf-8"))
    assert list(line) == ["finished", "flow_run_id", "flow_run_name", "started", "seconds", "articles"]
    assert [entry["status"] for entry in line["articles"]] == ["skipped"]
