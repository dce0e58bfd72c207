"""Publish: building the run record, the bilingual and English Markdown, the reviewer report, the article lock.

The files are swapped in atomically through :mod:`tarjama.files`; the record's vocabulary and reader are in
:mod:`tarjama.record`.
"""
