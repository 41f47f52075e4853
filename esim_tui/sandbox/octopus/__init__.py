"""The simulated Octopus Cards eSIM API (providers.md section B; the seed's "eSIM purchase flow").

What a client relies on, and what this simulator therefore keeps exactly:

* ``/api/v1/esim/...`` needs ``Authorization: Bearer <token>``: the configured token or an access token
  from ``POST /auth/login`` (1 h; refresh tokens 7 days, both on simulated time).
* List endpoints answer a bare JSON array with the paging in ``X-...`` headers; single objects come
  wrapped in ``{"data": {...}}``; errors in ``{"error": {"name", "code", "message"}}``.
* ``POST /esim/orders`` answers HTTP 200 for every processed order and the body's ``status`` says
  what happened (DELIVERED, PENDING or FAILED). ``(product_id, amount)`` picks the variant;
  ``quantity`` is always 1; a reused ``client_reference`` is a 400 "Duplicate client_reference" and
  charges nothing. The wallet is debited once per order, less the client discount, and refunded when
  the order fails.
* The activation code is on the create answer and the detail endpoint only until the eSIM is
  installed; list answers never carry it (nor the ICCID).
"""

from esim_tui.sandbox.octopus.sim import OctopusSim

__all__ = ["OctopusSim"]
