"""kopf handlers of the operator's resources; importing this registers them.

Each resource's handlers live in a module of their own.
"""

from . import platformingress, servicetoken

__all__ = ["platformingress", "servicetoken"]
