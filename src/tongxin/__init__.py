"""Tongxin (同心): community epidemic-response operations platform."""

__version__ = "0.1.0"
