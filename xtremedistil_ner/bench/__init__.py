"""Benchmarks: commands that print and write figures (never timed tests)."""
