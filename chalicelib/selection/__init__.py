"""Push by field, invited organisations, and the excellent-project selection workflow."""
