"""The installed command stays light for the synthesis workers it spawns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("tts-pipeline")


@pytest.mark.skipif(not SCRIPT.is_file(), reason="the package is not installed with its script")
def test_a_spawned_worker_re_running_the_command_script_does_not_import_the_cli() -> None:
    # What multiprocessing's spawn start method does in every worker before its first task:
    # run the parent's main script under the name __mp_main__.
    probe = (
        "import runpy, sys\n"
        f"runpy.run_path({str(SCRIPT)!r}, run_name='__mp_main__')\n"
        "heavy = sorted(m for m in ('tts_pipeline.cli.main', 'requests', 'lxml', 'mutagen')"
        " if m in sys.modules)\n"
        "print(','.join(heavy) or 'light')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "light"


@pytest.mark.skipif(not SCRIPT.is_file(), reason="the package is not installed with its script")
def test_the_command_script_runs_the_cli() -> None:
    out = subprocess.run([str(SCRIPT), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("tts-pipeline ")
