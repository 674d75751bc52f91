"""sst_devices."""
