"""sst_ai_training."""
