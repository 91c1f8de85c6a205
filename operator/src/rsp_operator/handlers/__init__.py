"""kopf handlers of the operator's resources; importing this registers them.

Each resource's handlers live in a module of their own: ``platformingress``
and, once it exists, ``servicetoken``.
"""

import importlib
import importlib.util

from . import platformingress

__all__ = ["platformingress"]

if importlib.util.find_spec(f"{__name__}.servicetoken") is not None:
    importlib.import_module(f"{__name__}.servicetoken")
