"""Local engines and process supervision: runs the whole backend on one machine without Docker."""
