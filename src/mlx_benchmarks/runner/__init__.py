"""The runner: drives a suite against a target and turns its outcome into a stored envelope."""
