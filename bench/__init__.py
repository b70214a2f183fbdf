"""Benchmarks (`make bench`): speed and memory goals, measured, not asserted.

Each module in SECTIONS has `rows()`, returning a list of
(what, runtime, value, unit) tuples; `python -m bench` prints them as one
table. Quote medians, never single runs.
"""
