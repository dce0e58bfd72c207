"""Each source sentence's approval revision, and the write transaction that makes check-and-approve one step."""

import sqlite3
import threading

import pytest

from tarjama.memory.store import open_memory

SOURCE = "وصل الوفد إلى كابول صباح الأحد."
OTHER = "قال الكرملين إن موسكو رفضت التحذير."


def test_the_revision_rises_with_each_change_of_the_approval_and_only_then(tmp_path):
    with open_memory(tmp_path / "tm.sqlite") as memory:
        steps = [
            ("never approved", lambda: 0, 1),
            ("approve", lambda: memory.approve([(SOURCE, "Arrived.")], origin="t"), 2),
            ("the same English again", lambda: memory.approve([(SOURCE, " Arrived. ")], origin="t"), 2),
            ("replace", lambda: memory.approve([(SOURCE, "They arrived.")], origin="t"), 3),
            ("a memory from elsewhere keeps ours", lambda: memory.approve([(SOURCE, "X.")], origin="t",
                                                                          replace=False), 3),
            ("withdraw", lambda: memory.withdraw([SOURCE]), 4),
            ("withdraw what is not there", lambda: memory.withdraw([SOURCE]), 4),
            ("re-approve the first English", lambda: memory.approve([(SOURCE, "Arrived.")], origin="t"), 5),
        ]
        for name, change, expected in steps:
            change()
            assert memory.revision(SOURCE) == expected, name
        assert memory.revision(f"\u200f{SOURCE}  ") == 5  # looked up as the memory looks sentences up
        assert memory.revision(OTHER) == 1  # one sentence's changes are its own


def test_a_memory_without_the_revision_table_counts_from_its_approvals_and_keeps_rising(tmp_path):
    path = tmp_path / "tm.sqlite"
    with open_memory(path) as memory:
        memory.approve([(SOURCE, "Arrived.")], origin="t")
        memory.approve([(SOURCE, "They arrived.")], origin="t")
        memory.withdraw([SOURCE])
        assert memory.revision(SOURCE) == 4
    db = sqlite3.connect(path)
    db.execute("DROP TABLE approval_revision")  # as a memory written before the table was
    db.commit()
    db.close()
    with open_memory(path) as memory:
        # 1 + two past approvals + none current: what the studio counted before the table.
        assert memory.revision(SOURCE) == 3
        seen = [memory.revision(SOURCE)]
        memory.approve([(SOURCE, "Arrived.")], origin="t")  # stored: the revision before it (3) + 1
        seen.append(memory.revision(SOURCE))
        memory.withdraw([SOURCE])  # 1 + 3 + 0 = 4 counted, the same as before: the stored revision rises
        seen.append(memory.revision(SOURCE))
        memory.approve([(SOURCE, "Arrived again.")], origin="t")
        seen.append(memory.revision(SOURCE))
    assert seen == [3, 4, 5, 6]


