"""README documents every CLI command and both set-up commands."""

from __future__ import annotations

from pathlib import Path

import click

from smvault.cli.main import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _command_paths(group: click.Group, prefix: str = "smvault"):
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _command_paths(command, path)
        else:
            yield path


def test_every_command_is_in_the_readme():
    missing = [path for path in _command_paths(cli) if f"`{path}" not in README]
    assert not missing, f"README does not document: {missing}"


def test_setup_commands_come_first():
    quick_start = README.split("## Quick start", 1)[1][:800]
    assert "scripts/demo" in quick_start and "scripts/test" in quick_start


def test_every_exit_code_is_documented():
    for code in range(6):
        assert f"| {code} |" in README
