"""Fixtures shared by the lake tests: the moto S3 server on loopback and a fresh bucket per test."""

from tests.lake.test_lake_s3 import bucket, s3_endpoint

__all__ = ["bucket", "s3_endpoint"]
