"""
What every Evennia process imports: nothing that instruments code at import.

inflect 7.x (Evennia's grammar helper) runs typeguard over itself when
imported, 1.7 s in each process; requirements.txt pins 5.6.2. These tests
keep that choice from being undone silently and check that the grammar
Evennia takes from inflect still works.
"""

import sys

from evennia.utils.test_resources import EvenniaTest


class StartupImportTests(EvenniaTest):
    def test_evennia_loaded_without_typeguard(self):
        self.assertIn("evennia.objects.objects", sys.modules)
        self.assertIn("inflect", sys.modules)
        self.assertNotIn("typeguard", sys.modules)

    def test_evennias_numbered_names_still_come_from_inflect(self):
        self.obj1.key = "box"
        self.assertEqual(self.obj1.get_numbered_name(3, self.char1), ("a box", "three boxes"))
        self.obj1.key = "apple"
        self.assertEqual(self.obj1.get_numbered_name(2, self.char1), ("an apple", "two apples"))
