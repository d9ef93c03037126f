"""Verify what was said: an offline speech recogniser listens to every synthesised chunk.

- ``whisper``: the one faster-whisper wrapper (model by name or local folder, pinned threads);
- ``normalise``: the one whisper-normalizer wrapper (Whisper's English normaliser);
- ``wer``: the one jiwer wrapper (word error rate, and which reference words were missed);
- ``check``: one chunk's transcript scored against its text;
- ``verifier``: checks chunks while later ones are still being synthesised, re-speaks a chunk
  above the threshold once, flags it if it stays above;
- ``report``: the episode's figures, its sidecar ``episodes/<id>.verify.json``;
- ``policy``: whether an episode is held back instead of published.

Needs the ``verify`` extra (faster-whisper, whisper-normalizer, jiwer and a bundled tiny.en
model). Nothing heavy is imported here: the pipeline imports this package only when
verification is switched on.
"""
