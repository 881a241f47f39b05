"""The integrity rules over the audit log, what they remember and what they find."""
