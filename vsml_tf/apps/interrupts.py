"""SIGTERM and SIGINT (Ctrl-C): the first asks the running phase to stop where it can save
what a rerun resumes from, and the command exits 0; a second stops the process at once.

Meta-training and cloning check `requested` after each step, save and return. A phase
with nothing to save (a meta-test: its learner is saved already) is left at the next
Python instruction by `Interrupted` (`raise_at_once=True`).
"""

from __future__ import annotations

import os
import signal

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
        return self

    def _handle(self, signum, frame):
        name = signal.Signals(signum).name
        if self.requested:
            logging.warning("Received %s again: stopping at once.", name)
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.requested = True
        if self.raise_at_once:
            logging.warning("Received %s: stopping %s; send it again to stop at once.",
                            name, self.what)
            raise Interrupted(name)
        logging.warning("Received %s: stopping after %s, saving; send it again to stop at "
                        "once.", name, self.what)

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}
