"""sst_ai_inference."""
