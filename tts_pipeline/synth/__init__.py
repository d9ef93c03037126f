"""The synth stage: chunks of script text -> cached mono s16 WAV files, via a speech engine."""
