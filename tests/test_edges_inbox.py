"""Issue 12, the inbox: only settled, present articles are published; odd files never fail every run;
operators see per article what each run did (terminal line, Prefect run names, the inbox log)."""

import json
import os
import time
from pathlib import Path

import pytest

from tarjama.translate.settings import RunSettings

TITLE = "عنوان قصير"
BODY = ["قال الكرملين إن الوضع هادئ.", "وصل الوفد إلى موسكو يوم الجمعة."]


def tiny_settings(model, **options):
    """These tests' run settings: the (tiny) model given, greedy."""
    return RunSettings.from_options(model=str(model), beam_size=1, **options)


def write_article(path, *lines, age=3600):
    """A short article, its modification time ``age`` seconds ago (settled, unless age is small)."""
    path.write_text("\n".join([TITLE, *(lines or BODY)]) + "\n", encoding="utf-8")
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return path


def last_run(out):
    lines = (out / ".tarjama" / "inbox-log.jsonl").read_text(encoding="utf-8").splitlines()
    return json.loads(lines[-1])


def statuses(out):
    return {a["article"].rsplit("/", 1)[-1]: a["status"] for a in last_run(out)["articles"]}


def during_translation(monkeypatch, action):
    """Run ``action`` once, while the first article of the run is being translated (after it was read)."""
    import tarjama.runs.folder as folder
    import tarjama.translate.incremental as incremental

    real = incremental.run_translation
    done = []

    def wrapped(*args, **kwargs):
        if not done:
            done.append(1)
            action()
        return real(*args, **kwargs)

    # An article run translates through the first, a folder run's pools through the second.
    for module in (incremental, folder):
        monkeypatch.setattr(module, "run_translation", wrapped)


def test_temporary_upload_names_are_not_articles(tmp_path):
    from tarjama.text.articles import articles_in

    for name in ("~$story.txt", ".story.txt", ".story.txt.Xa81Qz", "#story.txt#", "story.txt.part",
                 "story.txt.crdownload", "story.txt~", "story.tmp", "story.txt"):
        (tmp_path / name).write_text("عنوان\n", encoding="utf-8")
    (tmp_path / "folder.txt").mkdir()  # listed, so that a run reports it (see the tests of not regular files)
    assert [p.name for p in articles_in(tmp_path)] == ["folder.txt", "story.txt"]


@pytest.mark.slow
def test_an_article_removed_mid_run_is_not_published_and_is_logged_gone(prefect_server, tmp_path, tiny_marian,
                                                                         monkeypatch):
    from flows.translate import translate_folder

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    removed = write_article(inbox / "a-removed.txt")
    write_article(inbox / "b-stays.txt", "قال مسؤولون إن التحقيق مستمر.")
    translate_folder(inbox, settings=tiny_settings(tiny_marian), out_dir=out, only_changed=True)
    earlier = (out / "a-removed.run.json").read_text(encoding="utf-8")

    write_article(removed, "وصل الوفد إلى موسكو يوم الأحد.")  # a new version, removed while it is translated
    during_translation(monkeypatch, removed.unlink)
    translate_folder(inbox, settings=tiny_settings(tiny_marian), out_dir=out, only_changed=True)  # does not fail
    assert statuses(out) == {"a-removed.txt": "gone", "b-stays.txt": "skipped"}
    entry = last_run(out)["articles"][0]
    assert "removed while it was being translated" in entry["reason"] and "outputs" not in entry
    # Not published: the earlier run's outputs are left as they were.
    assert (out / "a-removed.run.json").read_text(encoding="utf-8") == earlier


def test_an_article_changed_mid_run_is_logged_changed_and_taken_by_the_next_run(prefect_server, tmp_path,
                                                                                 tiny_marian, monkeypatch):
    from flows.translate import translate_folder

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    article = write_article(inbox / "story.txt", BODY[0])

    def append_paragraph():
        with article.open("a", encoding="utf-8") as stream:
            stream.write(BODY[1] + "\n")

    during_translation(monkeypatch, append_paragraph)
    translate_folder(inbox, settings=tiny_settings(tiny_marian), out_dir=out, only_changed=True)  # no RunError
    assert statuses(out) == {"story.txt": "changed"}
    assert not (out / "story.run.json").exists()
    translate_folder(inbox, settings=tiny_settings(tiny_marian), out_dir=out, only_changed=True)
    assert statuses(out) == {"story.txt": "translated"}
    record = json.loads((out / "story.run.json").read_text(encoding="utf-8"))
    assert len({s["paragraph"] for s in record["segments"]}) == 3  # the whole article, as it is now


