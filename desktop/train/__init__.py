"""The Train page: run form, degradation recipe editor, live dashboard."""
