"""Issue 12, inputs and leftovers: only regular files of a sane size, outputs checked up front, no leftovers."""

import contextlib
import errno
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_cli import TARJAMA

from tarjama import files
from tarjama.cli import main
from tarjama.errors import InputError, RunError
from tarjama.files import write_atomically
from tarjama.memory.store import MachineEntry, open_memory

GLOSSARY = Path(__file__).parent.parent / "glossaries" / "news-ar-en.tsv"


@pytest.fixture
def article(tmp_path, sample_path):
    """A short article (three paragraphs of the sample): size proves nothing here."""
    path = tmp_path / "story.txt"
    lines = [line for line in sample_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    path.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def make_fifo():
    """Named pipes. Should a reader block on one (the defect), a writer opens it after a while and
    closes it at once, so that the test fails instead of hanging."""
    done = threading.Event()

    def make(path):
        os.mkfifo(path)

        def unblock():
            if done.wait(5):
                return
            while not done.is_set():
                with contextlib.suppress(OSError):  # no reader yet
                    os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                time.sleep(0.1)

        threading.Thread(target=unblock, daemon=True).start()
        return path

    yield make
    done.set()


@pytest.fixture
def fifo(tmp_path, make_fifo):
    """A named pipe named like an article."""
    return make_fifo(tmp_path / "pipe.txt")


@pytest.fixture(autouse=True)
def prefect_defaults(monkeypatch):
    """The variables translate and serve set for Prefect, set here so that they do not leak past the test."""
    from flows.settings import prefect_environment

    for name, value in prefect_environment().items():
        monkeypatch.setenv(name, value)


def one_error(capsys, code, *fragments):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for fragment in fragments:
        assert fragment in lines[0], err
    return code


# Defect 5: FIFOs, devices and endless input.

def test_a_fifo_as_the_article_is_an_error_at_once(fifo, capsys):
    assert main(["segment", str(fifo)]) == 2
    one_error(capsys, 2, str(fifo), "named pipe", "regular file")


def test_a_fifo_as_the_glossary_is_an_error_at_once(fifo, article, capsys):
    assert main(["terms", str(article), "--glossary", str(fifo)]) == 2
    one_error(capsys, 2, str(fifo), "named pipe")


def test_a_fifo_as_the_reference_stops_translate_before_any_model_work(fifo, article, tiny_marian, tmp_path,
                                                                       no_model_work, capsys):
    code = main(["translate", str(article), "--model", str(tiny_marian), "--reference", str(fifo),
                 "--out", str(tmp_path / "out")])
    assert code == 2
    one_error(capsys, 2, str(fifo), "named pipe")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("name", "command"), [("hyp.txt", ["score", "--hyp", "{fifo}", "--ref", "{article}"]),
                                             ("memory.tmx", ["tm", "import", "{fifo}", "--memory", "{memory}"]),
                                             ("terms.tbx", ["glossary", "import", "{fifo}"]),
                                             ("story.bilingual.md", ["tm", "import", "{fifo}"])])
def test_every_input_reader_refuses_a_fifo(make_fifo, article, tmp_path, name, command, capsys):
    pipe = make_fifo(tmp_path / name)
    args = [part.format(fifo=pipe, article=article, memory=tmp_path / "memory.sqlite") for part in command]
    assert main(args) == 2
    one_error(capsys, 2, str(pipe), "named pipe")


