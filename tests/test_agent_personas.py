"""
The persona data file: the five agents, and every validation error.
"""

import copy
import os
import shutil
import tempfile
import tomllib
from unittest import TestCase

from agents.actions import ACTIONS
from agents.personas import DEFAULT_PERSONAS_FILE, PersonaDataError, load_personas, parse_personas


def real_data():
    with open(DEFAULT_PERSONAS_FILE, "rb") as handle:
        return tomllib.load(handle)


def persona_data(data, name):
    return next(raw for raw in data["persona"] if raw["name"] == name)


class TestRealPersonaFile(TestCase):
    def setUp(self):
        self.personas = load_personas(DEFAULT_PERSONAS_FILE)

    def test_the_five_agents(self):
        self.assertEqual(self.personas.names, ("Timmy", "Allegro", "Allegro-Primus", "Ezra", "Bezalel"))
        self.assertEqual(len(self.personas), 5)
        self.assertIsNone(self.personas.get("Mallory"))

    def test_least_privilege_permissions(self):
        permissions = {p.name: p.permission for p in self.personas}
        self.assertEqual(permissions, {"Timmy": "Helper", "Allegro": "Helper", "Allegro-Primus": "Helper",
                                       "Ezra": "Helper", "Bezalel": "Builder"})

    def test_homes_models_and_strategies(self):
        homes = {p.name: p.home for p in self.personas}
        self.assertEqual(homes, {"Timmy": "hearth", "Allegro": "forge", "Allegro-Primus": "oracle",
                                 "Ezra": "oracle", "Bezalel": "vault"})
        self.assertEqual({p.model for p in self.personas}, {"llama3.2:3b"})
        self.assertEqual(self.personas.get("Bezalel").strategy, "planner")
        self.assertEqual(self.personas.get("Timmy").strategy, "hybrid")
        self.assertEqual(self.personas.get("Allegro-Primus").strategy, "llm")

    def test_lineage_and_mentoring(self):
        primus = self.personas.get("Allegro-Primus")
        self.assertEqual((primus.parent, primus.mentor), ("Allegro", "Ezra"))
        self.assertEqual(self.personas.get("Allegro").children, ("Allegro-Primus",))
        self.assertEqual(self.personas.get("Ezra").mentees, ("Allegro-Primus",))
        self.assertEqual(set(self.personas.get("Bezalel").siblings), {"Allegro", "Ezra"})
        self.assertEqual(primus.related("parent"), ("Allegro",))
        self.assertEqual(self.personas.get("Timmy").related("mentor"), ())

    def test_actions_match_the_roles(self):
        for persona in self.personas:
            self.assertTrue(persona.allows("wait"))
            self.assertTrue(set(persona.actions) <= set(ACTIONS))
        self.assertTrue(self.personas.get("Bezalel").allows("backup"))
        self.assertFalse(self.personas.get("Timmy").allows("backup"))
        self.assertFalse(self.personas.get("Allegro-Primus").allows("recover"))
        self.assertFalse(self.personas.get("Allegro-Primus").allows("escalate"))

    def test_goals_are_sorted_by_priority(self):
        goals = self.personas.get("Bezalel").goals
        self.assertEqual(goals[0], ("keep_backups_fresh", 90))
        self.assertEqual([priority for _, priority in goals], sorted((p for _, p in goals), reverse=True))
        self.assertEqual(dict(self.personas.get("Allegro-Primus").goals)["stay_with_mentor"], 90)


