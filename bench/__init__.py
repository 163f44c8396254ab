"""Benchmarks of the baked services; run with ``make bench``."""
