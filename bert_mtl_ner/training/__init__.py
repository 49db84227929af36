"""Training: optimizers and schedules, the CRF loss, the training loop."""
