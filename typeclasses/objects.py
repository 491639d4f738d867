"""
Objects: things with a place in the world.

`ObjectParent` is mixed into every object typeclass (rooms, exits,
characters) for behaviour they all share: Attributes saved once per update
(typeclasses/attributestore.py).
"""

from evennia.objects.objects import DefaultObject

from .attributestore import OneSaveAttributesMixin


class ObjectParent(OneSaveAttributesMixin):
    """Shared behaviour for every in-world entity."""


class Object(ObjectParent, DefaultObject):
    """A thing in the world."""