def test_an_upload_waits_until_it_has_settled(prefect_server, tmp_path, tiny_marian):
    from flows.translate import translate_folder

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    article = write_article(inbox / "upload.txt", BODY[0], age=0)  # half copied, then the copy stalls
    run = {"settings": tiny_settings(tiny_marian), "out_dir": out, "only_changed": True, "settle_seconds": 30}
    outcomes = translate_folder(inbox, **run)
    assert [o.status for o in outcomes] == ["waiting"]
    assert "taken once unchanged for 30 s" in last_run(out)["articles"][0]["reason"]
    assert not (out / "upload.run.json").exists()
    write_article(article, *BODY, age=0)  # the copy resumes and ends: still too fresh
    translate_folder(inbox, **run)
    assert statuses(out) == {"upload.txt": "waiting"} and not (out / "upload.run.json").exists()
    stamp = time.time() - 31  # 31 s later, unchanged
    os.utime(article, (stamp, stamp))
    translate_folder(inbox, **run)
    assert statuses(out) == {"upload.txt": "translated"}
    record = json.loads((out / "upload.run.json").read_text(encoding="utf-8"))
    assert len({s["paragraph"] for s in record["segments"]}) == 3


def unreadable_articles(inbox):
    bad = {"undecodable.txt": TITLE.encode("utf-8") + b"\n\xff\xfe broken\n",
           "binary.txt": b"\x00\x01\x02" * 100}
    for name, data in bad.items():
        (inbox / name).write_bytes(data)
    if os.geteuid() != 0:  # root reads a file whatever its mode
        locked = write_article(inbox / "locked.txt")
        locked.chmod(0)
        bad["locked.txt"] = b""
    return sorted(bad)


def test_an_unreadable_article_is_reported_once_and_does_not_fail_later_runs(prefect_server, tmp_path,
                                                                             tiny_marian):
    from flows.translate import translate_folder

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    bad = unreadable_articles(inbox)
    write_article(inbox / "good.txt")
    run = {"settings": tiny_settings(tiny_marian), "out_dir": out, "only_changed": True}
    translate_folder(inbox, **run)  # the first run meets them: reported, and the run does not fail
    first = {a["article"].rsplit("/", 1)[-1]: a for a in last_run(out)["articles"]}
    assert {name: first[name]["status"] for name in bad} == dict.fromkeys(bad, "failed")
    assert "not valid UTF-8" in first["undecodable.txt"]["error"]
    assert "binary data" in first["binary.txt"]["error"]
    assert first["good.txt"]["status"] == "translated"

    translate_folder(inbox, **run)  # later runs skip them until they change
    second = {a["article"].rsplit("/", 1)[-1]: a for a in last_run(out)["articles"]}
    assert {name: second[name]["status"] for name in bad} == dict.fromkeys(bad, "skipped")
    assert "not valid UTF-8" in second["undecodable.txt"]["reason"]

    write_article(inbox / "undecodable.txt")  # fixed: taken again
    translate_folder(inbox, **run)
    assert statuses(out)["undecodable.txt"] == "translated"


def test_an_explicit_folder_run_and_real_failures_still_fail(prefect_server, tmp_path, tiny_marian, monkeypatch):
    import tarjama.runs.folder as folder
    import tarjama.translate.incremental as incremental
    from flows.translate import translate_folder
    from tarjama.errors import InputError, RunError

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    (inbox / "undecodable.txt").write_bytes(b"\xff\xfe\n")
    with pytest.raises(RunError, match=r"1 of 1 articles failed: .*not valid UTF-8"):
        translate_folder(inbox, settings=tiny_settings(tiny_marian), out_dir=out)  # not the inbox: fails
    (inbox / "undecodable.txt").unlink()
    write_article(inbox / "good.txt")

    def broken(*args, **kwargs):
        raise InputError("the memory is not a tarjama memory", path=out / ".tarjama" / "memory.sqlite")

    for module in (incremental, folder):  # an article's and a pool's translation
        monkeypatch.setattr(module, "run_translation", broken)
    with pytest.raises(RunError, match=r"1 of 1 articles failed: .*not a tarjama memory"):
        translate_folder(inbox, settings=tiny_settings(tiny_marian), out_dir=out, only_changed=True)
    assert statuses(out) == {"good.txt": "failed"}


