"""sst_backend."""
