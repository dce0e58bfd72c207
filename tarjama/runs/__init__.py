"""Runs: one article translated and published, and the inbox state of scheduled runs."""
