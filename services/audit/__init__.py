"""Audit: appends every event to a tamper-evident log and serves it to auditors."""
