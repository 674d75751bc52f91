"""Tests of the inference service."""
