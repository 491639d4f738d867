"""
Objects: things with a place in the world.

`ObjectParent` is mixed into every object typeclass (rooms, exits,
characters) for behaviour they all share.
"""

from evennia.objects.objects import DefaultObject


class ObjectParent:
    """Shared behaviour for every in-world entity."""


class Object(ObjectParent, DefaultObject):
    """A thing in the world."""
