"""The read side: what pages and the CLI show, and who may see or do what."""
