"""aiops: anomaly detection over Prometheus and Loki, pushed to clients over gRPC."""
