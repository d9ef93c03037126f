from __future__ import annotations

from pathlib import Path

import pytest

from tts_pipeline.config import BUILTIN_SITES, load_config
from tts_pipeline.errors import ConfigError


def test_no_file_gives_builtin_forums(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    config = load_config()
    assert [s.prefix for s in config.sites] == ["AF", "LW", "EA"]
    assert config.site("af").name == "The AI Alignment Forum"
    assert config.library == Path("podcast")


def test_profile_from_file_adds_a_forum_and_overrides_settings(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        """
library = "~/pod"
jobs = 3
target_lufs = -16
[forums.mirror]
name = "The AI Alignment Forum"
prefix = "AF"
hosts = ["127.0.0.1:8765"]
graphql = "http://127.0.0.1:8765/graphql"
[forums.lw]
name = "Less Wrong (mirror)"
[templates]
podcast_name = "My Library"
""",
        encoding="utf-8",
    )
    config = load_config(path)
    mirror = config.site("mirror")
    assert mirror.hosts == ("127.0.0.1:8765",) and mirror.prefix == "AF"
    assert config.site("lw").name == "Less Wrong (mirror)"
    assert config.site("lw").graphql == BUILTIN_SITES[1].graphql
    assert config.jobs == 3 and config.target_lufs == -16.0
    assert config.library == Path("~/pod").expanduser()
    assert config.templates.podcast_name == "My Library"
    assert config.source == path


def test_local_file_is_found_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tts-pipeline.toml").write_text('voice = "uk"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_config().voice == "uk"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs = [", "not valid TOML"),
        ('jobs = "two"', "jobs must be a whole number"),
        ("[forums.x]\nname = 'X'", "needs graphql, hosts, prefix"),
        ("[forums.af]\ncolour = 1", "unknown keys: colour"),
        ("[forums.af]\nhosts = 'a'", "hosts must be a list"),
        ("[templates]\nintro = 3", "intro must be a string"),
        ("[templates]\nouttro = 'x'", "unknown keys: outtro"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_unknown_forum_key_lists_the_known_ones() -> None:
    from tts_pipeline.config import Config

    with pytest.raises(ConfigError, match="af, lw, ea"):
        Config().site("xx")
