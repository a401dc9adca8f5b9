"""``run_isolated``: a result, a re-raised exception, or a killed child; never a hung parent.

The functions below run in a spawned child, so they live at module level (picklable) and
this module imports nothing heavy: the child imports it again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ocr_pipeline.isolation import OcrCrashed, OcrTimeout, run_isolated
from records.errors import DomainError, InvalidInput

pytestmark = pytest.mark.unit

MiB = 1 << 20


def add(a: int, b: int) -> int:
    return a + b


def sleep_with_grandchild(pid_file: Path, seconds: float) -> None:
    sleeper = subprocess.Popen(["sleep", "120"])
    pid_file.write_text(str(sleeper.pid))
    time.sleep(seconds)


def segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def allocate(size: int) -> int:
    return len(bytearray(size))


def refuse() -> None:
    raise InvalidInput("pdf_signed", "Tệp PDF đã được ký số.", field="file")


def unpicklable() -> object:
    return lambda: None


def process_group() -> tuple[int, int]:
    return os.getpid(), os.getpgid(0)


def dead(pid: int) -> bool:
    """Gone, or a zombie waiting for a reaper (PID 1 in a container may never reap)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in {"Z", "X"}


def test_returns_the_result() -> None:
    assert run_isolated(add, 2, 3, timeout_s=30) == 5


def test_the_child_leads_its_own_process_group() -> None:
    pid, group = run_isolated(process_group, timeout_s=30)
    assert pid == group != os.getpgid(0)


def test_a_hang_is_killed_with_everything_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild"
    started = time.monotonic()
    with pytest.raises(OcrTimeout):
        run_isolated(sleep_with_grandchild, pid_file, 60.0, timeout_s=1)
    assert time.monotonic() - started < 10
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while not dead(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dead(grandchild)


def test_a_crash_is_reported() -> None:
    with pytest.raises(OcrCrashed) as caught:
        run_isolated(segfault, timeout_s=30)
    assert caught.value.exitcode == -signal.SIGSEGV


def test_the_memory_cap_holds() -> None:
    with pytest.raises(MemoryError):
        run_isolated(allocate, 1024 * MiB, timeout_s=30, memory_bytes=512 * MiB)
    assert run_isolated(allocate, 16 * MiB, timeout_s=30, memory_bytes=512 * MiB) == 16 * MiB


def test_the_childs_exception_is_raised_here_intact() -> None:
    with pytest.raises(InvalidInput) as caught:
        run_isolated(refuse, timeout_s=30)
    error: DomainError = caught.value
    assert (error.code, error.message, error.field) == ("pdf_signed", "Tệp PDF đã được ký số.",
                                                        "file")
    assert any("isolated child" in note for note in getattr(error, "__notes__", []))


def test_an_unpicklable_result_is_an_error_not_a_crash() -> None:
    with pytest.raises(Exception, match=r"pickle|lambda") as caught:
        run_isolated(unpicklable, timeout_s=30)
    assert not isinstance(caught.value, OcrCrashed)
