"""Guided chat conversations (WhatsApp) and the SMS channel's webhook: their rules, use cases,
ports, storage and routes."""
