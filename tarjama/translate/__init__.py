"""Translate: models and backends, batching, the pipeline, term enforcement and memory-aware translation."""
