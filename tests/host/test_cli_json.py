"""Every command that is not an interactive session takes --json."""

from __future__ import annotations

from microai.cli import main

INTERACTIVE = {"emulate", "repl"}  # a QEMU or a REPL on the terminal until Ctrl-C


def test_every_command_has_json():
    missing = [
        name
        for name, cmd in main.commands.items()
        if name not in INTERACTIVE and not any(p.name == "as_json" for p in cmd.params)
    ]
    assert missing == []


def test_cli_reference_is_current():
    """docs/cli.md is what `python -m microai.cli_docs` makes from the commands."""
    from microai.cli_docs import render
    from microai.paths import ROOT

    assert (ROOT / "docs" / "cli.md").read_text() == render(), (
        "regenerate: .venv/bin/python -m microai.cli_docs > docs/cli.md"
    )
