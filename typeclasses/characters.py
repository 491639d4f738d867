"""
Characters: what an operator or an agent is in the world.
"""

from evennia.objects.objects import DefaultCharacter

from .objects import ObjectParent


class Character(ObjectParent, DefaultCharacter):
    """An operator's body in the world."""
