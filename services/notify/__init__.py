"""Notify: turns events into messages to citizens over WhatsApp and SMS, worded by a templates
file, held in quiet hours, with retries."""
