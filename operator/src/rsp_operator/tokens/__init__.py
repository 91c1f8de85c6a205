"""ServiceToken: a Secret holding a gateway service token for a ``bot-*`` user."""
