"""HTTP handlers of the TAP service (all under ``/api/tap``)."""