class TestPersonaValidation(TestCase):
    def assertProblem(self, data, fragment, **overrides):
        with self.assertRaises(PersonaDataError) as ctx:
            parse_personas(data, **overrides)
        self.assertIn(fragment, str(ctx.exception))
        return ctx.exception

    def test_unknown_action_is_named(self):
        data = real_data()
        persona_data(data, "Timmy")["actions"].append("shell")
        self.assertProblem(data, "persona 'Timmy': unknown action(s) shell")

    def test_wait_is_required_and_duplicates_refused(self):
        data = real_data()
        persona_data(data, "Ezra")["actions"].remove("wait")
        persona_data(data, "Timmy")["actions"].append("look")
        error = self.assertProblem(data, "persona 'Ezra': actions must include 'wait'")
        self.assertIn("persona 'Timmy': action(s) listed twice: look", str(error))

    def test_unknown_relation_target_is_named(self):
        data = real_data()
        persona_data(data, "Allegro-Primus")["relations"]["mentor"] = "Gandalf"
        self.assertProblem(data, "persona 'Allegro-Primus': mentor 'Gandalf' is not a persona")

    def test_relations_must_be_mirrored(self):
        data = real_data()
        persona_data(data, "Ezra")["relations"]["mentees"] = []
        self.assertProblem(
            data, "persona 'Allegro-Primus': mentor 'Ezra' does not list 'Allegro-Primus' as mentees")

    def test_relation_to_itself_and_unknown_relation_kind(self):
        data = real_data()
        persona_data(data, "Bezalel")["relations"]["siblings"].append("Bezalel")
        persona_data(data, "Timmy")["relations"] = {"boss": "Ezra"}
        error = self.assertProblem(data, "persona 'Bezalel': siblings is itself")
        self.assertIn("persona 'Timmy': unknown relation(s) boss", str(error))

    def test_duplicate_names_case_insensitive(self):
        data = real_data()
        twin = copy.deepcopy(persona_data(data, "Timmy"))
        twin["name"] = "TIMMY"
        data["persona"].append(twin)
        self.assertProblem(data, "persona 'TIMMY' is defined twice")

    def test_bad_home_strategy_model_and_permission(self):
        data = real_data()
        timmy = persona_data(data, "Timmy")
        timmy.update(home="atlantis", strategy="vibes", model="bad model!", permission="Admin")
        error = self.assertProblem(data, "persona 'Timmy': home 'atlantis' is not a region")
        message = str(error)
        self.assertIn("strategy must be one of llm, planner, hybrid (got 'vibes')", message)
        self.assertIn("model must be an Ollama model name", message)
        self.assertIn("permission must be one of Player, Helper, Builder (got 'Admin')", message)
        self.assertGreaterEqual(len(error.problems), 4)

    def test_goals_unknown_bad_priority_or_unachievable(self):
        data = real_data()
        goals = persona_data(data, "Timmy")["goals"]
        goals.update(conquer=100, keep_backups_fresh=50, watch_heartbeat=500)
        error = self.assertProblem(data, "persona 'Timmy': unknown goal 'conquer'")
        message = str(error)
        self.assertIn("goal 'keep_backups_fresh' needs action backup, which it may not take", message)
        self.assertIn("goal 'watch_heartbeat' priority must be an integer 1..100", message)

    def test_stay_with_mentor_needs_a_mentor(self):
        data = real_data()
        persona_data(data, "Timmy")["goals"]["stay_with_mentor"] = 20
        self.assertProblem(data, "persona 'Timmy': goal 'stay_with_mentor' needs a mentor")

    def test_missing_text_unknown_fields_and_bad_names(self):
        data = real_data()
        del persona_data(data, "Allegro")["role"]
        persona_data(data, "Ezra")["colour"] = "blue"
        data["persona"].append({"name": "no spaces allowed"})
        data["extra"] = {}
        error = self.assertProblem(data, "persona 'Allegro': role is missing")
        message = str(error)
        self.assertIn("persona 'Ezra': unknown field(s) colour", message)
        self.assertIn("persona 'no spaces allowed': name must be", message)
        self.assertIn("unknown top-level section(s): extra", message)

    def test_defaults_are_checked(self):
        data = real_data()
        data["defaults"] = {"model": "", "strategy": "planner", "colour": 1}
        error = self.assertProblem(data, "[defaults]: unknown field(s) colour")
        self.assertIn("[defaults]: model must be an Ollama model name", str(error))

    def test_no_personas(self):
        self.assertProblem({"defaults": {}}, "no [[persona]] defined")
        self.assertProblem({"persona": ["Timmy"]}, "persona #1 is not a table")


class TestOverrides(TestCase):
    def test_default_model_then_per_agent_model_and_strategy(self):
        personas = parse_personas(real_data(), default_model="qwen2.5:0.5b",
                                  models={"Ezra": "llama3.1:8b"}, strategies={"Timmy": "planner"})
        self.assertEqual(personas.get("Ezra").model, "llama3.1:8b")
        self.assertEqual(personas.get("Bezalel").model, "qwen2.5:0.5b")
        self.assertEqual(personas.get("Timmy").strategy, "planner")
        self.assertEqual(personas.get("Ezra").strategy, "hybrid")

    def test_bad_overrides_are_errors(self):
        with self.assertRaises(PersonaDataError) as ctx:
            parse_personas(real_data(), models={"Mallory": "x"}, strategies={"Timmy": "chaos"},
                           default_model="no way")
        message = str(ctx.exception)
        self.assertIn("model override for unknown persona 'Mallory'", message)
        self.assertIn("override for persona 'Timmy': strategy must be one of", message)
        self.assertIn("default model override: model must be an Ollama model name", message)


class TestPersonaFile(TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="timmy-personas-")
        self.addCleanup(shutil.rmtree, self.folder, ignore_errors=True)

    def test_missing_file_and_bad_toml(self):
        with self.assertRaises(PersonaDataError) as ctx:
            load_personas(os.path.join(self.folder, "nope.toml"))
        self.assertIn("file not found", str(ctx.exception))
        path = os.path.join(self.folder, "bad.toml")
        with open(path, "w") as handle:
            handle.write("[[persona]\nname = ")
        with self.assertRaises(PersonaDataError) as ctx:
            load_personas(path)
        self.assertIn("not valid TOML", str(ctx.exception))
        self.assertIn(path, str(ctx.exception))
