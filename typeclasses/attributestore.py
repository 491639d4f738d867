"""
One database save per Attribute update, for every typeclass of the game.

Evennia 5.0.1's `ModelAttributeBackend.do_update_attribute` assigns
`attr.value` (which saves `db_value`) and then saves `db_value` and
`db_strvalue` again: every changed Attribute costs two UPDATEs, each in its
own transaction, on the reactor. The agents' characters write a few
Attributes for every decision of every agent (and the heartbeat Script two
every beat), so that doubling showed in the operators' tail latency
(README, "Latency"). This backend stores both fields with one save; the
row written and the caches are the same, and a monitor on `db_value` hears
of the change once instead of twice. The game's base typeclasses (objects
through `ObjectParent`, Scripts, Accounts, Channels) all mix it in.
"""

from evennia.typeclasses.attributes import AttributeHandler, ModelAttributeBackend
from evennia.utils.dbserialize import to_pickle
from evennia.utils.utils import lazy_property


class OneSaveAttributeBackend(ModelAttributeBackend):
    """Evennia's database Attribute backend, saving an updated Attribute once."""

    def do_update_attribute(self, attr, value, strvalue):
        """Store `value` (or the raw string with `strvalue`) in one save."""
        if strvalue:
            attr.db_value, attr.db_strvalue = None, value
        else:
            attr.db_value, attr.db_strvalue = to_pickle(value), None
        attr.save(update_fields=["db_strvalue", "db_value"])


class OneSaveAttributesMixin:
    """Give a typeclass Attributes that are saved once per update."""

    @lazy_property
    def attributes(self):
        return AttributeHandler(self, OneSaveAttributeBackend)
