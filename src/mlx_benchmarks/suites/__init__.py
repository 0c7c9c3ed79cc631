"""Benchmark suites; ``registry.SUITES`` maps each name to its module."""
