"""Helpers shared by several test modules (``from helpers import ...``).

A plain module rather than ``conftest.py``, which pytest loads itself and which is not
meant to be imported.  ``tests/`` is on ``sys.path`` when the test modules are imported:
pytest's default ("prepend") import mode puts it there for the rootdir-less test files,
and ``conftest.py`` adds it as well, for the other import modes.
"""
import csv
import os
import threading
import time
from pathlib import Path


def rows(path):
    """The rows of a CSV file with a header line (progress.csv, eval.csv, ...) as dicts."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def wait_for(predicate, timeout=240, poll=0.05):
    """Poll ``predicate`` every ``poll`` seconds until it is true; TimeoutError after ``timeout``."""
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(poll)
    raise TimeoutError("condition not met")


def eigen_threads():
    """The live background eigen-decomposition threads of K-FAC (is_async=True)."""
    return [t for t in threading.enumerate() if t.name == "kfac-eigen" and t.is_alive()]


def processes():
    """``(pid, state, ppid, pgid, cmdline)`` of every process (a /proc scan; ``cmdline`` is
    the raw bytes, arguments separated by NUL)."""
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
        yield int(p), stat[0], int(stat[1]), int(stat[2]), cmd


def assert_usage_error(main, argv, message, capsys):
    """``main(argv)`` ends with exit status 2 and one line on stderr that contains
    ``message``."""
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
