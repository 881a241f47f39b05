"""The four services: intake, processing, notify and audit, each its own process."""
