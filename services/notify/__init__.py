"""Notify: turns events into messages to citizens over WhatsApp and SMS, with retries."""