def test_the_distributed_flow_settles_and_skips_unreadable_articles(prefect_server, tmp_path, tiny_marian):
    from flows.translate import translate_folder_distributed

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    (inbox / "undecodable.txt").write_bytes(b"\xff\xfe\n")
    os.utime(inbox / "undecodable.txt", (time.time() - 60, time.time() - 60))
    write_article(inbox / "fresh.txt", age=0)
    write_article(inbox / "good.txt")
    run = {"settings": tiny_settings(tiny_marian), "out_dir": out, "only_changed": True, "settle_seconds": 30}
    results = translate_folder_distributed(inbox, **run)
    assert [r.published.record.name for r in results] == ["good.run.json"]
    assert statuses(out) == {"undecodable.txt": "failed", "fresh.txt": "waiting", "good.txt": "translated"}
    translate_folder_distributed(inbox, **run)
    assert statuses(out) == {"undecodable.txt": "skipped", "fresh.txt": "waiting", "good.txt": "skipped"}


def test_runs_are_named_by_article_and_logged_with_ids_seconds_and_outputs(prefect_server, tmp_path, tiny_marian,
                                                                           capfd):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.translate import translate_folder

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    write_article(inbox / "crocus-city-hall.txt")
    translate_folder(inbox, settings=tiny_settings(tiny_marian), out_dir=out, only_changed=True, echo=True)
    logged = last_run(out)
    (entry,) = logged["articles"]
    assert entry["status"] == "translated" and entry["seconds"] > 0
    assert entry["outputs"]["english"] == str(out / "crocus-city-hall.en.md")
    assert entry["outputs"]["record"] == str(out / "crocus-city-hall.run.json")
    # One line per article per run (the Prefect log's copy of it stays off the terminal).
    (line,) = [line for line in capfd.readouterr().err.splitlines() if "crocus-city-hall.txt" in line]
    assert line.startswith("crocus-city-hall.txt: translated in ")
    assert line.endswith(" s → " + entry["outputs"]["english"])
    translate_folder(inbox, settings=tiny_settings(tiny_marian), out_dir=out, only_changed=True, echo=True)
    (line,) = [line for line in capfd.readouterr().err.splitlines() if "crocus-city-hall.txt" in line]
    assert line == "crocus-city-hall.txt: skipped (up to date)"

    # An article alone in its pool is translated like any pool: one task of the folder's run, named after it.
    with get_client(sync_client=True) as client:
        folder_run = client.read_flow_run(logged["flow_run_id"])
        names = {t.name for t in client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[folder_run.id])))}
        assert folder_run.name == logged["flow_run_name"] == "inbox inbox"
        assert {"check crocus-city-hall", "translate crocus-city-hall"} <= names


