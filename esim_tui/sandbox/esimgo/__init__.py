"""The simulated eSIM Go API v2.4 (providers.md section A; eSIM Go's "Order your first eSIM" guide).

What a client relies on, and what this simulator therefore keeps exactly:

* Everything lives under ``/v2.4``; every request needs ``X-API-Key`` (403 ``{"message"}`` otherwise,
  the key never echoed). Errors of every endpoint use ``{"message": ...}``, as the live API does
  (the spec's text/plain for POST /orders errors is not followed).
* ``GET /catalogue`` answers the live object form ``{"bundles", "pageCount", "rows", "pageSize"}``
  (A.0 deviation 1); ``dataAmount`` is MB, assignment quantities are bytes (base 10).
* ``POST /orders``: ``validate`` charges nothing; ``transaction`` debits the organisation once for the
  total (ledger order_id = orderReference; eSIM Go has no idempotency key). ICCIDs are top-ups onto
  existing eSIMs when compatible (same operator profile, see esimgo_catalogue); an incompatible one
  gets a new eSIM with ``allowReassign`` and is refused without it. ``assign: false`` buys into
  inventory: charged, no eSIM.
* ``smdpAddress`` carries an ``http://`` scheme, as every example in the spec does; the LPA string
  (QR codes, appleInstallUrl) never does.
* Bundle states follow simulated time: processing (none by default: queued at once; 5-90 simulated
  seconds in the "realistic" scenario; or ``bundle_processing_seconds``) -> queued -> active on first
  data use (validity runs from then) -> depleted / expired; revoked by DELETE; lapsed when never used
  for 365 days. Refunds to balance only while unstarted and within 60 days of purchase, each
  assignment once (a revoked one is refused): the ledger shows each refund as its own entry.
* Scenarios and the create_order faults "pending" / "fail": a pending transaction is charged and
  answers ``status: "processing"`` with no eSIMs (install details answer 503 with Retry-After) until
  its simulated time has passed; then it completes, or fails and is refunded. A failing one is a 400
  ``{"message"}`` that charges nothing, as eSIM Go refuses orders. "slow" answers 3 s late.
* Rate limits (``config.rate_limits``): a fixed one-second window of 10 tokens per client IP on a
  monotonic wall clock; the catalogue costs 5 tokens, everything else 1; ``X-Ratelimit-*`` headers on
  every answer and 429 ``{"message": "Rate limit exceeded"}`` with ``Retry-After: 1``.
"""

from esim_tui.sandbox.esimgo.sim import EsimGoSim
from esim_tui.sandbox.esimgo.world import PENDING_SECONDS, SLOW_ANSWER_SECONDS

__all__ = ["PENDING_SECONDS", "SLOW_ANSWER_SECONDS", "EsimGoSim"]
