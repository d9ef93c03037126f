"""Many posts at once: backfilling a forum's archive, converting a list of URLs."""
