"""Name -> implementation tables (learners, estimators, ...) with helpful lookups.

A registry is the single list of allowed values for its config key: the config is
validated against it, and an unknown name fails with the closest registered ones.
"""

from __future__ import annotations

import difflib

from vsml_tf.core.errors import UserError


class Registry(dict):
    """A dict from name to implementation that knows which config key it serves."""

    def __init__(self, config_key: str, entries: dict):
        super().__init__(entries)
        self.config_key = config_key

    def lookup(self, name: str):
        if name not in self:
            close = difflib.get_close_matches(str(name), list(self), n=3)
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            raise UserError(f"{self.config_key}={name!r} is not registered.{hint} "
                            f"Use one of {', '.join(self)}.")
        return self[name]
