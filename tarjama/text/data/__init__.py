"""Language data files: abbreviations and boilerplate markers."""
