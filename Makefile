# Fresh machine: `make demo` or `make test` installs everything first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := espeak-ng ffmpeg
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps demo test lint format clean

install: system-deps $(VENV)/.installed

# Install the system packages only when a command is missing, so a second run is instant.
system-deps:
	@missing=""; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	command -v ffprobe >/dev/null || missing="$$missing ffmpeg"; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: install
	$(BIN)/tts-pipeline demo --library podcast

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check tts_pipeline tests benchmarks
	$(BIN)/ruff format --check tts_pipeline tests benchmarks
	$(BIN)/mypy

format: install
	$(BIN)/ruff format tts_pipeline tests benchmarks
	$(BIN)/ruff check --fix tts_pipeline tests benchmarks

clean:
	rm -rf $(VENV) podcast .pytest_cache .mypy_cache .ruff_cache
