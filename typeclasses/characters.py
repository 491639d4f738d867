"""
Characters: what an operator or an agent is in the world.
"""

from evennia.objects.objects import DefaultCharacter

from world.plaintext import SPEECH_LIMIT, plain_text

from .objects import ObjectParent


class Character(ObjectParent, DefaultCharacter):
    """An operator's body in the world."""

    def at_pre_say(self, message, **kwargs):
        """Speech (`say`, `whisper`) is plain text: one line, no markup.

        Whoever speaks, an operator or an agent's account, cannot send a
        clickable MXP link, an escape sequence, colour floods or a line break
        that would make the rest look like another speaker.

        Args:
            message (str): What is to be said.

        Returns:
            str: The message as plain text (empty says nothing).
        """
        return plain_text(super().at_pre_say(message, **kwargs), SPEECH_LIMIT)
