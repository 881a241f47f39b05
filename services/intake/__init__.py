"""Intake: accepts citizens' requests from every channel and owns the citizen-facing request."""
