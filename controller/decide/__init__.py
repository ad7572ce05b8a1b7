"""The pure core: (desired, observed, notes, nodes, now) -> Plan or status.

No asyncio, no Docker, no clock reads, no randomness (a fresh uid is handed in). Everything here is
a plain function of its arguments, so property tests can hammer it and the engine can call it again
and again: deciding twice on the same state yields the same plan, and applying a plan then deciding
again yields an empty one.
"""
