"""breakglass request | approve | veto | end | status | policy: emergency access to one account."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, fields, say, table
from smvault.cli.params import ID, json_option
from smvault.domain.clock import timestamp
from smvault.domain.emergency import DEFAULT_MINUTES, MAX_MINUTES, MAX_WAIT_MINUTES
from smvault.domain.errors import UsageError


def duration(left: timedelta | None) -> str | None:
    """"1h 05m", "4m 09s", "0s"; None stays None."""
    if left is None:
        return None
    seconds = int(left.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _ts(moment: datetime | None) -> str | None:
    return timestamp(moment) if moment else None


def _seconds(left: timedelta | None) -> int | None:
    return int(left.total_seconds()) if left is not None else None


def view_json(view, now: datetime) -> dict:
    return {
        "id": view.id, "bg_id": view.bg_id, "account": view.account.key, "account_id": view.account.id,
        "tier": view.account.tier, "requester": view.requester, "state": view.state,
        "reason": view.reason, "incident": view.incident, "minutes": view.minutes,
        "requested_at": _ts(view.requested_at), "wait_until": _ts(view.wait_until),
        "wait_note": view.wait_note, "approved_by": view.approved_by, "approval": view.approval,
        "starts_at": _ts(view.starts_at), "expires_at": _ts(view.expires_at),
        "vetoed_by": view.vetoed_by, "veto_reason": view.veto_reason, "ended_by": view.ended_by,
        "end_note": view.end_note, "closed_at": _ts(view.closed_at), "grant_id": view.grant_id,
        "post_incident_id": view.post_incident_id,
        "time_left_seconds": _seconds(view.time_left(now)), "wait_left_seconds": _seconds(view.wait_left(now)),
    }


def _when(view, now: datetime) -> str:
    """What the state means now, in words."""
    if view.state == "waiting":
        return (f"activates at {_ts(view.wait_until)} ({duration(view.wait_left(now))} left) unless "
                "another operator vetoes it; another operator may also approve it now")
    if view.state == "requested":
        return "needs a second operator's approval"
    if view.state == "active":
        return f"active until {_ts(view.expires_at)} ({duration(view.time_left(now))} left)"
    return f"{view.state} at {_ts(view.closed_at)}"


def show_view(view, now: datetime) -> None:
    fields([
        ("request", view.id), ("account", view.account.key), ("requester", view.requester),
        ("state", view.state), ("when", _when(view, now)), ("incident", view.incident),
        ("reason", view.reason), ("minutes", view.minutes), ("requested", _ts(view.requested_at)),
        *([("wait", view.wait_note)] if view.wait_note else []),
        *([("approved", f"{view.approved_by or 'waiting period'} ({view.approval})")] if view.approval else []),
        *([("window", f"{_ts(view.starts_at)} to {_ts(view.expires_at)}")] if view.starts_at else []),
        *([("vetoed", f"{view.vetoed_by}: {view.veto_reason}")] if view.vetoed_by else []),
        *([("ended", view.ended_by or view.end_note)] if view.state == "ended" else []),
        *([("post-incident", view.post_incident_id)] if view.post_incident_id else []),
    ])


@click.group()
def breakglass() -> None:
    """Emergency access to one account: time-boxed, approved by a second operator (or after a
    waiting period nobody vetoed), logged with its incident id, and followed by rotation."""


@breakglass.command("request")
@click.argument("ref", metavar="ACCOUNT")
@click.option("--reason", required=True, help="Why you need the account now (logged).")
@click.option("--incident", required=True, metavar="ID", help="The incident id (no spaces, up to 64 characters).")
@click.option("--minutes", type=int, default=DEFAULT_MINUTES, show_default=True,
              help=f"How long the access lasts once it starts (1-{MAX_MINUTES}).")
@json_option
@pass_options
def breakglass_request(opts: Options, ref: str, reason: str, incident: str, minutes: int, as_json: bool) -> None:
    """Request emergency access to ACCOUNT (PLATFORM:HANDLE or id).

    For an operator whose grants do not allow the account's password. A second operator
    approves it (smvault breakglass approve ID), or, where the account's tier has a waiting
    period, it starts when the wait ends unless another operator vetoes it."""
    from smvault.services.emergency import request_access

    with opts.session() as session:
        view = request_access(session, ref, reason=reason, incident=incident, minutes=minutes)
        now = session.now()
    if as_json:
        emit_json(view_json(view, now))
        return
    say(f"Requested emergency access {view.id} to {view.account.key} for incident {view.incident}: "
        f"{view.state}, {_when(view, now)}.")
    if view.wait_note:
        say(view.wait_note)
    say(f"Another operator approves it with: smvault --operator NAME breakglass approve {view.id}")


@breakglass.command("approve")
@click.argument("request_id", type=ID, metavar="ID")
@json_option
@pass_options
def breakglass_approve(opts: Options, request_id: int, as_json: bool) -> None:
    """Approve emergency access request ID: a different operator than its requester.

    Run it as yourself (your own --operator and passphrase): that unlock is the approval's
    authentication. The access starts now, also while a waiting period is still running."""
    from smvault.services.emergency import approve_access

    with opts.session() as session:
        view = approve_access(session, request_id)
        now = session.now()
    if as_json:
        emit_json(view_json(view, now))
        return
    say(f"Approved emergency access {view.id}: {view.requester} may open {view.account.key} "
        f"until {_ts(view.expires_at)}.")


def _closed(view, now: datetime, verb: str, as_json: bool) -> None:
    """What `veto` and `end` print: the request, and the post-incident rotation it opened."""
    if as_json:
        emit_json(view_json(view, now))
        return
    say(f"{verb} emergency access {view.id} ({view.account.key}).")
    if view.post_incident_id:
        say(f"Post-incident rotation: smvault incident show {view.post_incident_id}")


@breakglass.command("veto")
@click.argument("request_id", type=ID, metavar="ID")
@click.option("--reason", required=True, help="Why (logged).")
@json_option
@pass_options
def breakglass_veto(opts: Options, request_id: int, reason: str, as_json: bool) -> None:
    """Stop emergency access request ID (any operator but its requester).

    A waiting or requested one never starts; an active one is revoked at once and its
    post-incident rotation opens."""
    from smvault.services.emergency import veto_access

    with opts.session() as session:
        view = veto_access(session, request_id, reason)
        now = session.now()
    _closed(view, now, "Vetoed", as_json)


@breakglass.command("end")
@click.argument("request_id", type=ID, metavar="ID")
@json_option
@pass_options
def breakglass_end(opts: Options, request_id: int, as_json: bool) -> None:
    """End your emergency access ID now, or withdraw it before it starts (requester only)."""
    from smvault.services.emergency import end_access

    with opts.session() as session:
        view = end_access(session, request_id)
        now = session.now()
    _closed(view, now, "Ended", as_json)


@breakglass.command("status")
@click.argument("request_id", type=ID, metavar="[ID]", required=False)
@click.option("--all", "show_all", is_flag=True, help="Include closed requests (vetoed, lapsed, ended).")
@json_option
@pass_options
def breakglass_status(opts: Options, request_id: int | None, show_all: bool, as_json: bool) -> None:
    """One emergency access request with its time left, or every open one."""
    from smvault.services.emergency import emergency_status

    with opts.session() as session:
        views = emergency_status(session, request_id, include_closed=show_all)
        now = session.now()
    if as_json:
        emit_json(view_json(views[0], now) if request_id is not None else [view_json(v, now) for v in views])
    elif request_id is not None:
        show_view(views[0], now)
    else:
        table(["id", "account", "requester", "incident", "state", "time left"],
              [(v.id, v.account.key, v.requester, v.incident, v.state,
                duration(v.time_left(now)) or (f"wait {duration(v.wait_left(now))}" if v.wait_until and
                                               v.state == "waiting" else None))
               for v in views])


def _wait_value(text: str) -> int | None:
    if text.strip().lower() == "off":
        return None
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"--wait takes minutes (1-{MAX_WAIT_MINUTES}) or 'off', got {text!r}") from None


@breakglass.command("policy")
@click.option("--tier", type=int, help="The account tier (0-3) to set the waiting period of.")
@click.option("--wait", "wait", metavar="MINUTES|off",
              help="Waiting period before a request activates by itself unless vetoed; 'off': a second "
                   "operator must approve.")
@json_option
@pass_options
def breakglass_policy(opts: Options, tier: int | None, wait: str | None, as_json: bool) -> None:
    """Show, or set (--tier N --wait MINUTES|off), each account tier's waiting period.

    A tier with no waiting period needs a second operator's approval for every request. A
    waiting period counts only for requesters whom the operator who set it could approve."""
    from smvault.services.emergency import set_wait_policy, wait_policy

    if (tier is None) != (wait is None):
        raise UsageError("give both --tier N and --wait MINUTES|off to change the policy, or neither to show it")
    minutes = _wait_value(wait) if wait is not None else None
    with opts.session() as session:
        policy = wait_policy(session) if tier is None else set_wait_policy(session, tier, minutes)
    if as_json:
        emit_json({str(t): policy.get(t) for t in range(4)})
        return
    table(["tier", "waiting period"],
          [(t, f"{policy[t]} min (then active unless vetoed)" if t in policy else "none (approval needed)")
           for t in range(4)])


COMMANDS = [breakglass]
