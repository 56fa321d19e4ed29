"""Teaching a model the user's own photos: examples marked in the viewer, the fine-tune dialog."""
