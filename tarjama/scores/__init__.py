"""Scores: sacrebleu metrics, term figures, quality flags, run comparison and test-set evaluation."""
