"""RestoreLab engine: image I/O, models, inference, jobs. Imports neither Qt nor training."""
