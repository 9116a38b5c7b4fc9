"""How long revealed values, copies and an idle session last; from options or environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from smvault.domain.errors import UsageError

ENV = {
    "reveal_seconds": "SMVAULT_REVEAL_SECONDS",
    "clipboard_seconds": "SMVAULT_CLIPBOARD_SECONDS",
    "idle_seconds": "SMVAULT_IDLE_LOCK_SECONDS",
    "code_seconds": "SMVAULT_CODE_SECONDS",
}


@dataclass(frozen=True)
class UiSettings:
    reveal_seconds: float = 20.0  # a revealed password hides itself after this
    clipboard_seconds: float = 30.0  # a copied secret is cleared from the clipboard after this
    idle_seconds: float = 300.0  # no key or mouse input for this long locks the vault
    code_seconds: float = 120.0  # a live TOTP code stops rolling over after this

    @classmethod
    def from_env(cls, **overrides: float | None) -> UiSettings:
        values: dict[str, float] = {}
        for field, env in ENV.items():
            raw = overrides.get(field)
            if raw is None and os.environ.get(env):
                try:
                    raw = float(os.environ[env])
                except ValueError:
                    raise UsageError(f"{env} must be a number of seconds, got {os.environ[env]!r}") from None
            if raw is not None:
                if not 1 <= raw <= 86400:
                    raise UsageError(f"{field.replace('_', ' ')} must be between 1 and 86400 seconds")
                values[field] = float(raw)
        return cls(**values)
