"""Ports: the small abstract interfaces every backend implements."""
