"""Fetch: the announcement calendar, arXiv (API, RSS, PDFs) and HuggingFace, merged into one day's papers."""
