"""Every command's ``--help`` is a golden file: rewording or regrouping an option is a visible
change to the command line, never a side effect of moving code.

Regenerate after an intended change: ``UPDATE_GOLDEN=1 python -m pytest tests/test_help.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clirun import run_cli

GOLDEN = Path(__file__).parent / "golden" / "help"
COMMANDS = [
    (),
    ("convert",),
    ("demo",),
    ("feed",),
    ("voices",),
    ("voices", "list"),
    ("voices", "install"),
    ("preview",),
    ("serve",),
    ("watch",),
    ("status",),
    ("publish",),
    ("backfill",),
    ("check",),
    ("say",),
    ("lexicon",),
    ("lexicon", "check"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c) or "main")
def test_help_matches_golden(command: tuple[str, ...]) -> None:
    # A fixed width: argparse wraps help text to the terminal's columns.
    result = run_cli(*command, "--help", env={"COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    golden = GOLDEN / f"{'-'.join(command) or 'main'}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")
