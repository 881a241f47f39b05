"""Visits to a service point for the in-person services: slots, capacity, and who holds one.

Biometric recording (KTP_REKAM) and digital ID activation (IKD_AKTIVASI) need the citizen at a
counter, so they are booked as visits instead of submitted. Each service point offers some of
them in the same time slots every working day, each slot with a capacity that all its services
share. A visit is booked on a working day, neither in the past nor in a slot that has begun, nor
beyond the booking horizon; a citizen holds at most one active visit per service. The rules of
this package are pure: times and counts come in, decisions come out, refusals say why in plain
Indonesian.
"""
