"""
Rooms.

`Room` is the plain room (Limbo, anything a builder digs). `RegionRoom` is a
region of the fleet: its description is static text from the region data file
followed by one live line per service it houses.
"""

from evennia.objects.objects import DefaultRoom
from evennia.typeclasses.attributes import AttributeProperty

from world import presentation, servicestate

from .objects import ObjectParent


class Room(ObjectParent, DefaultRoom):
    """A plain room."""


class RegionRoom(Room):
    """A region: one room housing one operational domain of the fleet.

    The builder (world/builder.py) sets these fields from the data file;
    edit the data file and rebuild rather than setting them by hand.
    """

    region_key = AttributeProperty("", autocreate=False)
    static_desc = AttributeProperty("", autocreate=False)
    housed_services = AttributeProperty(list, autocreate=False)

    def shown_services(self):
        """Services housed here by the data file, plus checks placed here in settings."""
        from django.conf import settings

        names = list(self.housed_services)
        for entry in settings.HEALTH_CHECKS:
            if isinstance(entry, dict) and entry.get("region") == self.region_key:
                if entry.get("name") not in names and entry.get("enabled", True):
                    names.append(entry.get("name"))
        return names

    def get_display_desc(self, looker, **kwargs):
        """Static description, then the live state of each housed service."""
        lines = [self.static_desc or super().get_display_desc(looker, **kwargs)]
        states = servicestate.current_many(self.shown_services())
        if states:
            lines.append("")
            lines.extend(presentation.service_line(state) for state in states)
        return "\n".join(lines)
