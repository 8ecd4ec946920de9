"""Helpers for tests and benchmarks: build small TFLite models, run the golden."""
