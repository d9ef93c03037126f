"""Settings from TOML: forum site profiles, templates, voice, library, jobs.

Lookup order: ``--config FILE``, else ``./tts-pipeline.toml``, else the user config dir.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from tts_pipeline.config.cast import CastOptions, parse_cast
from tts_pipeline.config.channels import DEFAULT_CHANNELS, Channel, parse_channels
from tts_pipeline.config.clean import CleanOptions, parse_clean_options
from tts_pipeline.config.publish import PublishSettings, parse_publish
from tts_pipeline.config.watch import WatchSettings, parse_watch
from tts_pipeline.errors import ConfigError
from tts_pipeline.models import ForumSite, Templates
from tts_pipeline.paths import user_config_dir

BUILTIN_SITES: tuple[ForumSite, ...] = (
    ForumSite(
        key="af",
        name="The AI Alignment Forum",
        prefix="AF",
        hosts=("www.alignmentforum.org", "alignmentforum.org"),
        graphql="https://www.alignmentforum.org/graphql",
        feed_name="Alignment Forum",
    ),
    ForumSite(
        key="lw",
        name="LessWrong",
        prefix="LW",
        hosts=("www.lesswrong.com", "lesswrong.com", "lesserwrong.com", "www.lesserwrong.com"),
        graphql="https://www.lesswrong.com/graphql",
        feed_name="LessWrong",
    ),
    ForumSite(
        key="ea",
        name="The Effective Altruism Forum",
        prefix="EA",
        hosts=(
            "forum.effectivealtruism.org",
            "forum-bots.effectivealtruism.org",
            "effective-altruism.com",
            "www.effective-altruism.com",
        ),
        graphql="https://forum.effectivealtruism.org/graphql",
        feed_name="EA Forum",
    ),
)

CONFIG_NAME = "tts-pipeline.toml"
LOCAL = "local"  # the executor that is a process pool on this machine
_KIND_NAMES: dict[type, str] = {str: "a string", int: "a whole number", float: "a number"}


@dataclass(frozen=True)
class Config:
    sites: tuple[ForumSite, ...] = BUILTIN_SITES
    templates: Templates = field(default_factory=Templates)
    library: Path = Path("podcast")
    voice: str = "default"
    jobs: int = 0  # 0: one per core
    bitrate_kbps: int = 64
    sample_rate: int = 44100
    target_lufs: float = -16.0
    true_peak_dbtp: float = -1.0  # ceiling measured on the final MP3
    user_agent_contact: str = "https://github.com/tts-pipeline/tts-pipeline"
    http_retries: int = 4  # per request, with exponential backoff and Retry-After
    request_interval_s: float = 3.0  # ForumMagnum asks crawlers for Crawl-Delay: 3
    base_url: str = "http://127.0.0.1:8000/"  # where the library is published; enclosure URLs
    language: str = "en-us"
    # Paged feeds: episodes in each subscription document (at most), per archive page, and
    # the most bytes any feed page may have.
    feed_items: int = 300
    feed_page_items: int = 100
    feed_max_bytes: int = 1_000_000
    watch: WatchSettings = field(default_factory=WatchSettings)  # [watch]: the new-post watcher
    clean: CleanOptions = field(default_factory=CleanOptions)  # [clean]: footnotes, images, ...
    publish: PublishSettings = field(default_factory=PublishSettings)  # [publish]: a bucket, ...
    channels: tuple[Channel, ...] = DEFAULT_CHANNELS  # [channels.<name>]: the library's feeds
    cast: CastOptions = field(default_factory=CastOptions)  # [cast]: a conversation's voices
    verify: bool = False  # transcribe every chunk and score it (needs the verify extra)
    verify_model: str = "tiny.en"  # Whisper model name, or a local CTranslate2 model folder
    verify_threshold: float = 0.8  # chunk word error rate above which it is spoken again
    executor: str = "local"  # where chunks are spoken: local, or dask://HOST:PORT
    # How long a process waits for another converting the same post (or writing the feeds)
    # in the same library before it gives up (exit 75).
    lock_wait_s: float = 600.0
    source: Path | None = None  # the file this came from, if any

    def site(self, key: str) -> ForumSite:
        for site in self.sites:
            if site.key == key:
                return site
        raise ConfigError(f"no forum profile named {key!r} (known: {', '.join(self.keys())})")

    def keys(self) -> list[str]:
        return [s.key for s in self.sites]

    @property
    def public_base_url(self) -> str:
        """Where the library is published: ``[publish] base_url``, else ``base_url``."""
        return self.publish.base_url or self.base_url

    def effective_jobs(self) -> int:
        return self.jobs if self.jobs > 0 else (os.cpu_count() or 1)


def find_config_file(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file not found: {explicit}")
        return explicit
    local = Path.cwd() / CONFIG_NAME
    if local.is_file():
        return local
    user = user_config_dir() / CONFIG_NAME
    return user if user.is_file() else None


def load_config(explicit: Path | None = None) -> Config:
    path = find_config_file(explicit)
    if path is None:
        return Config()
    return parse_config(read_toml(path, "config"), source=path)


def read_toml(source: Path | Traversable, what: str) -> dict[str, Any]:
    """Parse a TOML file; any fault is one ConfigError naming ``what`` and the file."""
    try:
        return tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {source}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {source} is not valid TOML: {exc}") from exc


def parse_config(data: dict[str, Any], *, source: Path | None = None) -> Config:
    where = str(source) if source else "config"
    config = Config(source=source)
    sites = {s.key: s for s in config.sites}
    for key, raw in _table(data, "forums", where).items():
        sites[key] = _site(key, raw, sites.get(key), where)
    templates = config.templates
    tpl = _table(data, "templates", where)
    if tpl:
        unknown = set(tpl) - {f.name for f in fields(Templates)}
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ConfigError(f"{where}: [templates] has unknown keys: {names}")
        templates = replace(templates, **{k: _str(tpl, k, where) for k in tpl})
    updates: dict[str, Any] = {}
    for name, kind in (
        ("voice", str),
        ("jobs", int),
        ("bitrate_kbps", int),
        ("sample_rate", int),
        ("target_lufs", float),
        ("true_peak_dbtp", float),
        ("request_interval_s", float),
        ("http_retries", int),
        ("user_agent_contact", str),
        ("base_url", str),
        ("language", str),
        ("verify_model", str),
        ("verify_threshold", float),
        ("executor", str),
        ("lock_wait_s", float),
        ("feed_items", int),
        ("feed_page_items", int),
        ("feed_max_bytes", int),
    ):
        if name in data:
            value = data[name]
            if kind is float and isinstance(value, int):
                value = float(value)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ConfigError(f"{where}: {name} must be {_KIND_NAMES[kind]}")
            updates[name] = value
    if "library" in data:
        updates["library"] = Path(_str(data, "library", where)).expanduser()
    if "verify" in data:
        if not isinstance(data["verify"], bool):
            raise ConfigError(f"{where}: verify must be true or false")
        updates["verify"] = data["verify"]
    if "executor" in updates:
        try:
            parse_executor_spec(updates["executor"])
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    for name in ("feed_items", "feed_page_items", "feed_max_bytes"):
        if updates.get(name, 1) < 1:
            raise ConfigError(f"{where}: {name} must be at least 1")
    if updates.get("verify_threshold", 1.0) <= 0:
        raise ConfigError(f"{where}: verify_threshold must be above 0 (a word error rate)")
    if "watch" in data:
        updates["watch"] = parse_watch(data["watch"], where, list(sites))
    if "clean" in data:
        updates["clean"] = parse_clean_options(_table(data, "clean", where), where)
    if "publish" in data:
        updates["publish"] = parse_publish(data["publish"], where)
    if "channels" in data:
        updates["channels"] = parse_channels(data["channels"], where, list(sites))
    if "cast" in data:
        updates["cast"] = parse_cast(_table(data, "cast", where), where)
    return replace(config, sites=tuple(sites.values()), templates=templates, **updates)


def _table(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    return value


def _str(data: dict[str, Any], name: str, where: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {name} must be a string")
    return value


def _site(key: str, raw: Any, base: ForumSite | None, where: str) -> ForumSite:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [forums.{key}] must be a table")
    known = {"name", "prefix", "hosts", "graphql", "feed_name"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: [forums.{key}] has unknown keys: {', '.join(sorted(unknown))}")
    fields: dict[str, Any] = {}
    for name in ("name", "prefix", "graphql", "feed_name"):
        if name in raw:
            fields[name] = _str(raw, name, f"{where} [forums.{key}]")
    if "hosts" in raw:
        hosts = raw["hosts"]
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise ConfigError(f"{where}: [forums.{key}] hosts must be a list of strings")
        fields["hosts"] = tuple(h.lower() for h in hosts)
    if base is not None:
        return replace(base, **fields)
    missing = {"name", "prefix", "hosts", "graphql"} - set(fields)
    if missing:
        raise ConfigError(f"{where}: [forums.{key}] needs {', '.join(sorted(missing))}")
    return ForumSite(key=key, **fields)


def parse_executor_spec(spec: str | None) -> str:
    """The ``executor`` setting (or ``--executor``) normalised: ``local`` or
    ``tcp://HOST:PORT``; ConfigError if unreadable."""
    text = (spec or "").strip()
    if not text or text == LOCAL:
        return LOCAL
    for scheme in ("dask://", "tcp://"):
        if text.startswith(scheme):
            host, _, port = text[len(scheme) :].rstrip("/").rpartition(":")
            if host and port.isdigit():
                return f"tcp://{host}:{port}"
    raise ConfigError(f"executor must be 'local' or dask://HOST:PORT, got {text!r}")
