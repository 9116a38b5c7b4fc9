"""Turning storage-level failures into errors a user can act on."""

from __future__ import annotations

from smvault.domain.errors import SmvaultError


def translate(exc: BaseException) -> SmvaultError | None:
    from smvault.store.vault import translate_database_error

    return translate_database_error(exc)
