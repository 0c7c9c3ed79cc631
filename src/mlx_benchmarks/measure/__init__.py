"""Measurement: timing of streamed completions, memory sampling, load patterns, calibration."""
