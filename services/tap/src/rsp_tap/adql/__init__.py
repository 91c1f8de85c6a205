"""ADQL 2.1 to PostgreSQL/pgsphere translation for the TAP service.

Use :func:`translate` (or :func:`translate_cached`); every problem with the
query is an :class:`AdqlError` subclass with a message for the user.
"""

from .errors import AdqlError, AdqlReferenceError, AdqlSyntaxError, AdqlUnsupportedError
from .parser import warm_up
from .translate import translate, translate_cached

__all__ = [
    "AdqlError",
    "AdqlReferenceError",
    "AdqlSyntaxError",
    "AdqlUnsupportedError",
    "translate",
    "translate_cached",
    "warm_up",
]
