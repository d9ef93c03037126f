"""Whether a listed post is narrated, and if not, the reason that goes into the state."""

from __future__ import annotations

from tts_pipeline.config.watch import ForumRules
from tts_pipeline.watch.listing import ListedPost, iso_ms


def skip_reason(post: ListedPost, rules: ForumRules) -> str | None:
    """None if ``post`` qualifies under ``rules``; else one short line saying why not.

    Checked in this order, so the reason shown is the most lasting one: opt-out, tags,
    date, length, then karma (the one a post can still grow out of).
    """
    opted_out = sorted(post.author_keys & rules.authors_opt_out)
    if opted_out:
        return f"author opted out: {opted_out[0]}"
    excluded = sorted(post.tag_keys & rules.tags_exclude)
    if excluded:
        return f"excluded tag: {excluded[0]}"
    if rules.tags_include and not post.tag_keys & rules.tags_include:
        return f"none of the required tags: {', '.join(sorted(rules.tags_include))}"
    if rules.earliest is not None and post.posted_at < rules.earliest:
        return f"posted before the earliest date {iso_ms(rules.earliest)[:10]}"
    if post.word_count is not None and post.word_count < rules.min_words:
        return f"too short: {post.word_count} words, fewer than {rules.min_words}"
    if post.karma < rules.min_karma:
        return f"karma {post.karma:g} below threshold {rules.min_karma}"
    return None
