"""A child process for the robustness tests: unlocks a vault through the services API and writes.

    writer.py stream VAULT OPERATOR PASSFILE PREFIX
        add people (PREFIX-0@..., PREFIX-1@..., ...) until killed
    writer.py burst VAULT OPERATOR PASSFILE PREFIX COUNT ACCOUNT
        wait for a line on stdin (the barrier), then COUNT writes alternating add_person and a
        TOTP code for ACCOUNT, each in its own transaction
    writer.py cycle VAULT OPERATOR PASSFILE PREFIX COUNT
        wait for a line on stdin (the barrier), then unlock and close COUNT more times
        (each cycle moves this machine's anchor twice)

Prints "ready" once unlocked, then "committed EMAIL" / "code" after each write has returned,
flushed at once, so a parent that kills this process knows what was committed before.
The environment (SMVAULT_INSECURE_TEST_KDF, SMVAULT_ANCHOR_DIR) comes from the parent.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from smvault.services.people import add_person
from smvault.services.secrets import totp_code
from smvault.services.session import unlock

EMAIL_DOMAIN = "writer.example"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _add(session, prefix: str, n: int) -> None:
    email = f"{prefix}-{n}@{EMAIL_DOMAIN}"
    add_person(session, f"Writer {prefix} {n}", email, team="robustness")
    say(f"committed {email}")


def stream(session, passphrase: bytes, prefix: str) -> None:
    for n in itertools.count():
        _add(session, prefix, n)


def burst(session, passphrase: bytes, prefix: str, count: str, account: str) -> None:
    sys.stdin.readline()  # the barrier: the parent releases every writer at once
    for n in range(int(count)):
        if n % 2 == 0:
            _add(session, prefix, n)
        else:
            totp_code(session, account)
            say("code")


def cycle(session, passphrase: bytes, prefix: str, count: str) -> None:
    sys.stdin.readline()
    for _ in range(int(count)):
        unlock(session.vault.directory, session.operator.name, passphrase).close()


MODES = {"stream": stream, "burst": burst, "cycle": cycle}


def main(argv: list[str]) -> None:
    mode, vault, operator, passfile, prefix, *rest = argv
    passphrase = Path(passfile).read_bytes().rstrip(b"\n")
    session = unlock(Path(vault), operator, passphrase)
    try:
        say("ready")
        MODES[mode](session, passphrase, prefix, *rest)
    finally:
        session.close()


if __name__ == "__main__":
    main(sys.argv[1:])
