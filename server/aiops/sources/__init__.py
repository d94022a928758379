"""Data sources: Prometheus and Loki clients, and their responses as numpy arrays."""
