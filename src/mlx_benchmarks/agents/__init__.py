"""Agent tasks with deterministic local tools, the baseline tool-calling loop, and framework adapters."""
