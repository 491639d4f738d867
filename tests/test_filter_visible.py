"""
What a looker sees in a room (`ObjectParent.filter_visible`): exactly what
Evennia's own filter gives, with no lock check for an object anyone may see
(README, Latency, finding 28).
"""

from unittest import mock

from evennia.objects.objects import DefaultObject
from evennia.utils import create
from evennia.utils.test_resources import EvenniaTest

from typeclasses.objects import Object


class AccessRecordingObject(Object):
    """An object whose typeclass hooks its access checks (so it must always be checked)."""

    def at_access(self, result, accessing_obj, access_type, **kwargs):
        self.ndb.checked = (self.ndb.checked or []) + [access_type]


class FilterVisibleTests(EvenniaTest):
    def setUp(self):
        super().setUp()
        root = create.create_account("VisibilityRoot", email="root@example.com",
                                     password="quartz-otter-harbour", is_superuser=True)
        self.addCleanup(root.delete)
        self.root_char = create.create_object(self.character_typeclass, key="Root", location=self.room1)
        self.root_char.account = root
        self.root_char.locks.cache_lock_bypass(self.root_char)  # as puppeting does
        self.hidden = self.thing("Hidden", "view:false()")
        self.admins_only = self.thing("AdminsOnly", "view:perm(Admin)")
        self.unsearchable = self.thing("Unsearchable", "search:false()")
        self.hooked = create.create_object(AccessRecordingObject, key="Hooked", location=self.room1)

    def thing(self, key, lockstring):
        thing = create.create_object(self.object_typeclass, key=key, location=self.room1)
        thing.locks.add(lockstring)
        return thing

    def visible(self, looker):
        return self.room1.filter_visible(self.room1.contents, looker)

    def evennias(self, looker):
        return DefaultObject.filter_visible(self.room1, self.room1.contents, looker)

    def test_every_looker_sees_what_evennias_filter_gives(self):
        for looker in (self.char1, self.char2, self.root_char):
            with self.subTest(looker=looker):
                self.assertEqual(self.visible(looker), self.evennias(looker))
        names = {obj.key for obj in self.visible(self.char2)}
        self.assertEqual(names, {"Obj", "Obj2", "Char", "Root", "out", "Hooked"})
        self.assertEqual({obj.key for obj in self.visible(self.root_char)} - names,
                         {"Char2", "Hidden", "AdminsOnly", "Unsearchable"})

    def test_objects_anyone_may_see_are_not_checked_and_the_others_are(self):
        calls = []
        real_access = DefaultObject.access

        def counting_access(obj, accessing_obj, access_type="read", *args, **kwargs):
            calls.append((obj.key, access_type))
            return real_access(obj, accessing_obj, access_type, *args, **kwargs)

        self.hooked.ndb.checked = []
        with mock.patch.object(DefaultObject, "access", counting_access):
            self.room1.filter_visible(self.room1.contents, self.char2)
        checked = {key for key, _ in calls}
        self.assertEqual(checked, {"Hidden", "AdminsOnly", "Unsearchable", "Hooked"})
        self.assertEqual(self.hooked.ndb.checked, ["view", "search"])  # its own hook still ran

    def test_a_changed_lock_shows_at_the_next_look(self):
        self.assertIn(self.obj1, self.visible(self.char2))
        self.obj1.locks.add("view:perm(Admin)")
        self.assertNotIn(self.obj1, self.visible(self.char2))
        self.assertIn(self.obj1, self.visible(self.root_char))
        self.obj1.locks.add("view:all()")
        self.assertIn(self.obj1, self.visible(self.char2))
        self.obj1.locks.add("search:false()")
        self.assertNotIn(self.obj1, self.visible(self.char2))
        self.assertEqual(self.visible(self.char2), self.evennias(self.char2))

    def test_the_room_look_lists_what_may_be_seen(self):
        text = self.room1.return_appearance(self.char2)
        self.assertIn("Char", text)
        self.assertIn("Obj2", text)
        for unseen in ("Hidden", "AdminsOnly", "Unsearchable"):
            self.assertNotIn(unseen, text)
