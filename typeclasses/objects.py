"""
Objects: things with a place in the world.

`ObjectParent` is mixed into every object typeclass (rooms, exits,
characters) for behaviour they all share: Attributes saved once per update
(typeclasses/attributestore.py) and locks checked without compiling Python
each time (typeclasses/lockeval.py).
"""

from evennia.objects.objects import DefaultObject

from .attributestore import OneSaveAttributesMixin
from .lockeval import QuickLocksMixin


class ObjectParent(QuickLocksMixin, OneSaveAttributesMixin):
    """Shared behaviour for every in-world entity."""


class Object(ObjectParent, DefaultObject):
    """A thing in the world."""
