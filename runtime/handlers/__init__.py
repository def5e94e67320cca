"""The three Lambda handlers (extractor, transformer, loader) and the cores they call."""
