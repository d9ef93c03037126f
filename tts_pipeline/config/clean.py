"""Choices about what the listener hears, from the config file's ``[clean]`` table::

[clean]
footnotes = "paragraph"      # where notes are read: "paragraph", "section" or "end"
unlabelled_images = "cue"    # an image with no caption or alt text: "cue" ("Image.") or "skip"
table_max_cells = 30         # larger data tables are announced and skipped (prose: always read)
equation_max_words = 40      # longer displayed equations get a spoken stand-in
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from tts_pipeline.errors import ConfigError

FOOTNOTE_PLACEMENTS = ("paragraph", "section", "end")
IMAGE_CUES = ("cue", "skip")


@dataclass(frozen=True)
class CleanOptions:
    """How the cleaner renders structures that have more than one reasonable spoken form."""

    # "paragraph": each note right after the paragraph (or list, quote, table) citing it;
    # "section": at the end of the section citing it; "end": all in a last "Footnotes" section.
    footnotes: str = "paragraph"
    unlabelled_images: str = "cue"
    # A data table with more cells is summarised, not read cell by cell; a table of prose
    # (a transcript, a dialogue, questions and answers) is read whatever its size.
    table_max_cells: int = 30
    equation_max_words: int = 40  # a displayed equation longer than this when spoken is replaced

    def __post_init__(self) -> None:
        if self.footnotes not in FOOTNOTE_PLACEMENTS:
            raise ConfigError(
                f"footnotes must be one of {', '.join(FOOTNOTE_PLACEMENTS)}, not {self.footnotes!r}"
            )
        if self.unlabelled_images not in IMAGE_CUES:
            raise ConfigError(
                f"unlabelled_images must be one of {', '.join(IMAGE_CUES)},"
                f" not {self.unlabelled_images!r}"
            )
        for name in ("table_max_cells", "equation_max_words"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{name} must be a whole number of at least 0, not {value!r}")


def parse_clean_options(data: dict[str, Any], where: str = "config") -> CleanOptions:
    """``CleanOptions`` from a parsed ``[clean]`` table; ConfigError names ``where``."""
    known = {f.name: f.type for f in fields(CleanOptions)}
    unknown = set(data) - set(known)
    if unknown:
        raise ConfigError(
            f"{where}: [clean] has unknown keys {', '.join(sorted(unknown))}"
            f" (expected {', '.join(known)})"
        )
    try:
        return CleanOptions(**data)
    except ConfigError as exc:
        raise ConfigError(f"{where}: [clean] {exc}") from exc
