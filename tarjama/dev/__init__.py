"""Development tools: random-weight models for tests and the benchmark."""
