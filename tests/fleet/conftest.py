"""Fixtures of the fleet tests: moto's S3 server on loopback and a fresh bucket (shared with the lake tests)."""

from tests.lake.test_lake_s3 import bucket, s3_endpoint

__all__ = ["bucket", "s3_endpoint"]
