"""The desktop simulator: `python -m sim` (see sim/__main__.py)."""
