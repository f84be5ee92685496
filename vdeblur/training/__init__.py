"""Training-side code: clip synthesis, datasets, losses, checkpoints. Not imported by the pipeline."""
