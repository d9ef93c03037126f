"""Run the real command line in a child process, the way a user (or cron) would.

Every test that drives ``tts-pipeline`` goes through here, so each one runs the same
interpreter with the same environment and nobody's run hangs the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def cli_command(*args: str) -> list[str]:
    """``python -m tts_pipeline ARGS`` for this interpreter."""
    return [sys.executable, "-m", "tts_pipeline", *args]


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment, without Python warnings (stderr is asserted on), plus ``env``."""
    return {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run the command to completion and capture its output (text)."""
    return subprocess.run(
        cli_command(*args),
        cwd=cwd,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(*args: str, **popen: Any) -> subprocess.Popen[str]:
    """Start the command with stdout and stderr piped (text); ``popen`` goes to Popen."""
    popen.setdefault("env", cli_env())
    return subprocess.Popen(
        cli_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )
