"""Database models, engine and migrations shared by the services."""
