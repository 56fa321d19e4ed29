"""Library pages: models (here), datasets and experiments (added by the training work)."""
