"""Exchange: editors' files and other tools' files coming back into the memory (bilingual Markdown, TMX, XLIFF)."""
