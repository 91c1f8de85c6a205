"""XML documents the service answers: VOSI and UWS."""
