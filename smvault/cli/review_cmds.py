"""review start | status | decide | close | report | list: access reviews."""

from __future__ import annotations

from pathlib import Path

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, emit_report, fields, say, table
from smvault.cli.params import DATE, format_option, json_option, out_option


def view_json(view) -> dict:
    return {
        "id": view.workflow_id, "scope": view.scope, "platform": view.platform, "due": view.due,
        "state": view.state, "overdue": view.overdue, "opened_by": view.opened_by,
        "opened_at": view.opened_at, "closed_by": view.closed_by, "closed_at": view.closed_at,
        "decided": view.decided, "total": view.total,
        "items": [{"position": i.position, "grant": i.grant_id, "account": i.account_key,
                   "person": i.person_name, "email": i.person_email, "level": i.level,
                   "decision": i.decision, "reason": i.reason, "effect": i.effect,
                   "decided_by": i.decided_by, "decided_at": i.decided_at, "holder_left": i.holder_left}
                  for i in view.items],
    }


def _state(state: str, overdue: bool) -> str:
    return f"{state} (OVERDUE)" if overdue else state


def show_view(view) -> None:
    fields([("review", view.workflow_id), ("scope", view.scope), ("due", view.due),
            ("state", _state(view.state, view.overdue)), ("opened", f"{view.opened_at} by {view.opened_by}"),
            ("closed", f"{view.closed_at} by {view.closed_by}" if view.closed_at else None),
            ("progress", f"{view.decided} of {view.total} decided")])
    say("")
    table(["#", "account", "person", "level", "decision", "reason", "by"],
          [(i.position, i.account_key, i.person_email + (" (holder left)" if i.holder_left else ""), i.level,
            i.decision or "undecided", i.reason, i.decided_by) for i in view.items])


@click.group()
def review() -> None:
    """Access reviews: every grant in force gets keep or revoke, with a reason."""


@review.command("start")
@click.option("--platform", metavar="P", help="Only grants on accounts of this platform (e.g. instagram).")
@click.option("--due", type=DATE, help="Day the review should be finished by (YYYY-MM-DD, not in the past).")
@json_option
@pass_options
def review_start(opts: Options, platform, due, as_json: bool) -> None:
    """Start a review: snapshot every grant not revoked and not expired (logged), those of
    people who have left included and marked "holder left"."""
    from smvault.services.review import start_review

    with opts.session() as session:
        view = start_review(session, platform, due)
    if as_json:
        emit_json(view_json(view))
    else:
        say(f"Started access review {view.workflow_id}: {view.total} grant{'s' if view.total != 1 else ''} ({view.scope})"
            + (f", due {view.due.isoformat()}" if view.due else "") + ".")
        say(f"Decide each with: smvault review decide {view.workflow_id} N keep|revoke --reason TEXT")


@review.command("status")
@click.argument("review_id", metavar="ID", type=int)
@json_option
@pass_options
def review_status_cmd(opts: Options, review_id: int, as_json: bool) -> None:
    """A review's progress and every item with its decision."""
    from smvault.services.review import review_status

    with opts.session() as session:
        view = review_status(session, review_id)
    if as_json:
        emit_json(view_json(view))
    else:
        show_view(view)


@review.command("decide")
@click.argument("review_id", metavar="ID", type=int)
@click.argument("position", metavar="N", type=int)
@click.argument("decision", type=click.Choice(["keep", "revoke"], case_sensitive=False))
@click.option("--reason", required=True, help="Why (required; kept in the review and the log).")
@pass_options
def review_decide(opts: Options, review_id: int, position: int, decision: str, reason: str) -> None:
    """Decide item N of review ID: keep or revoke (final; a revoke applies at once). Needs
    'manage' on the item's account, like revoking a grant; nobody decides on their own grant."""
    from smvault.services.review import decide

    with opts.session() as session:
        view = decide(session, review_id, position, decision, reason)
    item = next(i for i in view.items if i.position == position)
    say(f"Review {view.workflow_id} item {position}: {item.decision} {item.person_email} "
        f"{item.level} on {item.account_key} ({item.effect}). {view.decided} of {view.total} decided.")


@review.command("close")
@click.argument("review_id", metavar="ID", type=int)
@pass_options
def review_close(opts: Options, review_id: int) -> None:
    """Close a review once every item is decided."""
    from smvault.services.review import close_review

    with opts.session() as session:
        view = close_review(session, review_id)
    say(f"Closed access review {view.workflow_id}: {view.total} grants decided.")


@review.command("report")
@click.argument("review_id", metavar="ID", type=int)
@format_option
@out_option
@pass_options
def review_report_cmd(opts: Options, review_id: int, fmt: str, out: Path | None) -> None:
    """Decisions and who made them, for audit, ending with a log checkpoint (logged)."""
    from smvault.services.review import review_report

    emit_report(opts, lambda session: review_report(session, review_id), fmt, out)


@review.command("list")
@click.option("--all", "include_closed", is_flag=True, help="Include closed reviews.")
@json_option
@pass_options
def review_list(opts: Options, include_closed: bool, as_json: bool) -> None:
    """Reviews (open ones unless --all), newest first; overdue ones marked."""
    from smvault.services.review import list_reviews

    with opts.session() as session:
        reviews = list_reviews(session, include_closed)
    if as_json:
        emit_json([{"id": r.workflow_id, "scope": r.scope, "platform": r.platform, "due": r.due,
                    "state": r.state, "overdue": r.overdue, "opened_by": r.opened_by,
                    "opened_at": r.opened_at, "decided": r.decided, "total": r.total} for r in reviews])
    else:
        table(["id", "scope", "state", "due", "decided", "opened", "by"],
              [(r.workflow_id, r.scope, _state(r.state, r.overdue), r.due, f"{r.decided}/{r.total}",
                r.opened_at, r.opened_by) for r in reviews])


COMMANDS = [review]
