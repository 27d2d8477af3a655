"""Analysis: LLM jobs and packs from prompt templates, run under caps and the daily quota, validated answers."""
