"""Targets: where requests go. See ``base.Target`` and ``registry.open_target``."""
