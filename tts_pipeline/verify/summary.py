"""How an episode's verification is shown: ``--json`` objects, one-line text, ``status``."""

from __future__ import annotations

import json
from typing import Any

from tts_pipeline.library.layout import Library
from tts_pipeline.library.state import VerificationRecord
from tts_pipeline.models import Verification


def verification_json(verification: Verification) -> dict[str, Any]:
    return {
        "model": verification.model,
        "wer": round(verification.wer, 4),
        "words": verification.words,
        "errors": verification.errors,
        "threshold": verification.threshold,
        "flagged_chunks": list(verification.flagged),
        "retried_chunks": list(verification.retried),
        "report": str(verification.report),
    }


def verification_line(verification: Verification) -> str:
    flagged = verification.flagged
    chunks = f"{len(flagged)} chunk(s) flagged: {', '.join(map(str, flagged))}" if flagged else ""
    return (
        f"heard with word error rate {verification.wer:.3f} ({verification.model})"
        + (f"; {chunks}" if chunks else "; no chunk flagged")
        + (f"; {len(verification.retried)} re-spoken" if verification.retried else "")
        + f" ({verification.report.name})"
    )


def suggestion_lines(verification: Verification, limit: int = 5) -> list[str]:
    """The report's suggested lexicon entries, a line each (none if the report is unreadable)."""
    try:
        data = json.loads(verification.report.read_text(encoding="utf-8"))
        entries = list(data.get("suggested_entries", []))[:limit]
    except (OSError, ValueError, AttributeError):
        return []
    lines = []
    for item in entries:
        heard = ", ".join(f'"{w}"' for w in item.get("heard_as", []))
        lines.append(
            f"{item['word']} missed {item['count']}x"
            + (f" (heard {heard})" if heard else "")
            + f"; try in lexicon.toml: {item['entry']}"
        )
    if lines:
        lines.append("check an entry by ear: tts-pipeline lexicon check WORD --voice VOICE")
    return lines


def status_json(library: Library) -> list[dict[str, Any]]:
    """Every verified episode, oldest check first (``status --json``)."""
    return [_record_json(r) for r in library.verifications().values()]


def status_lines(library: Library, *, limit: int = 10) -> list[str]:
    """A few lines for ``status``: the mean, held-back episodes, the latest checks."""
    records = list(library.verifications().values())
    if not records:
        return []
    words = sum(r.verification.words for r in records)
    errors = sum(r.verification.errors for r in records)
    held = [r for r in records if r.held_back]
    flagged = sum(1 for r in records if r.verification.flagged)
    lines = [
        f"Verified episodes: {len(records)}, word error rate {errors / max(words, 1):.3f}"
        f" over all, {flagged} with flagged chunks, {len(held)} held back"
    ]
    lines += [f"  held back: {r.episode_id}: {r.held_back}" for r in held]
    for r in records[-limit:]:
        if not r.held_back:
            lines.append(f"  {r.episode_id}: {verification_line(r.verification)}")
    return lines


def _record_json(record: VerificationRecord) -> dict[str, Any]:
    return {
        "episode": record.episode_id,
        **verification_json(record.verification),
        "held_back": record.held_back or None,
        "verified_at": record.verified_at.isoformat(),
    }
