"""RestoreLab training: datasets, degradations, losses, loops, metrics. Imports engine and torch, never Qt."""
