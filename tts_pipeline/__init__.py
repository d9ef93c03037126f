"""tts_pipeline: forum posts in, podcast episodes out."""

__version__ = "0.1.0"
