"""Synthetic demo district generator and the `make demo` entry point."""
