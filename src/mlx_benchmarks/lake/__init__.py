"""The shared results lake: publish local shards to S3 or a Hugging Face dataset, and read them back.

- ``publish(store, "s3://bucket/prefix")`` (``publish``) copies new shards; re-publishing is a no-op.
- ``RemoteStore("s3://bucket/prefix")`` (``remote``) reads a lake like a local ``Store``.
"""
