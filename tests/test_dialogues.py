"""Conversations: typed turns from every shape a post writes them in, the cast that voices
them, when a speaker's name is said, and the transcript that names them.

Golden files: ``tests/golden/cast/<name>.plan.txt`` is the chunk plan of
``tests/golden/<name>.html`` read by a fixed cast (one line per engine call: voice, speaker,
pause after, text). Regenerate with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from tts_pipeline.clean import clean
from tts_pipeline.clean.html import html_to_sections
from tts_pipeline.config import parse_config
from tts_pipeline.config.cast import CastOptions, parse_cast
from tts_pipeline.errors import ConfigError
from tts_pipeline.models import Chunk, ChunkAudio, Pauses, Script, Templates
from tts_pipeline.package.transcript import Cue, render_vtt
from tts_pipeline.synth.cache import cache_key
from tts_pipeline.synth.cast import check_rates, choose_cast
from tts_pipeline.synth.chunking import Casting, Reading, plan_chunks
from tts_pipeline.synth.engine import get_engine
from tts_pipeline.synth.voices import load_voice, parse_voice
from tts_pipeline.verify.check import ChunkCheck
from tts_pipeline.verify.report import VerifyReport
from tts_pipeline.verify.wer import score

GOLDEN = Path(__file__).parent / "golden"
PAUSES = Pauses()


def script_of(name_or_html: str, **cast: object) -> Script:
    from test_clean import make_post

    path = GOLDEN / f"{name_or_html}.html"
    html = path.read_text(encoding="utf-8") if path.exists() else name_or_html
    return clean(make_post(html), Templates())


def reading(voice: str) -> Reading:
    return Reading(voice, 400, PAUSES, None, 160)


def casting(script: Script, announce: str = "change", **options: object) -> Casting:
    voices = ["alto", "bass", "tenor"]
    speakers = {name: reading(voices[n % 3]) for n, name in enumerate(script.speakers())}
    return Casting(speakers, announce=announce, **options)  # type: ignore[arg-type]


def plan_lines(chunks: list[Chunk]) -> str:
    return "".join(
        f"{c.voice or 'narrator'} | {c.speaker or '-'} | {c.pause_after_ms} | {c.text}"
        + (" (not in the transcript)" if c.display == "" else "")
        + "\n"
        for c in chunks
    )


@pytest.mark.parametrize("name", ["dialogue_three_voices", "transcript_bold_names"])
def test_golden_plan(name: str) -> None:
    script = script_of(name)
    actual = plan_lines(plan_chunks(script, 400, PAUSES, cast=casting(script)))
    expected = GOLDEN / "cast" / f"{name}.plan.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected.parent.mkdir(exist_ok=True)
        expected.write_text(actual, encoding="utf-8")
    assert actual == expected.read_text(encoding="utf-8")


# --- recognising conversations ----------------------------------------------------------------


def test_dialogue_blocks_become_typed_turns() -> None:
    script = script_of("dialogue_three_voices")
    assert script.speakers() == ("Maren Oduya", "Ilse Varga", "Tomasz Reyes")
    turns = script.turns()
    assert [t.speaker for t in turns] == [
        "Maren Oduya", "Ilse Varga", "Tomasz Reyes", "Maren Oduya", "Ilse Varga", "Ilse Varga",
        "Tomasz Reyes",
    ]  # fmt: skip
    assert [len(t.segments) for t in turns] == [2, 4, 4, 4, 1, 1, 1]
    quote = [s for t in turns for s in t.segments if s.quoted]
    assert [s.text for s in quote] == [
        "Quote: We logged eleven small craft that came home by the light alone during the"
        " March storms."
    ]
    # Headings (one inside a turn) are the narrator's: chapters still follow them.
    titles = [section.title for section in script.sections]
    assert titles == [None, "Opening positions", "Costs", "A cheaper lamp"]
    assert all(not s.speaker for section in script.sections for s in section.segments[:1]
               if section.title)  # fmt: skip


def test_bold_names_make_a_transcript_only_when_it_is_one() -> None:
    transcript = script_of("transcript_bold_names")
    assert transcript.speakers() == ("Odile", "Bram", "Kestrel")
    assert [t.speaker for t in transcript.turns()][:4] == ["Odile", "Bram", "Odile", "Bram"]
    assert not script_of("bold_leadins_not_transcript").turns()
    few = "<p><b>Ann:</b> Hi there.</p><p><b>Bo:</b> Hello.</p><p><b>Ann:</b> Bye.</p>"
    assert not script_of(few).turns()  # three named paragraphs: not evidently a transcript
    one = "".join(f"<p><b>Note:</b> Point {n} made here.</p>" for n in range(6))
    assert not script_of(one).turns()  # one recurring name is a label, not a conversation


def test_turn_table_of_eighty_rows() -> None:
    script = script_of("dialogue_table_80")
    turns = script.turns()
    assert len(turns) == 80
    assert script.speakers() == ("Moderator", "Anneke", "Joaquim")
    assert [t.speaker for t in turns[:4]] == ["Moderator", "Anneke", "Joaquim", "Anneke"]
    texts = [s.text for section in script.sections for s in section.segments]
    assert "A table: a dialogue of 80 turns." in texts and "Speaker" not in texts


def test_transcript_text_names_speakers() -> None:
    text = script_of("transcript_bold_names").text()
    assert "\n\nOdile: How many hives did you lose this winter?\n\n" in text
    assert (
        "\n\nBram: Two of nine." in text and "\n\nI should have joined them into one.\n\n" in text
    )


# --- the plan: voices, names, pauses ----------------------------------------------------------


def _names(chunks: list[Chunk]) -> list[str]:
    return [c.text for c in chunks if c.display == ""]


def test_each_turn_in_its_voice_the_rest_narrated() -> None:
    script = script_of("dialogue_three_voices")
    chunks = plan_chunks(script, 400, PAUSES, cast=casting(script))
    voice_of = {"Maren Oduya": "alto", "Ilse Varga": "bass", "Tomasz Reyes": "tenor"}
    assert all(c.voice == voice_of[c.speaker] for c in chunks if c.speaker)
    assert all(c.voice == "" for c in chunks if not c.speaker)
    ends = [c for n, c in enumerate(chunks[:-1]) if c.speaker and chunks[n + 1].speaker
            and chunks[n + 1].speaker != c.speaker]  # fmt: skip
    assert ends and all(c.pause_after_ms == 800 for c in ends)  # the pause between turns


@pytest.mark.parametrize(
    ("announce", "after", "names"),
    [
        ("always", 30.0, ["Ann.", "Bo.", "Ann.", "Bo.", "Ann."]),
        ("first", 30.0, ["Ann.", "Bo."]),
        ("change", 30.0, ["Ann.", "Bo."]),  # back within 30 s: the voice says who it is
        ("change", 0.5, ["Ann.", "Bo.", "Ann.", "Bo.", "Ann."]),
    ],
)
def test_when_names_are_said(announce: str, after: float, names: list[str]) -> None:
    html = "".join(
        f'<section class="dialogue-message" display-name="{who}"><p>Turn {n} is short.</p>'
        "</section>"
        for n, who in enumerate(["Ann", "Bo", "Ann", "Bo", "Ann"])
    )
    script = script_of(html)
    cast = casting(script, announce, announce_after_s=after)
    assert _names(plan_chunks(script, 400, PAUSES, cast=cast)) == names


def test_a_speaker_back_after_a_long_absence_is_named_again() -> None:
    long = " ".join(["This sentence keeps the middle speaker talking for a while."] * 12)
    html = "".join(
        f'<section class="dialogue-message" display-name="{who}"><p>{text}</p></section>'
        for who, text in [("Ann", "Hello."), ("Bo", long), ("Ann", "Still here."), ("Bo", "Yes.")]
    )
    script = script_of(html)
    chunks = plan_chunks(script, 400, PAUSES, cast=casting(script, announce_after_s=20.0))
    assert _names(chunks) == ["Ann.", "Bo.", "Ann."]  # Bo was heard a moment ago


def test_one_voice_says_who_speaks_every_turn() -> None:
    script = script_of("transcript_bold_names")
    texts = [c.text for c in plan_chunks(script, 400, PAUSES)]
    assert "Odile says: How many hives did you lose this winter?" in texts
    assert "I should have joined them into one." in texts  # the same turn goes on
    assert sum(" says: " in t for t in texts) == len(script.turns())


def test_quotes_in_a_second_voice() -> None:
    script = script_of("dialogue_three_voices")
    cast = casting(script)
    plain = plan_chunks(script, 400, PAUSES, cast=cast)
    quoted = plan_chunks(script, 400, PAUSES, cast=Casting(cast.speakers, quote=reading("quoter")))
    said = [c for c in quoted if c.voice == "quoter"]
    assert [c.text for c in said] == [
        "Quote: We logged eleven small craft that came home by the light alone during the"
        " March storms."
    ]
    assert said[0].speaker == "Tomasz Reyes"  # still his turn, for the transcript
    assert not any(c.voice == "quoter" for c in plain)


# --- the cast ---------------------------------------------------------------------------------


def test_default_cast_skips_the_narrator_and_shares_when_short() -> None:
    narrator = load_voice("uk")
    cast = choose_cast(["A", "B", "C", "D", "E"], narrator, CastOptions())
    assert cast is not None
    names = [v.name for v in cast.speakers.values()]
    assert "uk" not in names
    assert names[:3] == ["joe", "us-female", "scottish"] and names[3:] == names[:2]


def test_fixed_assignment_and_disabled_cast() -> None:
    narrator = load_voice("default")
    options = CastOptions(voices=("us-female", "scottish"), assign=(("Bo", "us-female"),))
    cast = choose_cast(["Ann", "Bo"], narrator, options)
    assert cast is not None
    assert {k: v.name for k, v in cast.speakers.items()} == {"Ann": "scottish", "Bo": "us-female"}
    assert choose_cast(["Ann"], narrator, CastOptions(enabled=False)) is None
    assert choose_cast([], narrator, CastOptions()) is None
    with pytest.raises(ConfigError, match="unknown voice profile 'nobody'"):
        choose_cast(["Ann"], narrator, CastOptions(voices=("nobody",)))


def test_cast_config() -> None:
    config = parse_config(
        {
            "cast": {
                "voices": ["joe", "uk"],
                "announce": "always",
                "turn_pause_ms": 500,
                "quote_voice": "fast",
                "assign": {"Eliezer Yudkowsky": "joe"},
            }
        }
    )
    assert config.cast == CastOptions(
        voices=("joe", "uk"), assign=(("Eliezer Yudkowsky", "joe"),), announce="always",
        turn_pause_ms=500, quote_voice="fast",
    )  # fmt: skip
    for bad, message in [
        ({"announce": "sometimes"}, "announce must be one of"),
        ({"voices": "joe"}, "voices must be a list"),
        ({"assign": {"A": 3}}, "must map display names"),
        ({"turn_pause_ms": 0.5}, "whole number"),
        ({"colour": "red"}, "unknown keys colour"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_cast(bad)


def test_profile_names_one_speaker_of_a_multi_speaker_model() -> None:
    data = {"engine": "piper", "voice": "en_GB-vctk-medium", "speaker": 12}
    profile = parse_voice("vctk-12", data, where="test")
    assert profile.speaker == 12
    other = parse_voice("vctk-3", {**data, "speaker": 3}, where="test")
    engine = get_engine("piper")
    assert cache_key(engine, profile, "Hello.") != cache_key(engine, other, "Hello.")
    with pytest.raises(ConfigError, match="speaker names one speaker"):
        parse_voice("x", {"engine": "pyttsx3", "voice": "gmw/en-us", "speaker": 1}, where="t")


# --- the transcript ---------------------------------------------------------------------------


def test_webvtt_voice_spans() -> None:
    cues = [Cue(0, 22050, 22050, "Hello & welcome.", 0, "A <b> & C"), Cue(22050, 44100, 22050,
            "Narrated.", 1)]  # fmt: skip
    vtt = render_vtt(cues).decode()
    assert "\n<v A &lt;b&gt; &amp; C>Hello &amp; welcome.\n" in vtt
    assert "\nNarrated.\n" in vtt


def test_sections_keep_their_words() -> None:
    """Every word of the dialogue is said once: turns lose nothing to their speakers."""
    sections = html_to_sections((GOLDEN / "dialogue_three_voices.html").read_text())
    said = " ".join(s.text for section in sections for s in section.segments)
    for phrase in ["keep the tower, turn off the lamp", "Eleven boats is not nothing",
                   "Then we agree on more than we thought"]:  # fmt: skip
        assert said.count(phrase) == 1


def test_quote_voice_without_a_conversation() -> None:
    """Block quotes may have a voice of their own in any post, a dialogue or not."""
    narrator = load_voice("default")
    cast = choose_cast([], narrator, CastOptions(quote_voice="uk"))
    assert cast is not None and not cast.speakers and cast.quote is not None
    script = script_of("<p>Before.</p><blockquote><p>Said elsewhere.</p></blockquote><p>After.</p>")
    chunks = plan_chunks(script, 400, PAUSES, cast=cast.casting(lambda voice: lambda t: t))
    assert [(c.voice, c.text) for c in chunks[1:-1]] == [
        ("", "Before."), ("uk", "Quote: Said elsewhere."), ("", "End quote."), ("", "After."),
    ]  # fmt: skip


def test_a_cast_of_mixed_sample_rates_is_refused_by_name() -> None:
    def spoken(voice: str, rate: int) -> ChunkAudio:
        return ChunkAudio(Chunk(0, "Hi.", 0, 0, voice=voice), Path("x.wav"), rate, rate)

    narrator = load_voice("default")
    check_rates([spoken("", 22050), spoken("joe", 22050)], narrator)
    with pytest.raises(ConfigError, match="low-voice at 16000 Hz, default at 22050 Hz"):
        check_rates([spoken("", 22050), spoken("low-voice", 16000)], narrator)


def test_verification_scores_each_voice() -> None:
    def check(index: int, heard: str) -> ChunkCheck:
        reference = "the beans want water in the morning"
        return ChunkCheck(index, reference, heard, score(reference, heard), 1.0, 0.1, 1)

    checks = (check(0, "the beans want water in the morning"), check(1, "the beams want water"))
    report = VerifyReport("base", 0.8, checks, (), (), 0.0, voices=((0, "joe"), (1, "uk")))
    assert report.by_voice() == {
        "joe": {"words": 7, "errors": 0, "wer": 0.0},
        "uk": {"words": 7, "errors": 4, "wer": round(4 / 7, 4)},
    }
    assert report.to_json("x")["voices"] == report.by_voice()
    assert "voices" not in replace(report, voices=()).to_json("x")  # one voice: as before


def test_real_posts_are_not_conversations(shared_fixtures: Path) -> None:
    """Bold lead-ins in real posts ("<strong>-3</strong>. ...") are not speakers' names."""
    import json

    folder = shared_fixtures / "forummagnum"
    result = json.loads((folder / "post_agi-ruin_graphql.json").read_text())["data"]["post"]
    for html in (
        result["result"]["htmlBody"],
        (folder / "rss_description_G9HdpyREaCbFJjKu5.html").read_text(),
    ):
        sections = html_to_sections(html)
        assert sections and not any(s.speaker for sec in sections for s in sec.segments)


def test_chapters_still_follow_headings() -> None:
    from tts_pipeline.package.chapters import plan_chapters

    script = script_of("dialogue_three_voices")
    chunks = plan_chunks(script, 400, PAUSES, cast=casting(script))
    marks = plan_chapters(script, chunks, opening_title="Lighthouses")
    titles = [m.title for m in marks]
    assert titles[-3:] == ["Opening positions", "Costs", "A cheaper lamp"]
    for mark in marks[-3:]:  # each opens on its heading, said by the narrator
        assert chunks[mark.chunk_index].text == mark.title and not chunks[mark.chunk_index].voice
