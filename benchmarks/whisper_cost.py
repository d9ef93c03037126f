"""What each Whisper model costs the verifier: seconds of CPU work per minute of audio, memory.

Speaks the bundled sample post once with one voice (the real stages, chunks cached in a
temporary folder), then, for each model, starts a fresh process that loads the model and
transcribes every chunk on one thread, and prints one line per model: load time, transcription
seconds per minute of audio, peak resident memory of that process, and the word error rate.
Each model runs in its own process so peak memory is that model's alone.

    .venv/bin/python benchmarks/whisper_cost.py [--voice default] [--model tiny.en --model base]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from intelligibility import sample_post, spoken_chunks

from tts_pipeline.clean import clean
from tts_pipeline.config import Config
from tts_pipeline.synth.runner import synthesize_chunks
from tts_pipeline.synth.voices import load_voice

CHILD = """
import json, resource, sys, time
from pathlib import Path
from tts_pipeline.models import Chunk, ChunkAudio
from tts_pipeline.verify.check import check_chunk
from tts_pipeline.verify.whisper import Transcriber
model, listing = sys.argv[1], json.loads(Path(sys.argv[2]).read_text())
start = time.perf_counter()
transcriber = Transcriber(model, threads=1, workers=1)
loaded = time.perf_counter() - start
start = time.perf_counter()
words = errors = 0
for item in listing:
    audio = ChunkAudio(Chunk(**item["chunk"]), Path(item["wav"]), item["frames"], item["rate"])
    check = check_chunk(transcriber, audio)
    words += check.score.words
    errors += check.score.errors
spent = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"load_s": loaded, "asr_s": spent, "peak_mb": peak_mb, "wer": errors / words}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", default="default")
    parser.add_argument("--model", action="append", help="Whisper models (default tiny.en, base)")
    args = parser.parse_args()
    models = args.model or ["tiny.en", "base"]
    voice = load_voice(args.voice)
    config = Config()
    script = clean(sample_post(), config.templates, config.clean)
    with tempfile.TemporaryDirectory() as tmp:
        audio = synthesize_chunks(
            spoken_chunks(script, voice, body_only=False), voice, Path(tmp), jobs=1
        )
        audio_s = sum(a.duration_s for a in audio)
        listing = Path(tmp) / "chunks.json"
        listing.write_text(
            json.dumps(
                [
                    {
                        "chunk": vars(a.chunk),
                        "wav": str(a.wav),
                        "frames": a.frames,
                        "rate": a.sample_rate,
                    }
                    for a in audio
                ]
            ),
            encoding="utf-8",
        )
        print(
            f"voice {voice.name}, sample post {audio_s:.0f} s of audio in {len(audio)} chunks,"
            f" one thread, load average {os.getloadavg()[0]:.1f}"
        )
        for model in models:
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", CHILD, model, str(listing)],
                check=True,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - start
            row = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"{model:<8} load {row['load_s']:.1f} s  transcribe {row['asr_s']:.1f} s"
                f" = {row['asr_s'] / audio_s * 60:.1f} s per audio minute"
                f"  peak RSS {row['peak_mb']:.0f} MB  WER {row['wer']:.3f}  (wall {wall:.1f} s)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
