"""Generated from protos/aiops/v1 by scripts/gen: do not edit."""
