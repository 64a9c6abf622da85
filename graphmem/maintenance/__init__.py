"""Keeping the three stores in agreement: checks on open, ``verify``, repair, export/import."""
