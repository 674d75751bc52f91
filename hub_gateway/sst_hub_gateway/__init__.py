"""SST hub gateway: MQTT from hubs in, readings to PostgreSQL and the Redis readings stream."""
