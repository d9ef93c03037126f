"""The ``tts-pipeline`` command and ``python -m tts_pipeline``.

Kept light on purpose: synthesis workers are spawned processes, and a spawned process first
re-runs the script that started its parent. Were the command script to import the CLI (and
with it requests, lxml, mutagen and the rest), every worker would carry ~35 MB it never
uses; this module imports the CLI only when the command actually runs.
"""


def main() -> int:
    from tts_pipeline.cli.main import main as run

    return run()


if __name__ == "__main__":
    raise SystemExit(main())
