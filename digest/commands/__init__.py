"""Commands: each one orchestrates stages for the CLI (run/retry/analyze, schedule, status, doctor, prune)."""
