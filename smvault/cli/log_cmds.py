"""log tail | verify | checkpoint | export | reanchor."""

from __future__ import annotations

import json

import click

from smvault.cli.context import Options, pass_options
from smvault.cli.output import emit_json, say, table, warn
from smvault.cli.params import json_option
from smvault.domain.errors import IntegrityError


@click.group()
def log() -> None:
    """The append-only, hash-chained access log."""


@log.command("tail")
@click.option("-n", "limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@click.option("--account", "ref", metavar="ACCOUNT", help="Only entries about this account.")
@json_option
@pass_options
def log_tail(opts: Options, limit: int, ref: str | None, as_json: bool) -> None:
    """The latest entries, oldest first."""
    from smvault.services.logs import tail

    with opts.session() as session:
        entries = tail(session, limit, ref)
    if as_json:
        emit_json(entries)
        return
    table(["seq", "when", "operator", "action", "account", "to", "detail"],
          [(e["seq"], e["ts"], e.get("op"), e["action"], e.get("acct"), e.get("to_email"),
            json.dumps(e["detail"], ensure_ascii=True) if "detail" in e else (e.get("field") or ""))
           for e in entries])


@log.command("verify")
@click.option("--chain-only", is_flag=True, help="Skip the page-by-page HMAC check of the database.")
@json_option
@pass_options
def log_verify(opts: Options, chain_only: bool, as_json: bool) -> None:
    """Check every entry's hash, link and MAC, this machine's anchor, and every page's HMAC."""
    from smvault.services.logs import verify

    with opts.session(check=False) as session:
        report = verify(session, pages=not chain_only)
    if as_json:
        emit_json({
            "ok": report.ok, "checked": report.checked,
            "head": {"seq": report.head.seq, "entry_hash": report.head.entry_hash.hex()} if report.head else None,
            "anchor": {"seq": report.anchor.seq, "entry_hash": report.anchor.entry_hash.hex()} if report.anchor else None,
            "damage": {"seq": report.damage.seq, "kind": report.damage.kind, "detail": report.damage.detail} if report.damage else None,
            "page_problems": report.page_problems,
            "warnings": {"clock_steps_back": report.clock_step_count,
                         "entries": [{"seq": step.seq, "ts": step.ts, "previous_ts": step.previous_ts}
                                     for step in report.clock_steps]},
        })
    elif report.ok:
        anchor = f"; extends this machine's anchor at entry {report.anchor.seq}" if report.anchor else ""
        say(f"OK: {report.checked} entries verified{anchor}" + ("" if chain_only else "; every page's HMAC checked") + ".")
    if report.clock_step_count and not as_json:
        _warn_clock_steps(report)
    if not report.ok:
        problems = []
        if report.damage:
            problems.append(str(report.damage))
        problems += [f"database page check: {p}" for p in report.page_problems]
        raise IntegrityError("log verification FAILED: " + "; ".join(problems))


def _warn_clock_steps(report) -> None:
    """Timestamps going backwards: a warning on stderr, not damage (the exit code is unchanged)."""
    count = report.clock_step_count
    some, them = ("1 log entry is", "it") if count == 1 else (f"{count} log entries are", "them")
    lines = [f"warning: {some} dated before the entry just before {them} (a machine's clock was set back, "
             "or was ahead before); waiting periods and time boxes of emergency access are timed with the clock:"]
    lines += [f"  {step}" for step in report.clock_steps]
    if count > len(report.clock_steps):
        lines.append(f"  ... and {count - len(report.clock_steps)} more")
    warn("\n".join(lines))


@log.command("checkpoint")
@json_option
@pass_options
def log_checkpoint(opts: Options, as_json: bool) -> None:
    """Print a checkpoint to keep outside the vault (paper, ticket, another system)."""
    from smvault.services.logs import checkpoint

    with opts.session() as session:
        cp = checkpoint(session)
    if as_json:
        emit_json(cp)
    else:
        say(f"smvault checkpoint vault={cp['vault_id']} seq={cp['seq']} hash={cp['entry_hash']} at={cp['ts']}")


@log.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@pass_options
def log_export(opts: Options, fmt: str) -> None:
    """Every entry with its chain fields as JSON lines on stdout (logged)."""
    from smvault.services.logs import export_jsonl

    with opts.session() as session:
        for line in export_jsonl(session):
            click.echo(line)


@log.command("reanchor")
@click.option("--reason", required=True, help="Why the vault's current log is accepted (logged).")
@pass_options
def log_reanchor(opts: Options, reason: str) -> None:
    """Accept the vault's current log as this machine's reference (after a deliberate restore)."""
    from smvault.services.logs import reanchor

    with opts.session(check=False) as session:
        link = reanchor(session, reason)
    say(f"This machine's anchor now points at entry {link.seq}.")


COMMANDS = [log]
