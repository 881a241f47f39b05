"""Visits to a service point for the in-person services: their rules, use cases, ports, storage
and routes."""
