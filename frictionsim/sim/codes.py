"""Codes shared by the engines and everything downstream of them.

A visitor's outcome, where a visitor comes from, and how a customer remembers a
visit are small integers in the engines' arrays; their names here are what
results, metrics and event logs show. This module imports nothing, so the
report and the metric table can use the codes without loading the engine.
"""

from __future__ import annotations

ORDER, FRICTION, EXIT = 0, 1, 2
#: A service contact that failed every attempt at a step (the problem stays): its own
#: outcome in a service journey; in the checkout the same is friction.
UNRESOLVED = 3
OUTCOMES = ("order", "friction", "exit")
#: Activity names of the event log.
OUTCOME_ACTIVITY = ("order", "abandoned", "left")
#: Where a visitor comes from.
ORGANIC, REFERRAL, RETURNING = 0, 1, 2
SOURCES = ("organic", "referral", "returning")
ARRIVAL_ACTIVITY = ("arrival", "referral arrival", "return arrival")
#: A service journey's contacts in an event log: a source of their own there, and the
#: activities of their arrival and their outcomes.
CONTACT = 3
LOG_SOURCES = (*SOURCES, "contact")
CONTACT_ACTIVITY = {"arrival": "contact", "order": "resolved"}
CONTACT_OUTCOME_ACTIVITY = {FRICTION: "contact abandoned", EXIT: "contact abandoned",
                            UNRESOLVED: "unresolved"}  # fmt: skip
#: How a customer remembers the visit, for word of mouth and returns.
PROMOTER, PASSIVE, DETRACTOR, ABANDONER = 0, 1, 2, 3
