"""The worker: Redis Streams in, validated batches stored exactly once (how and where: README.md)."""

__version__ = "0.1.0"
