from tts_pipeline.cli import main

raise SystemExit(main())