def test_dev_zero_is_refused_not_read_until_memory_runs_out(tmp_path):
    # In a child with 2 GB of address space: on a reader that reads to the end, the test fails, the machine lives.
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    done = subprocess.run([sys.executable, "-m", "tarjama.cli", "segment", "/dev/zero"], capture_output=True,
                          text=True, timeout=120, preexec_fn=limit, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: /dev/zero: is a character device, not a regular file"), done.stderr


def test_an_input_over_the_size_limit_is_refused_naming_the_path_and_the_limit(tmp_path, sample_path, monkeypatch,
                                                                                capsys):
    big = tmp_path / "big.txt"
    text = sample_path.read_text(encoding="utf-8")
    big.write_text(text * (1_200_000 // len(text.encode("utf-8")) + 1), encoding="utf-8")
    monkeypatch.setenv("TARJAMA_MAX_INPUT_MB", "1")
    assert main(["segment", str(big)]) == 2
    one_error(capsys, 2, str(big), "1 MB input limit", "TARJAMA_MAX_INPUT_MB")
    monkeypatch.setenv("TARJAMA_MAX_INPUT_MB", "2")  # the limit is the user's to raise
    assert main(["segment", str(big)]) == 0


def test_a_bad_size_limit_is_a_usage_error(article, monkeypatch, capsys):
    monkeypatch.setenv("TARJAMA_MAX_INPUT_MB", "lots")
    assert main(["segment", str(article)]) == 2
    one_error(capsys, 2, "TARJAMA_MAX_INPUT_MB")


# Defect 7: a corrupt memory, a .tarjama that is a file, a read-only file system.

def corrupt_memory(path):
    with open_memory(path) as memory:
        memory.approve([(f"جملة رقم {n} " * 20, f"sentence {n}") for n in range(3000)], origin="test")
    data = bytearray(path.read_bytes())
    for offset in range(4096 * 3, len(data) - 4096, 8192):  # every other page from the fourth
        data[offset:offset + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("damage", ["corrupt pages", "truncated"])
def test_a_damaged_memory_is_an_error_naming_it_before_any_model_work(article, tiny_marian, tmp_path, damage,
                                                                      no_model_work, capsys):
    out = tmp_path / "out"
    memory = out / ".tarjama" / "memory.sqlite"
    memory.parent.mkdir(parents=True)
    if damage == "corrupt pages":
        corrupt_memory(memory)
    else:
        memory.write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)
    code = main(["translate", str(article), "--model", str(tiny_marian), "--out", str(out)])
    assert code == 2
    one_error(capsys, 2, str(memory), "is not a valid translation memory", "move it aside")


def test_a_memory_with_corrupt_pages_is_named_as_such(tmp_path):
    memory = corrupt_memory(tmp_path / "memory.sqlite")
    with pytest.raises(InputError, match="database disk image is malformed"), open_memory(memory) as opened:
        opened.approved("جملة رقم 5 " * 20)


@pytest.mark.parametrize("blocker", [".tarjama", ".tarjama/locks", ".tarjama/rendered", ".tarjama/runs",
                                     ".tarjama/memory.sqlite"])
def test_a_file_or_folder_in_the_way_of_the_outputs_layout_stops_translate_at_once(article, tiny_marian, tmp_path,
                                                                                   blocker, no_model_work, capsys):
    out = tmp_path / "out"
    (out / blocker).parent.mkdir(parents=True, exist_ok=True)
    if blocker.endswith(".sqlite"):
        (out / blocker).mkdir()
    else:
        (out / blocker).write_text("not a folder\n", encoding="utf-8")
    code = main(["translate", str(article), "--model", str(tiny_marian), "--out", str(out)])
    assert code == 2
    one_error(capsys, 2, str(out / blocker))


def test_serve_and_tm_import_check_the_outputs_layout_too(tmp_path, tiny_marian, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".tarjama").write_text("a file\n", encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    assert main(["serve", "--inbox", str(inbox), "--out", str(out), "--interval", "60",
                 "--model", str(tiny_marian)]) == 2
    one_error(capsys, 2, str(out / ".tarjama"), "is a file, not a folder")
    bilingual = out / "story.bilingual.md"
    bilingual.write_text("---\nrun_id: \"x\"\n---\n", encoding="utf-8")
    assert main(["tm", "import", str(bilingual)]) == 2
    one_error(capsys, 2, str(out / ".tarjama"), "is a file, not a folder")


@pytest.fixture
def read_only_mount(tmp_path, monkeypatch):
    """``tmp_path`` as if mounted read-only: statvfs says so, and access(2) answers no (EROFS)."""
    real_statvfs, real_access = os.statvfs, os.access
    inside = str(tmp_path)

    class ReadOnly:
        def __init__(self, real):
            self._real = real
            self.f_flag = real.f_flag | os.ST_RDONLY

        def __getattr__(self, name):
            return getattr(self._real, name)

    def statvfs(path):
        result = real_statvfs(path)
        return ReadOnly(result) if str(path).startswith(inside) else result

    def access(path, mode, *args, **kwargs):
        if str(path).startswith(inside) and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "statvfs", statvfs)
    monkeypatch.setattr(os, "access", access)
    return tmp_path


def test_a_read_only_file_system_is_not_called_permission_denied(article, tiny_marian, read_only_mount,
                                                                 no_model_work, capsys):
    out = read_only_mount / "out"
    code = main(["translate", str(article), "--model", str(tiny_marian), "--out", str(out)])
    assert code == 2
    one_error(capsys, 2, str(read_only_mount), "read-only file system")


def test_a_write_on_a_read_only_file_system_says_so(tmp_path, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    target = tmp_path / "a.md"
    with pytest.raises(InputError, match="read-only file system") as raised:
        write_atomically({target: "text"})
    assert raised.value.path == str(target) and raised.value.exit_code == 2


# Defect 6: no staged file survives a failed write (disk full included).

@pytest.fixture
def disk_fills_midway(monkeypatch):
    """The disk fills up while a staged file is written: part of the data lands, then ENOSPC."""
    real_open = Path.open

    class Filling:
        def __init__(self, stream):
            self._stream = stream

        def write(self, text):
            self._stream.write(text[: len(text) // 2])
            self._stream.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._stream.close()

        def __getattr__(self, name):
            return getattr(self._stream, name)

    def opening(self, mode="r", *args, **kwargs):
        stream = real_open(self, mode, *args, **kwargs)
        return Filling(stream) if "w" in mode and self.name.endswith(".tmp") else stream

    monkeypatch.setattr(Path, "open", opening)


def test_disk_full_while_staging_leaves_no_staged_file_and_the_old_outputs(tmp_path, disk_fills_midway):
    paths = [tmp_path / "a.md", tmp_path / "b.json"]
    for path in paths:
        path.write_text("old " + path.name, encoding="utf-8")
    with pytest.raises(RunError, match="the disk is full") as raised:
        write_atomically({path: "new text " * 100 for path in paths})
    assert raised.value.path == str(paths[0]) and raised.value.exit_code == 1
    assert sorted(tmp_path.iterdir()) == sorted(paths)  # no .tmp, no .bak
    assert [p.read_text(encoding="utf-8") for p in paths] == ["old " + p.name for p in paths]


def test_disk_full_through_the_cli_is_one_error_line_naming_the_file(tmp_path, disk_fills_midway, capsys):
    out = tmp_path / "glossary.tsv"
    out.write_text("old\n", encoding="utf-8")
    assert main(["glossary", "import", str(GLOSSARY), "--out", str(out)]) == 1
    one_error(capsys, 1, str(out), "the disk is full")
    assert sorted(tmp_path.iterdir()) == [out] and out.read_text(encoding="utf-8") == "old\n"


# Defect 6: no Prefect server outlives a tarjama process killed with -9.

def _children(pid):
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\x00", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            children.append((int(entry.name), cmdline))
    return children


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signals are Linux's")
def test_no_prefect_server_outlives_a_translate_killed_with_minus_9(tmp_path, sample_path, tiny_marian, cli_env):
    article = tmp_path / "long.txt"
    lines = [line for line in sample_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    article.write_text("\n".join(f"{line} ({n})" for n in range(4) for line in lines) + "\n", encoding="utf-8")
    env = {k: v for k, v in cli_env.items()
           if k not in ("PREFECT_API_URL", "DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    process = subprocess.Popen([TARJAMA, "translate", str(article), "--model", str(tiny_marian),
                                "--out", str(tmp_path / "out"), "--beam-size", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    servers = []
    try:
        deadline = time.monotonic() + 180
        while not servers and process.poll() is None and time.monotonic() < deadline:
            servers = [pid for pid, cmdline in _children(process.pid) if "uvicorn" in cmdline or "prefect" in cmdline]
            time.sleep(0.05)
        assert servers, f"no Prefect server seen (exit status {process.poll()})"
        environment = Path(f"/proc/{servers[0]}/environ").read_bytes().split(b"\x00")
        assert b"DO_NOT_TRACK=1" in environment and b"PREFECT_SERVER_ANALYTICS_ENABLED=false" in environment
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in servers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in servers), "the Prefect server outlived its tarjama process"
    finally:
        if process.poll() is None:
            process.kill()
        for pid in servers:  # a survivor (the defect) must not outlive the test either
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.stderr.close()


def test_with_an_api_configured_tarjama_starts_no_server(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows import server

    started = []
    monkeypatch.setattr(server.TemporaryServer, "start", classmethod(started.append))
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        server.start_temporary_server()
    assert started == []


# Review of scheduled runs and input guards: interrupts, the memory's file and disk, messages that name the kind.

def _server_port(cmdline):
    words = cmdline.split()
    return int(words[words.index("--port") + 1])


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the temporary server is tarjama's on Linux only")
def test_ctrl_c_in_the_terminal_interrupts_translate_cleanly_and_stops_its_server(tmp_path, article, tiny_marian,
                                                                                 cli_env):
    import urllib.request

    env = {k: v for k, v in cli_env.items()
           if k not in ("PREFECT_API_URL", "DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    # A session of its own, as a terminal gives a job: Ctrl-C is SIGINT to the whole foreground process group.
    process = subprocess.Popen([TARJAMA, "translate", str(article), "--model", str(tiny_marian),
                                "--out", str(tmp_path / "out"), "--beam-size", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
    servers = []
    try:
        deadline = time.monotonic() + 120
        while not servers and process.poll() is None and time.monotonic() < deadline:
            servers = [(pid, cmdline) for pid, cmdline in _children(process.pid) if "uvicorn" in cmdline]
            time.sleep(0.05)
        assert servers, f"no Prefect server seen (exit status {process.poll()})"
        (server, cmdline), = servers
        flow_runs = urllib.request.Request(f"http://127.0.0.1:{_server_port(cmdline)}/api/flow_runs/filter",
                                           data=b"{}", headers={"Content-Type": "application/json"})
        while process.poll() is None and time.monotonic() < deadline:  # the flow phase: its run reports to the server
            try:
                with urllib.request.urlopen(flow_runs, timeout=1) as response:
                    if json.loads(response.read()):
                        break
            except OSError:
                pass
            time.sleep(0.05)
        assert os.getpgid(server) != os.getpgid(process.pid), "the server shares the terminal's Ctrl-C"
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        assert err.decode().strip().splitlines()[-1] == "error: interrupted", err
        deadline = time.monotonic() + 10
        while _alive(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(server), "the Prefect server outlived its tarjama process"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid, _cmdline in servers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.stderr.close()


@pytest.fixture
def full_disk(tmp_path):
    """A 1 MB tmpfs holding a translation memory, then filled up (root only; skipped where mount fails)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                      check=False, capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with open_memory(mount / "memory.sqlite") as memory:
            memory.remember([MachineEntry("k", "نص", "text", (), (), {})])  # the file exists, with its tables
        filler = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        with contextlib.suppress(OSError):
            while os.write(filler, b"\0" * 4096):
                pass
        os.close(filler)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_memory_on_a_full_disk_says_the_disk_is_full(article, full_disk, tmp_path, no_model_work, capsys):
    memory = full_disk / "memory.sqlite"
    code = main(["translate", str(article), "--model", str(tmp_path / "no-model"), "--out", str(tmp_path / "out"),
                 "--memory", str(memory)])
    assert code == one_error(capsys, 1, str(memory), "cannot use the translation memory: the disk is full")


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_a_device_as_the_memory_is_named_before_sqlite_opens_it(kind, article, make_fifo, tmp_path,
                                                                          no_model_work, capsys):
    memory = make_fifo(tmp_path / "fifo.txt") if kind == "fifo" else Path("/dev/zero")
    code = main(["translate", str(article), "--model", str(tmp_path / "no-model"), "--out", str(tmp_path / "out"),
                 "--memory", str(memory)])
    what = "is a named pipe (FIFO), not a regular file" if kind == "fifo" else "is a character device, not a regular"
    assert code == one_error(capsys, 2, str(memory), what)


def test_a_state_folder_that_links_to_a_fifo_is_called_what_it_is(article, make_fifo, tmp_path, no_model_work,
                                                                  capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".tarjama").symlink_to(make_fifo(tmp_path / "pipe"))
    code = main(["translate", str(article), "--model", str(tmp_path / "no-model"), "--out", str(out)])
    assert code == one_error(capsys, 2, str(out / ".tarjama"), "is a named pipe (FIFO), not a folder")


def test_a_small_size_limit_is_told_in_bytes(article, monkeypatch, capsys):
    monkeypatch.setenv("TARJAMA_MAX_INPUT_MB", "0.0001")
    assert main(["segment", str(article)]) == 2
    one_error(capsys, 2, str(article), "larger than the 104 bytes input limit")


def test_an_article_that_is_not_a_file_is_called_an_article(fifo, tmp_path, capsys):
    assert main(["segment", str(fifo)]) == 2
    one_error(capsys, 2, "not a regular file: give the article file itself")
    assert main(["segment", str(tmp_path / "missing.txt")]) == 2
    one_error(capsys, 2, "no such article file")


def test_translate_refuses_a_path_that_prefect_could_not_carry(tmp_path, sample_path, no_model_work, capsys):
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.txt"))
    odd.write_text(sample_path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    assert main(["translate", str(odd), "--model", str(tmp_path / "no-model"), "--out", str(tmp_path / "out")]) == 2
    one_error(capsys, 2, "caf\\xe9.txt", "path is not valid UTF-8: rename it")
