"""Measuring recognition and liveness: datasets, runs, metrics, synthetic attacks."""
