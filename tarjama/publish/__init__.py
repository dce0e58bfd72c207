"""Publish: the run record, bilingual and English Markdown, the reviewer report, atomic outputs and locks."""
