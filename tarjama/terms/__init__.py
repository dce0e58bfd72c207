"""Terms: glossary entries, their TSV and TBX files, checks, clitic readings, matching, and the English-side test."""
