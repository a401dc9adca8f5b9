"""Run a function in a fresh child process, with a memory cap and a wall-clock limit.

OCR reads untrusted files with C libraries (qpdf, pdfium, libjpeg, tesseract): a
decompression bomb, a parser loop or a crash must cost one child, not the service. The
child is forked from multiprocessing's fork server (a clean single-threaded process started
once, with the project's modules already imported: no inherited threads, locks or
ocrmypdf state, and no second of imports a child) in its own session, so on timeout or
crash the whole tree it started (ocrmypdf's page workers, tesseract) is killed with it.
If the calling process dies, the fork server exits and each child's watchdog ends its
group.

``memory_bytes`` becomes RLIMIT_AS in the child; every process the child starts inherits
it, so it bounds each process of the tree, not their sum. Address space is not resident
memory: leave room for thread stacks and allocator arenas. Measured: ``make_archival_pdf``
on three A4 pages at 300 dpi with 2 jobs ran under a 300 MiB cap; under 256 MiB it failed
("can't start new thread"), and once hung until the timeout, so always give both.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import resource
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

__all__ = ["OcrCrashed", "OcrTimeout", "run_isolated"]

T = TypeVar("T")
_CONTEXT = multiprocessing.get_context("forkserver")
_OURS = frozenset({"api", "records", "signing", "search", "ocr_pipeline"})
_EXIT_GRACE_S = 5.0  # for the child to exit after it has sent its result


class OcrTimeout(RuntimeError):
    """The child did not finish in time; it and everything it started were killed."""


class OcrCrashed(RuntimeError):
    """The child died without a result (a signal, the OOM killer, ``os._exit``)."""

    def __init__(self, message: str, *, exitcode: int | None) -> None:
        super().__init__(message)
        self.exitcode = exitcode


def run_isolated(func: Callable[..., T], *args: Any, timeout_s: float,
                 memory_bytes: int | None = None) -> T:
    """``func(*args)`` in a child process; its result, or its exception raised here.

    ``func`` and ``args`` must be picklable (a module-level function). Raises
    ``OcrTimeout`` after ``timeout_s`` seconds and ``OcrCrashed`` if the child dies.
    """
    _preload()
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_child_main, args=(sender, func, args, memory_bytes),
                             name=f"isolated-{getattr(func, '__name__', 'call')}",
                             daemon=False)  # a daemon may not start ocrmypdf's workers
    child.start()
    sender.close()  # the child holds the only writer: EOF here means it died
    message: tuple[str, Any] | None = None
    try:
        if not receiver.poll(timeout_s):
            raise OcrTimeout(f"{child.name} gave no result in {timeout_s:g} s; killed")
        with contextlib.suppress(EOFError):
            message = receiver.recv()
        wait([child.sentinel], _EXIT_GRACE_S)
    finally:
        _kill_tree(child)
        receiver.close()
    if message is None:
        # Read after reaping: the pipe closes before the kernel records how the child died.
        raise OcrCrashed(f"{child.name} died without a result (exit code {child.exitcode})",
                         exitcode=child.exitcode)
    status, payload = message
    if status == "ok":
        result: T = payload
        return result
    raise _thaw(payload)


_preloaded = False


def _preload() -> None:
    # Each child runs the program's main module again (multiprocessing does, to find the
    # target); for ``motcua`` that is the whole CLI, about 2 s a child (measured). The fork
    # server imports the project's modules the program has loaded once, before the first
    # child, so that a child's run of the main module finds them loaded. ('__main__' itself
    # in the preload list does not help on Python 3.11: the server never receives its path.)
    global _preloaded
    if not _preloaded:
        _CONTEXT.set_forkserver_preload(sorted(
            name for name in list(sys.modules) if name.split(".")[0] in _OURS))
        _preloaded = True


def _orphan_watchdog(parent: int) -> None:
    # The new session puts this group out of reach of a ``kill -9`` of the worker's group:
    # once the parent is gone nobody will read the result, so end the group ourselves
    # instead of finishing a dead attempt unsupervised.
    while os.getppid() == parent:
        time.sleep(0.5)
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _child_main(sender: Connection, func: Callable[..., Any], args: tuple[Any, ...],
                memory_bytes: int | None) -> None:
    parent = os.getppid()
    os.setsid()  # a new process group: the parent can kill everything started from here
    threading.Thread(target=_orphan_watchdog, args=(parent,), daemon=True).start()
    if memory_bytes is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        result = func(*args)
    except BaseException as exc:  # every failure goes back to the parent
        sender.send(("error", _freeze(exc)))
    else:
        try:
            sender.send(("ok", result))  # pickles before writing: a failure sends nothing
        except Exception as exc:
            sender.send(("error", _freeze(exc)))
    finally:
        sender.close()


def _kill_tree(child: multiprocessing.process.BaseProcess) -> None:
    """SIGKILL the child's process group, then reap the child.

    Done before ``join``: until the child is reaped its pid, and so its group id, cannot be
    reused by an unrelated process.
    """
    if child.pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
    child.join(_EXIT_GRACE_S)


def _freeze(exc: BaseException) -> tuple[Any, ...]:
    """The exception as (class, args, attributes, traceback text), if all of it pickles.

    Rebuilding from parts instead of pickling the exception lets classes whose ``__init__``
    takes other arguments than ``args`` (``records.errors.DomainError``) cross intact.
    """
    text = "".join(traceback.format_exception(exc))
    frozen = (type(exc), exc.args, dict(vars(exc)), text)
    try:
        pickle.loads(pickle.dumps(frozen))  # noqa: S301 (our own bytes, just made)
    except Exception:
        return (RuntimeError, (f"{type(exc).__name__}: {exc}",), {}, text)
    return frozen


def _thaw(frozen: tuple[Any, ...]) -> BaseException:
    cls, args, attributes, text = frozen
    exc: BaseException = cls.__new__(cls, *args)
    exc.args = args
    vars(exc).update(attributes)
    exc.add_note(f"raised in an isolated child process:\n{text}")
    return exc
