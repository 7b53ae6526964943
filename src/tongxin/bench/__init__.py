"""Benchmarks behind `tongxin bench …`: each prints one JSON line with its own raw baseline."""
