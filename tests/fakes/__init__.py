"""Test doubles: a local fake LLM HTTP server."""
