"""Verification by ear: the real tiny.en model (bundled, offline) listens to real espeak-ng audio.

A chunk is corrupted in the cache (silence, noise, another chunk's audio) and must be caught
and spoken again; a garbled chunk stays bad and is flagged; a watcher with a bar holds such an
episode back. Texts are a sentence or two, so each transcription takes well under a second.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import sys
import wave
from array import array
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import clirun
import pytest

pytest.importorskip("faster_whisper", reason="needs the verify extra")

from watch_forum import feed_guids, forum_post, make_config, post_rows

from tts_pipeline.config import parse_config
from tts_pipeline.errors import ConfigError, HeldBackError
from tts_pipeline.ingest import fetch_post
from tts_pipeline.library.layout import Library
from tts_pipeline.models import Chunk, ChunkAudio, Verification
from tts_pipeline.net.http import http_client
from tts_pipeline.pipeline import convert_post
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.voices import load_voice
from tts_pipeline.verify.check import check_chunk
from tts_pipeline.verify.policy import HoldBar, hold_reason
from tts_pipeline.verify.report import VerifyReport
from tts_pipeline.verify.textnorm import normalise
from tts_pipeline.verify.verifier import Verifier, respeak
from tts_pipeline.verify.wer import score
from tts_pipeline.verify.whisper import Transcriber, resolve_model
from tts_pipeline.watch.runner import RunOptions, Watcher

VOICE = load_voice("default")
# Plain prose the tiny model follows well in espeak's voice (WER about 0.1 measured) ...
CLEAR = (
    "Long posts are easier to finish on a walk than at a desk. A good narration keeps the"
    " structure of the original, and links are read as their text, never as a web address."
)
OTHER = "The cleaned script is split at sentence boundaries and spoken in parallel chunks."
# ... and words that are no words at all: espeak says them, nobody can write them down.
GARBLED = "Zorbly quinx vemmet sploff gadrune hix tolvane krisp ubbo nerl."


def chunks(*texts: str) -> list[Chunk]:
    return [Chunk(index=i, text=t, pause_after_ms=600, section=0) for i, t in enumerate(texts)]


def rms(wav: Path) -> float:
    with wave.open(str(wav), "rb") as f:
        samples = array("h", f.readframes(f.getnframes()))
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


def overwrite(wav: Path, samples: list[int], rate: int) -> None:
    with wave.open(str(wav), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(array("h", samples).tobytes())


def verify(
    planned: list[Chunk], cache: Path, threshold: float = 0.8
) -> tuple[list[ChunkAudio], VerifyReport]:
    """What the pipeline does: check each chunk as the runner reports it, then finish."""
    from tts_pipeline.synth.runner import synthesize_chunks

    verifier = Verifier.start("tiny.en", threshold, jobs=1)
    try:
        audio = synthesize_chunks(planned, VOICE, cache, jobs=1, on_progress=verifier.submit)
        return verifier.finish(audio, voice=VOICE, cache_dir=cache, jobs=1)
    finally:
        verifier.close()


# -- normalising and scoring ----------------------------------------------------------------


def test_normaliser_keeps_spoken_parentheses_and_joins_spelled_letters() -> None:
    assert normalise("Alignment (RLHF) works, mostly.") == "alignment rlhf works mostly"
    # In a transcript, brackets mark sounds, not words: Whisper's own rule applies.
    assert normalise("Alignment (laughs) works.", spoken=False) == "alignment works"
    assert normalise("G-P-T four scored eighty-six point four percent") == normalise(
        "GPT-4 scored 86.4%", spoken=False
    )
    assert normalise("The colour of Mr. Smith's car") == "the color of mister smith is car"


def test_score_counts_each_kind_of_error_and_names_missed_words() -> None:
    s = score("the quick brown fox jumps", "the quack brown fox jumps high")
    assert (s.words, s.errors, s.missed) == (5, 2, ("quick",))  # one substitution, one insertion
    assert s.wer == pytest.approx(0.4)
    assert score("nothing was heard", "").wer == 1.0
    assert score("", "").wer == 0.0
    assert score("", "you").errors == 1


def test_score_takes_a_compound_spelled_apart_or_together_as_the_same_word() -> None:
    # Whisper writes "non-linear" and "LessWrong"; the script "Nonlinear" and "Less Wrong".
    heard = normalise("Welcome to the Non-Linear Library, on LessWrong.", spoken=False)
    s = score(normalise("Welcome to The Nonlinear Library, on Less Wrong."), heard)
    assert (s.words, s.errors) == (8, 0)
    # Only spelling: words the script itself says apart stay apart, and a real miss still counts.
    assert score("go in to the room into it", "go in to the room in to it").errors == 2
    assert score("the nonlinear library", "the non lunar library").errors == 2


# -- the model ------------------------------------------------------------------------------


def test_bundled_tiny_model_is_english_only_and_loads_from_its_folder() -> None:
    folder = Path(resolve_model("tiny.en"))
    assert folder.is_dir() and (folder / "tokenizer.json").is_file()
    # English-only vocabulary: faster-whisper never detects the language, so the config's
    # lang_ids (which leave out <|en|>) are never consulted.
    vocabulary = (folder / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    assert len(vocabulary) == 51_864
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert 50_258 not in config["lang_ids"]  # <|en|>: see whisper.py
    assert Transcriber("tiny.en").location == str(folder)  # a local path: no hub lookup


def test_model_folder_must_be_complete(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"")
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"lacks tokenizer\.json"):
        resolve_model(str(tmp_path))
    (tmp_path / "tokenizer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a Whisper model config"):
        resolve_model(str(tmp_path))
    with pytest.raises(ConfigError, match="not found"):
        resolve_model(str(tmp_path / "absent"))


def test_clear_speech_is_heard(tmp_path: Path) -> None:
    audio, report = verify(chunks(CLEAR, OTHER), tmp_path / "cache")
    assert report.flagged == () and report.retried == ()
    assert report.wer < 0.3, [c.heard for c in report.checks]
    assert [c.index for c in report.checks] == [0, 1]
    assert report.audio_s == pytest.approx(sum(a.duration_s for a in audio))


# -- corrupted and garbled chunks -------------------------------------------------------------


@pytest.mark.parametrize("damage", ["silence", "noise", "other text"])
def test_corrupted_chunk_is_detected_and_spoken_again(tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    first, _ = verify(chunks(CLEAR, OTHER), cache)
    target = first[0]
    rng = random.Random(7)
    if damage == "silence":
        overwrite(target.wav, [0] * target.frames, target.sample_rate)
    elif damage == "noise":
        noise = [int(rng.gauss(0, 4000)) for _ in range(target.frames)]
        overwrite(target.wav, noise, target.sample_rate)
    else:
        shutil.copyfile(first[1].wav, target.wav)  # the cache now serves the wrong words

    audio, report = verify(chunks(CLEAR, OTHER), cache)

    assert report.retried == (0,)  # detected: only the damaged chunk was spoken again
    assert report.first_takes[0].wer > 0.8
    assert report.flagged == ()  # the fresh take is fine ...
    assert report.checks[0].attempt == 2 and report.checks[0].wer < 0.5
    assert rms(audio[0].wav) > 500  # ... and is what the cache holds now


def test_garbled_chunk_is_flagged_after_one_retry(tmp_path: Path) -> None:
    _, report = verify(chunks(CLEAR, GARBLED), tmp_path / "cache")
    assert report.retried == (1,)
    assert report.flagged == (1,)
    assert report.checks[1].attempt == 2 and report.checks[1].wer > 0.8
    assert report.checks[0].attempt == 1  # the clear chunk was not touched
    assert "zorbly" in dict(report.missed_words())


def test_respeak_replaces_the_cache_entry(tmp_path: Path) -> None:
    from tts_pipeline.synth.runner import SynthStats, synthesize_chunks

    cache = tmp_path / "cache"
    (audio,) = synthesize_chunks(chunks(OTHER), VOICE, cache, jobs=1)
    overwrite(audio.wav, [0] * 100, audio.sample_rate)
    (fresh,) = respeak(chunks(OTHER), VOICE, cache, jobs=2)
    assert fresh.wav == audio.wav and rms(fresh.wav) > 500
    stats = SynthStats()
    synthesize_chunks(chunks(OTHER), VOICE, cache, jobs=1, stats=stats)
    assert stats.cache_hits == 1  # the new take is the cached one from now on


def test_check_scores_against_the_written_form_too(tmp_path: Path) -> None:
    class Heard:  # stands in for the recogniser: this test is about choosing the reference
        def transcribe(self, wav: Path) -> str:
            return "Yudkowsky wrote about it."

    # The engine was given a respelling; a listener should still hear the written words.
    chunk = Chunk(0, "Yud cow ski wrote about it.", 600, 0, display="Yudkowsky wrote about it.")
    check = check_chunk(Heard(), ChunkAudio(chunk, tmp_path / "x.wav", 22_050, 22_050))
    assert check.reference == "yudkowsky wrote about it" and check.wer == 0.0
    plain = Chunk(0, "Yud cow ski wrote about it.", 600, 0)
    assert check_chunk(Heard(), ChunkAudio(plain, tmp_path / "x.wav", 1, 1)).wer == 0.5


def test_check_takes_each_passage_in_the_form_heard(tmp_path: Path) -> None:
    class Heard:  # a respelt name heard as written, an abbreviation heard as spoken
        def transcribe(self, wav: Path) -> str:
            return "Yudkowsky wrote, for example, about it."

    chunk = Chunk(
        0, "Yud cow ski wrote, for example, about it.", 600, 0,
        display="Yudkowsky wrote, e.g., about it.",
    )  # fmt: skip
    check = check_chunk(Heard(), ChunkAudio(chunk, tmp_path / "x.wav", 22_050, 22_050))
    assert check.reference == "yudkowsky wrote for example about it" and check.wer == 0.0
    wrong = chunk.text.replace("for example", "for instance")  # the engine said other words
    check = check_chunk(Heard(), ChunkAudio(replace(chunk, text=wrong), tmp_path / "x.wav", 1, 1))
    assert check.score.errors > 0


def test_hold_bar_reasons(tmp_path: Path) -> None:
    def verified(errors: int, flagged: tuple[int, ...] = ()) -> Verification:
        return Verification("tiny.en", 0.8, 100, errors, flagged, flagged, tmp_path / "r.json")

    assert hold_reason(verified(50, (3,)), HoldBar()) is None  # no bar: publish
    assert hold_reason(None, HoldBar(flagged=True)) is None  # not verified: publish
    assert hold_reason(verified(5, (3, 7)), HoldBar(flagged=True)) == (
        "held back: 2 chunk(s) unintelligible after a retry (chunks 3, 7;"
        " word error rate above 0.8)"
    )
    assert hold_reason(verified(20), HoldBar(max_wer=0.25)) is None
    assert hold_reason(verified(30), HoldBar(max_wer=0.25)) == (
        "held back: word error rate 0.300 is above the bar of 0.25"
    )


# -- configuration ----------------------------------------------------------------------------


def test_config_switches_and_bars() -> None:
    config = parse_config({"verify": True, "verify_threshold": 0.6, "verify_model": "base.en"})
    assert (config.verify, config.verify_threshold, config.verify_model) == (True, 0.6, "base.en")
    assert parse_config({}).verify is False
    with pytest.raises(ConfigError, match="verify must be true or false"):
        parse_config({"verify": "yes"})
    with pytest.raises(ConfigError, match="verify_threshold must be above 0"):
        parse_config({"verify_threshold": 0})
    rules = parse_config({"watch": {"hold_flagged": True, "af": {"hold_wer_above": 0.3}}})
    af = rules.watch.rules("af", "AF")
    assert (af.hold_flagged, af.hold_wer_above) == (True, 0.3)
    with pytest.raises(ConfigError, match="hold_wer_above must be a number above 0"):
        parse_config({"watch": {"hold_wer_above": -1}})


# -- through the CLI and the watcher ----------------------------------------------------------

GARBLED_POST: dict[str, Any] = forum_post(
    "GarbledPostAbc234",
    hours_ago=1,
    body=f"<p>{CLEAR}</p><p>{GARBLED}</p>",
)
CLEAR_POST: dict[str, Any] = forum_post("ClearPostAbc2345", hours_ago=2, body=f"<p>{CLEAR}</p>")
# Titles a listener can follow (the intro reads them; "Notes on ClearPostAbc2345" is noise).
GARBLED_POST["title"], CLEAR_POST["title"] = "Why we listen", "Reading on foot"


@pytest.fixture
def forum() -> Iterator[ForumServer]:
    with ForumServer({}) as server:
        server.posts.update({p["_id"]: p for p in (GARBLED_POST, CLEAR_POST)})
        yield server


def run_cli(*args: str, cwd: Path, block: str = "") -> subprocess.CompletedProcess[str]:
    """The command line as every test runs it; with ``block``, as if that extra were not
    installed (the module is hidden before the command starts)."""
    if not block:
        return clirun.run_cli(*args, cwd=cwd)
    code = (
        f"import sys\nsys.modules[{block!r}] = None\n"
        "from tts_pipeline.cli.main import main\nraise SystemExit(main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=clirun.cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_convert_verify_reports_in_json_sidecar_state_and_status(
    forum: ForumServer, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'[forums.t]\nname = "A Test Forum"\nprefix = "AF"\nhosts = ["{forum.host}"]\n'
        f'graphql = "{forum.graphql_url}"\n',
        encoding="utf-8",
    )
    url = f"{forum.base_url}/posts/{GARBLED_POST['_id']}"
    args = ("convert", url, "--config", str(config), "--library", "lib", "--json")
    result = run_cli(*args, "--verify", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    episode = json.loads(result.stdout)
    verified = episode["verify"]
    sidecar = json.loads((tmp_path / verified["report"]).read_text(encoding="utf-8"))
    garbled = [c["index"] for c in sidecar["chunks"] if "zorbly" in c["reference"]]
    assert verified["flagged_chunks"] == garbled == verified["retried_chunks"]
    assert verified["model"] == "tiny.en" and 0 < verified["wer"] == sidecar["wer"]
    assert verified["report"] == "lib/episodes/GarbledPostAbc234.verify.json"
    assert sidecar["chunks"][garbled[0]]["attempts"] == 2
    # The episode is published all the same (convert has no bar) and the state remembers.
    assert GARBLED_POST["_id"] in feed_guids(tmp_path / "lib/feed.xml")
    record = Library(tmp_path / "lib").verifications()[GARBLED_POST["_id"]]
    assert record.verification.flagged == tuple(garbled) and record.held_back == ""

    status = run_cli("status", "--library", "lib", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    (shown,) = json.loads(status.stdout)["verifications"]
    assert shown["flagged_chunks"] == garbled and shown["wer"] == verified["wer"]
    text = run_cli("status", "--library", "lib", cwd=tmp_path).stdout
    assert "Verified episodes: 1" in text and "1 chunk(s) flagged" in text

    # Made again without verification: no stale report is left to describe it.
    again = run_cli(*args, "--no-verify", cwd=tmp_path)
    assert again.returncode == 0 and "verify" not in json.loads(again.stdout)
    assert Library(tmp_path / "lib").verifications() == {}
    assert not (tmp_path / verified["report"]).exists()


def test_missing_extra_fails_in_one_line_before_any_work(
    forum: ForumServer, tmp_path: Path
) -> None:
    url = f"{forum.base_url}/posts/{CLEAR_POST['_id']}"
    result = run_cli("convert", url, "--verify", "--library", "lib", cwd=tmp_path, block="jiwer")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "tts-pipeline: error: verification needs jiwer: install the verify extra:"
        " pip install 'tts-pipeline[verify]'"
    ]
    assert forum.requests == []  # not even fetched
    assert not (tmp_path / "lib").exists()


def test_watcher_holds_back_an_episode_with_a_flagged_chunk(
    forum: ForumServer, tmp_path: Path
) -> None:
    config = make_config({"af": ("AF", forum)}, hold_flagged=True)
    assert config.verify is False  # the bar alone turns verification on for the watcher
    library = Library(tmp_path / "lib")
    report = Watcher(config, library, voice=VOICE, jobs=1).run_once(RunOptions(limit=5))

    assert [e.id for e in report.converted] == [CLEAR_POST["_id"]]
    (held,) = report.skipped
    assert held.post_id == GARBLED_POST["_id"] and held.detail.startswith("held back: 1 chunk")
    assert feed_guids(library.feed_path) == [CLEAR_POST["_id"]]  # never published
    assert [r.id for r in library.episodes()] == [CLEAR_POST["_id"]]
    records = library.verifications()
    assert records[GARBLED_POST["_id"]].held_back == held.detail
    assert records[CLEAR_POST["_id"]].held_back == ""
    # Kept under held/, for a person to listen to; nothing under the published name.
    assert library.held().mp3_path(GARBLED_POST["_id"]).is_file()
    assert not library.mp3_path(GARBLED_POST["_id"]).exists()
    assert post_rows(library.root)[("af", GARBLED_POST["_id"])]["status"] == "skipped"


def test_a_held_back_renarration_leaves_the_published_episode_alone(
    forum: ForumServer, tmp_path: Path
) -> None:
    config = replace(make_config({"af": ("AF", forum)}), verify=True)
    library = Library(tmp_path / "lib")
    library.prepare()
    post_id = GARBLED_POST["_id"]  # first published readable, then edited into gibberish
    forum.posts[post_id] = {**GARBLED_POST, "htmlBody": f"<p>{CLEAR}</p>"}
    url = f"{forum.base_url}/posts/{post_id}"
    with http_client(config) as http:
        published = convert_post(
            fetch_post(url, config.sites, http), config=config, library=library, voice=VOICE, jobs=1
        )
        before = {path: path.read_bytes() for path in library.episodes_dir.iterdir()}
        # The post is edited into something nobody can follow, and narrated again under a bar.
        forum.posts[post_id] = GARBLED_POST
        with pytest.raises(HeldBackError) as held:
            convert_post(
                fetch_post(url, config.sites, http),
                config=config,
                library=library,
                voice=VOICE,
                jobs=1,
                hold=HoldBar(flagged=True),
            )
    # The published files are byte for byte what they were, and the feed still matches them.
    assert {path: path.read_bytes() for path in library.episodes_dir.iterdir()} == before
    (record,) = library.episodes()
    assert record.size_bytes == published.mp3.stat().st_size == published.size_bytes
    assert feed_guids(library.feed_path) == [post_id]
    # The held narration sits under held/, and the state says why it is not published.
    assert held.value.episode is not None and held.value.episode.mp3.parent == library.held().path
    assert held.value.episode.mp3.is_file()
    assert library.verifications()[post_id].held_back == str(held.value)
