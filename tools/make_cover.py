"""Regenerate tts_pipeline/assets/cover.png, the project's default cover art.

Usage: python tools/make_cover.py
"""

from __future__ import annotations

from pathlib import Path

from tts_pipeline.package.cover import render_cover_png

TARGET = Path(__file__).resolve().parents[1] / "tts_pipeline" / "assets" / "cover.png"

if __name__ == "__main__":
    data = render_cover_png()
    TARGET.write_bytes(data)
    print(f"wrote {TARGET} ({len(data):,} bytes)")
