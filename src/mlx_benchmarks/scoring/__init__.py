"""Scoring: the code sandbox and the scorers built on it."""
