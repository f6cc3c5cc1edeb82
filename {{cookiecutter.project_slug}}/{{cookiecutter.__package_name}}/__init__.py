"""The worker: Redis Streams in, validated batches stored exactly once (see docs/worker.md)."""

__version__ = "0.1.0"
