"""SIGTERM and SIGINT (Ctrl-C): the first asks the running phase to stop where it can save
what a rerun resumes from, and the command exits 0; a second stops the process at once.

Meta-training and cloning check `requested` after each step, save and return. A phase
with nothing to save (a meta-test: its learner is saved already) is left at the next
Python instruction by `Interrupted` (`raise_at_once=True`).

Python runs signal handlers only between bytecodes, so while one long compiled call runs
(an ES iteration over 10,000-step episodes takes minutes) no handler runs. The second
signal is therefore counted by a watcher thread on `signal.set_wakeup_fd`, where the
interpreter's C handler writes each signal as it arrives, and ends the process there.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading

from absl import logging

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(BaseException):
    """Raised in the main thread by a first signal inside `StopRequest(raise_at_once=True)`
    (a BaseException, as KeyboardInterrupt, so that no `except Exception` swallows it)."""


class StopRequest:
    """Within `with StopRequest(what) as stop:` a first signal sets `stop.requested` (or
    raises Interrupted); a second ends the process as the signal's default would."""

    def __init__(self, what: str = "the current iteration", raise_at_once: bool = False):
        self.what = what
        self.raise_at_once = raise_at_once
        self.requested = False
        self._previous = {}

    def __enter__(self):
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        read, write = os.pipe()
        os.set_blocking(write, False)
        self._wakeup = (read, write, signal.set_wakeup_fd(write, warn_on_full_buffer=False))
        threading.Thread(target=_watch, args=(read,), daemon=True,
                         name="StopRequest watcher").start()
        return self

    def _handle(self, signum, frame):
        name = signal.Signals(signum).name
        if self.requested:  # a second signal the watcher has not ended the process for
            _die_by(signum)
        self.requested = True
        if self.raise_at_once:
            logging.warning("Received %s: stopping %s; send it again to stop at once.",
                            name, self.what)
            raise Interrupted(name)
        logging.warning("Received %s: stopping after %s, saving; send it again to stop at "
                        "once.", name, self.what)

    def __exit__(self, *exc):
        read, write, previous_fd = self._wakeup
        signal.set_wakeup_fd(previous_fd)
        os.close(write)  # the watcher reads EOF, closes `read` and ends
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}


def _watch(read: int) -> None:
    """Count the stop signals as the C handler receives them; end the process at the
    second, even while the main thread is inside a long call."""
    seen = 0
    try:
        while chunk := os.read(read, 64):
            for signum in chunk:
                seen += signum in SIGNALS
                if seen == 2:
                    _die_by(signum)
    finally:
        os.close(read)


def _die_by(signum: int) -> None:
    """End the process as the signal's default action would (exit status -signum). From
    any thread: the disposition is reset in C, where Python allows it only in the main
    thread."""
    logging.warning("Received %s again: stopping at once.", signal.Signals(signum).name)
    ctypes.CDLL(None).signal(signum, ctypes.c_void_p(0))  # SIG_DFL
    os.kill(os.getpid(), signum)
