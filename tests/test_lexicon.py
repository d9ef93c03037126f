"""The pronunciation lexicon: bundled seeds, matching rules, per-voice and user overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from tts_pipeline.clean import speaker
from tts_pipeline.clean.lexicon import Lexicon, load_lexicon, parse_lexicon
from tts_pipeline.errors import ConfigError
from tts_pipeline.synth.voices import list_voices

SEEDS = ["LessWrong", "RLHF", "AGI", "Yudkowsky", "Bostrom", "CEV", "EA", "MIRI", "CFAR",
         "NeurIPS", "grokking"]  # fmt: skip


def test_bundled_lexicon_has_the_community_vocabulary() -> None:
    entries = load_lexicon().entries("default")
    for word in SEEDS:
        assert word in entries, word
        assert entries[word] != word


def test_espeak_voices_share_the_engine_entries() -> None:
    lexicon = load_lexicon(())
    espeak = [v for v in list_voices() if v.engine == "pyttsx3"]
    assert len(espeak) >= 4
    tables = [lexicon.entries(v.name, v.engine) for v in espeak]
    # Each has few entries of its own (what its own search found, or where a shared entry lost
    # it a word it had heard): the engine's table is what they say alike.
    shared = lexicon.engines["pyttsx3"]
    assert all(len(lexicon.voices.get(v.name, {})) < len(shared) / 2 for v in espeak)
    assert all(t["footnote"] == "foot note" for t in tables)  # "Footnote 3" heard as "photo"
    assert tables[0]["gradient"] == "gray-dee-ent"  # espeak-ng drops the g: "radiant"
    assert "gradient" not in lexicon.entries("joe", "piper")
    # Phonemes reach espeak-ng voices and no other.
    assert any(v.startswith("[[") for v in tables[0].values())
    assert not any("[[" in v for v in lexicon.entries("joe", "piper").values())


def test_bundled_lexicon_is_not_a_voice_profile() -> None:
    assert "lexicon" not in [v.name for v in list_voices()]


def test_whole_words_and_case() -> None:
    lexicon = Lexicon({"EA": "E-eigh", "grokking": "grocking", "EA Forum": "E-eigh Forum"})
    assert lexicon.apply("EA and EAT and ea") == "E-eigh and EAT and ea"
    assert lexicon.apply("Grokking, grokking, GROKKING") == "Grocking, grocking, GROKKING"
    assert lexicon.apply("the EA Forum's EA-adjacent") == "the E-eigh Forum's E-eigh-adjacent"
    assert lexicon.apply("see forum.ea.org") == "see forum.ea.org"


def test_longest_key_wins_and_symbols_in_keys() -> None:
    lexicon = Lexicon({"GPT": "G-P-T", "GPT-4o": "G-P-T four oh", "C++": "C plus plus"})
    assert lexicon.apply("GPT-4o beats GPT in C++.") == "G-P-T four oh beats G-P-T in C plus plus."


def test_acronym_plurals_are_said_as_plurals() -> None:
    lexicon = Lexicon({"AGI": "A-G-I", "MIRI": "Mirry", "SAEs": "S-A-E's"})
    # An all-capital key gives its plural with a small s; an explicit plural entry wins.
    assert lexicon.apply("AGIs, MIRIs and SAEs") == "A-G-I's, Mirry's and S-A-E's"
    assert lexicon.apply("AGIS") == "AGIS"
    said = speaker("default", engine="pyttsx3", lexicon=Lexicon())
    # Without an entry: vowel-less acronyms and any short capital run before a small s.
    assert said("LLMs, GPUs, CEOs and IDs") == "L-L-M's, G-P-U's, C-E-O's and I-D's"
    assert said("NASA and OK stay words") == "NASA and OK stay words"
    bundled = speaker("default", engine="pyttsx3")
    assert bundled("AIs and AGIs") == "A-I's and A-G-I's"


def test_voice_overrides_and_removal() -> None:
    lexicon = Lexicon(
        {"Bostrom": "Boss-trum", "AGI": "A-G-I"}, {"uk": {"Bostrom": "Bos-trom", "AGI": ""}}
    )
    assert lexicon.apply("Bostrom on AGI", "default") == "Boss-trum on A-G-I"
    assert lexicon.apply("Bostrom on AGI", "uk") == "Bos-trom on AGI"


def test_engine_tables_sit_between_words_and_voices() -> None:
    lexicon = Lexicon(
        {"Bostrom": "Boss-trum", "AGI": "A-G-I"},
        {"uk": {"Bostrom": "Bos-trom"}},
        {"pyttsx3": {"Bostrom": "[['bA:str@m]]", "AGI": ""}},
    )
    assert lexicon.apply("Bostrom on AGI", "joe", "piper") == "Boss-trum on A-G-I"
    assert lexicon.apply("Bostrom on AGI", "default", "pyttsx3") == "[['bA:str@m]] on AGI"
    assert lexicon.apply("Bostrom on AGI", "uk", "pyttsx3") == "Bos-trom on AGI"


def test_phonemes_reach_espeak_voices_alone() -> None:
    lexicon = Lexicon(voices={"mine": {"Bayes": "[[b'eIz]]", "AIXI": "[[aIks'i:]]"}})
    # A voice table's phonemes are skipped for an engine that cannot read them.
    assert lexicon.apply("Bayes", "mine", "piper") == "Bayes"
    said = speaker("mine", lexicon=lexicon, engine="pyttsx3")
    # The normaliser leaves phonemes alone; a possessive, plural or hyphen goes inside them.
    assert said("Bayes's rule, 2 AIXIs, Dr. Bayes") == (
        "[[b'eIzIz]] rule, two [[aIks'i:z]], Doctor [[b'eIz]]"
    )
    assert said("Bayes-style") == "[[b'eIz]] style"
    assert said("Bayes\u2019s rule, Bayes'll say") == "[[b'eIzIz]] rule, [[b'eIz@l]] say"
    # espeak-ng says nothing for phonemes glued to a bracket, quote or slash.
    assert said('(Bayes) "Bayes" Bayes/Bayes') == (
        "( [[b'eIz]]) \" [[b'eIz]]\" [[b'eIz]]/ [[b'eIz]]"
    )
    # The stand-in the normaliser sees cannot be confused with the post's own words.
    assert said("Qqphonemesa and Qqphonemesz, Bayes") == "Qqphonemesa and Qqphonemesz, [[b'eIz]]"
    # A post's own double brackets never reach espeak-ng as phonemes.
    assert "[[" not in said("see [[h@l'oU]] and [[[x]]]")


def test_user_lexicon_overrides_bundled(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "lexicon.toml").write_text(
        '[words]\nYudkowsky = "Yud-kow-ski"\nShoggoth = "Shog-goth"\n'
        '[voices.fast]\nRLHF = "reinforcement learning from human feedback"\n'
    )
    lexicon = load_lexicon([mine, tmp_path / "absent"])
    assert lexicon.apply("Yudkowsky's Shoggoth") == "Yud-kow-ski's Shog-goth"
    assert lexicon.apply("RLHF", "fast") == "reinforcement learning from human feedback"
    assert lexicon.apply("RLHF", "default") == "R-L-H-F"
    assert lexicon.apply("LessWrong") == "Less Wrong"  # bundled entries stay


def test_edited_user_lexicon_is_read_again(tmp_path: Path) -> None:
    mine = tmp_path / "lexicon.toml"
    mine.write_text('[words]\nShoggoth = "Shog-goth"\n')
    assert load_lexicon([tmp_path]) is load_lexicon([tmp_path])  # parsed once, then reused
    mine.write_text('[words]\nShoggoth = "Show-goth, edited"\n')
    assert load_lexicon([tmp_path]).apply("Shoggoth") == "Show-goth, edited"
    mine.unlink()
    assert load_lexicon([tmp_path]).apply("Shoggoth") == "Shoggoth"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[words]\nAGI = 3\n", "must map to a string"),
        ("[word]\nAGI = 'x'\n", "unknown keys"),
        ("[words]\n' AGI' = 'x'\n", "is not a word"),
        ("[words]\nAGI = '<b>x</b>'\n", "markup"),
        ("voices = 3\n", "one table per voice"),
        ("engines = 3\n", "one table per engine"),
        ('[words]\nBayes = "[[b\'eIz]]"\n', "read by espeak-ng alone"),
        ('[engines.piper]\nBayes = "[[b\'eIz]]"\n', "only espeak-ng"),
        ('[engines.pyttsx3]\nBayes = "[[b\'eIz]"\n', "unclosed"),
        ("[words\n", "not valid TOML"),
    ],
)
def test_invalid_lexicon_is_one_clear_error(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "lexicon.toml").write_text(toml)
    with pytest.raises(ConfigError, match=message) as info:
        load_lexicon([tmp_path])
    assert "\n" not in str(info.value).split(":", 1)[0]


def test_parse_lexicon_accepts_empty() -> None:
    assert parse_lexicon({}, "x").apply("AGI") == "AGI"


def test_user_voices_folder_lexicon_reaches_what_convert_speaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from tts_pipeline.config import Config
    from tts_pipeline.models import Post
    from tts_pipeline.paths import user_voices_dir
    from tts_pipeline.pipeline import plan_post
    from tts_pipeline.synth.voices import load_voice

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    post = Post(
        id="p1",
        title="Shoggoths",
        authors=("Ada Example",),
        published=datetime(2024, 1, 1, tzinfo=UTC),
        url="https://forum.example/posts/p1",
        html="<p>The Shoggoth read LessWrong and RLHF papers.</p>",
        site_name="The Sample Forum",
        prefix="SAMPLE",
    )
    voice = load_voice("default")

    def spoken() -> str:
        return " ".join(c.text for c in plan_post(post, Config(), voice)[1])

    assert "Shoggoth read Less Wrong and R-L-H-F" in spoken()  # bundled lexicon only
    folder = user_voices_dir()
    assert str(folder).startswith(str(tmp_path))
    folder.mkdir(parents=True)
    (folder / "lexicon.toml").write_text(
        '[words]\nShoggoth = "Shog-goth"\nLessWrong = ""\n'
        '[voices.default]\nRLHF = "reinforcement learning from human feedback"\n'
    )
    said = spoken()
    assert "Shog-goth read LessWrong and reinforcement learning from human feedback" in said
    _, chunks = plan_post(post, Config(), voice)
    assert any("The Shoggoth read LessWrong and RLHF papers." in c.shown for c in chunks)
    assert "lexicon" not in [v.name for v in list_voices()]  # still not a voice profile