def test_serve_has_the_flow_print_a_line_per_article_and_settle(prefect_server, tmp_path, tiny_marian, monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    import flows.translate as module
    from tarjama.cli import main

    deployed = []
    monkeypatch.setattr(module.translate_folder, "serve", lambda **kwargs: deployed.append(kwargs))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    base = ["serve", "--inbox", str(inbox), "--out", str(tmp_path / "out"), "--interval", "60",
            "--model", str(tiny_marian)]
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert main(base) == 0
        assert main([*base, "--settle", "2.5"]) == 0
    assert [(d["parameters"]["echo"], d["parameters"]["settle_seconds"]) for d in deployed] == [(True, 30), (True, 2.5)]


# Review of scheduled runs: odd names and odd entries never stop the inbox, and messages say what happens.

def _logged(out):
    return {a["article"].rsplit("/", 1)[-1]: a for a in last_run(out)["articles"]}


@pytest.mark.parametrize("flow_name", ["translate_folder", "translate_folder_distributed"])
def test_a_file_name_that_is_not_utf8_is_reported_once_and_the_run_goes_on(prefect_server, tmp_path, tiny_marian,
                                                                           flow_name):
    import flows.translate as module

    flow = getattr(module, flow_name)
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    odd = write_article(Path(os.fsdecode(bytes(inbox) + b"/caf\xe9.txt")))  # valid Arabic, odd name
    write_article(inbox / "z-good.txt")  # sorted after it
    run = {"settings": tiny_settings(tiny_marian), "out_dir": out, "only_changed": True}
    flow(inbox, **run)  # no UnicodeEncodeError, no RunError
    first = _logged(out)
    assert first["caf\\xe9.txt"]["status"] == "failed"
    assert "its name is not valid UTF-8: rename it" in first["caf\\xe9.txt"]["error"]
    assert first["z-good.txt"]["status"] == "translated"
    unreadable = json.loads((out / ".tarjama" / "inbox-unreadable.json").read_text(encoding="utf-8"))
    assert [key.rsplit("/", 1)[-1] for key in unreadable] == ["caf\\xe9.txt"]

    flow(inbox, **run)  # skipped until it changes
    assert statuses(out) == {"caf\\xe9.txt": "skipped", "z-good.txt": "skipped"}
    odd.rename(inbox / "cafe.txt")  # renamed: taken
    flow(inbox, **run)
    assert statuses(out) == {"cafe.txt": "translated", "z-good.txt": "skipped"}


def test_txt_entries_that_are_not_regular_files_are_reported_once_and_never_opened(prefect_server, tmp_path,
                                                                                   tiny_marian):
    from flows.translate import translate_folder

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    (inbox / "dir.txt").mkdir()
    os.mkfifo(inbox / "fifo.txt")
    os.mkfifo(tmp_path / "elsewhere")
    (inbox / "link.txt").symlink_to(tmp_path / "elsewhere")
    (inbox / "broken.txt").symlink_to(tmp_path / "nothing")
    for name in ("dir.txt", "fifo.txt", "link.txt", "broken.txt"):
        os.utime(inbox / name, (time.time() - 3600, time.time() - 3600), follow_symlinks=False)
    write_article(inbox / "good.txt")
    run = {"settings": tiny_settings(tiny_marian), "out_dir": out, "only_changed": True}
    translate_folder(inbox, **run)  # a FIFO opened would block here
    first = _logged(out)
    assert {name: first[name]["status"] for name in first} == {"broken.txt": "failed", "dir.txt": "failed",
                                                               "fifo.txt": "failed", "link.txt": "failed",
                                                               "good.txt": "translated"}
    assert "is a broken symbolic link, not a regular file" in first["broken.txt"]["error"]
    assert "is a directory, not a regular file" in first["dir.txt"]["error"]
    assert "is a named pipe (FIFO), not a regular file" in first["fifo.txt"]["error"]
    assert "is a named pipe (FIFO), not a regular file" in first["link.txt"]["error"]
    translate_folder(inbox, **run)
    assert statuses(out) == {"broken.txt": "skipped", "dir.txt": "skipped", "fifo.txt": "skipped",
                             "link.txt": "skipped", "good.txt": "skipped"}


def test_the_waiting_line_does_not_contradict_itself(tmp_path):
    from tarjama.runs.inbox import triage

    article = write_article(tmp_path / "upload.txt", age=0)
    stamp = time.time() - 5.95
    os.utime(article, (stamp, stamp))
    verdict = triage(article, tmp_path / "out", model=None, settings=tiny_settings("unused"), only_changed=True,
                     settle_seconds=6)
    assert verdict.status == "waiting"
    assert verdict.reason.startswith("changed 5.9 s ago; taken once unchanged for 6 s"), verdict.reason


def test_an_inbox_run_says_the_next_run_takes_a_changed_article(prefect_server, tmp_path, tiny_marian, monkeypatch):
    from flows.translate import translate_folder

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    article = write_article(inbox / "story.txt", BODY[0])
    during_translation(monkeypatch, lambda: article.write_text(TITLE + "\n" + BODY[1] + "\n", encoding="utf-8"))
    translate_folder(inbox, settings=tiny_settings(tiny_marian), out_dir=out, only_changed=True)
    (entry,) = last_run(out)["articles"]
    assert entry["status"] == "changed"
    assert entry["reason"].endswith("the next run takes it)") and "translate it again" not in entry["reason"]


def test_serve_says_when_it_stopped_and_what_it_left_unpublished(prefect_server, tmp_path, tiny_marian, monkeypatch,
                                                                  capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    import flows.translate as module
    from tarjama.cli import main

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    article = write_article(inbox / "story.txt")
    interrupted = []

    def serve_then_ctrl_c(**_kwargs):  # Prefect's serve returns once Ctrl-C stopped it
        if interrupted:
            return
        interrupted.append(1)

        def stopped(*_args, **_kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(module.folder, "translate_pool", stopped)  # Ctrl-C while the pool is translated
        with temporary_settings(restore_defaults={PREFECT_API_URL}), pytest.raises(KeyboardInterrupt):
            module.translate_folder(inbox, settings=tiny_settings(tiny_marian), out_dir=out, only_changed=True)

    monkeypatch.setattr(module.translate_folder, "serve", serve_then_ctrl_c)
    command = ["serve", "--inbox", str(inbox), "--out", str(out), "--interval", "60", "--model", str(tiny_marian)]
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert main(command) == 0
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert last == (f"serve stopped: {article} was being translated and is not published; "
                        "the next serve run takes it")
        assert main(command) == 0
        assert capsys.readouterr().err.strip().splitlines()[-1] == "serve stopped"
