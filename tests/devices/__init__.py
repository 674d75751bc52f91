"""Tests of the reference devices and the simulator."""
