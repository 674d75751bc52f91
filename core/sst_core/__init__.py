"""sst_core."""
