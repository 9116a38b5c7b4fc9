"""Operator names for workflow views: steps and workflows store operator ids."""

from __future__ import annotations

from collections.abc import Iterable

from smvault.services.session import Session


def operator_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """The name of each operator id (removed operators included), each looked up once: a
    workflow names a handful of operators, however many steps it has."""
    operators = session.vault.operators
    names = {}
    for operator_id in {i for i in ids if i is not None}:
        operator = operators.get(operator_id)
        names[operator_id] = operator.name if operator else f"operator {operator_id}"
    return names