def _approve_as_an_older_tarjama(path, source, target):
    """What a tarjama that does not know the revision table does to approve: approved and history only."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    current = db.execute("SELECT source_text, target, origin, approved_at, run_id FROM approved WHERE source = ?",
                         (source,)).fetchone()
    if current is not None:
        db.execute("INSERT INTO approval_history VALUES (?, ?, ?, ?, ?, 'now', ?)", (source, *current))
    db.execute("INSERT OR REPLACE INTO approved VALUES (?, ?, ?, 'old tarjama', 'now', NULL)", (source, source, target))
    db.execute("COMMIT")
    db.close()


def test_changes_by_a_tarjama_that_keeps_no_revisions_still_raise_it(tmp_path):
    path = tmp_path / "tm.sqlite"
    with open_memory(path) as memory:
        memory.approve([(SOURCE, "Arrived.")], origin="t")
        memory.withdraw([SOURCE])
        memory.approve([(SOURCE, "Arrived.")], origin="t")
        seen = [memory.revision(SOURCE)]  # 4, where the approvals alone count 1 + 2 + 1 = 4
        _approve_as_an_older_tarjama(path, SOURCE, "Replaced by an older tarjama.")
        seen.append(memory.revision(SOURCE))
        _approve_as_an_older_tarjama(path, SOURCE, "Replaced again.")
        seen.append(memory.revision(SOURCE))
        memory.withdraw([SOURCE])
        seen.append(memory.revision(SOURCE))
    assert seen == sorted(set(seen)) and len(seen) == 4, seen  # strictly rising


def test_approve_and_withdraw_inside_a_transaction_join_it_and_commit_with_it(tmp_path):
    path = tmp_path / "tm.sqlite"
    # Opened first: opening checks the schema in a write transaction of its own, which would wait for ours.
    with open_memory(path) as memory, open_memory(path) as outside, memory.transaction() as same:
        assert same is memory
        assert memory.revision(SOURCE) == 1
        memory.approve([(SOURCE, "Arrived."), (OTHER, "Kremlin.")], origin="t")
        memory.withdraw([OTHER])
        assert (memory.revision(SOURCE), memory.revision(OTHER)) == (2, 3)
        # Another connection reads on meanwhile, and sees nothing before the commit.
        assert (outside.approved(SOURCE), outside.revision(SOURCE)) == (None, 1)
    with open_memory(path) as after:
        assert after.approved(SOURCE).target == "Arrived." and after.approved(OTHER) is None
        assert (after.revision(SOURCE), after.revision(OTHER)) == (2, 3)


def test_a_transaction_that_raises_stores_nothing_and_a_failed_nested_one_is_undone_alone(tmp_path):
    path = tmp_path / "tm.sqlite"
    with open_memory(path) as memory:
        with pytest.raises(RuntimeError), memory.transaction():
            memory.approve([(SOURCE, "Arrived.")], origin="t")
            raise RuntimeError("the check failed")
        assert (memory.approved(SOURCE), memory.revision(SOURCE)) == (None, 1)

        with memory.transaction():
            memory.approve([(SOURCE, "Arrived.")], origin="t")
            with pytest.raises(RuntimeError), memory.transaction():  # a nested one that fails is undone alone
                memory.approve([(OTHER, "Kremlin.")], origin="t")
                raise RuntimeError("the inner check failed")
            with memory.transaction(), memory.transaction():  # nested deeper still
                memory.withdraw([SOURCE])
                memory.approve([(SOURCE, "Arrived again.")], origin="t")
        assert memory.approved(SOURCE).target == "Arrived again." and memory.revision(SOURCE) == 4
        assert (memory.approved(OTHER), memory.revision(OTHER)) == (None, 1)  # its revision undone with it
        memory.approve([(OTHER, "Kremlin.")], origin="t")  # the connection is usable: no transaction left open
    with open_memory(path) as after:
        assert after.approved(OTHER).target == "Kremlin."


def test_a_second_connection_s_approve_waits_for_the_transaction_to_commit(tmp_path):
    path = tmp_path / "tm.sqlite"
    with open_memory(path) as memory:
        memory.approve([(SOURCE, "First.")], origin="t")
    opened, go, asked = threading.Event(), threading.Event(), threading.Event()
    result = {}

    def on_statement(sql):
        if sql.startswith("BEGIN IMMEDIATE"):
            asked.set()  # SQLite calls this as the statement starts: the second writer asks for the lock now

    def approve_elsewhere():
        with open_memory(path) as second:  # a second memory object, its own connection, in its own thread
            opened.set()
            go.wait(timeout=60)
            result["revision seen before"] = second.revision(SOURCE)  # reading does not wait
            second._conn.set_trace_callback(on_statement)
            second.approve([(SOURCE, "Second.")], origin="t")
            result["revision"] = second.revision(SOURCE)

    thread = threading.Thread(target=approve_elsewhere)
    thread.start()
    with open_memory(path) as first:
        assert opened.wait(timeout=60)
        with first.transaction():
            revision = first.revision(SOURCE)
            go.set()
            assert asked.wait(timeout=60)
            # The second writer is inside BEGIN IMMEDIATE, and cannot have the lock while this transaction holds
            # it, however long either takes: it has stored nothing.
            assert "revision" not in result and first.approved(SOURCE).target == "First."
            assert first.revision(SOURCE) == revision == 2
            first.approve([(SOURCE, "Checked and approved.")], origin="t")
        thread.join(timeout=60)
        assert not thread.is_alive()
    with open_memory(path) as after:
        # In that order: ours, then theirs over it; each raised the revision once.
        assert after.approved(SOURCE).target == "Second."
        assert [entry.target for entry in after.past_approvals(SOURCE)] == ["Checked and approved.", "First."]
        assert result == {"revision seen before": 2, "revision": 4} and after.revision(SOURCE) == 4
