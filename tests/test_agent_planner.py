"""
The goal planner: world state, search, goal selection, candidate plans and the
facts taken from an observation.
"""

from unittest import TestCase

from django.conf import settings

from agents.actions import ACTION_NAMES, InvalidAnswer
from agents.personas import DEFAULT_PERSONAS_FILE, load_personas
from agents.planner import (DEFAULT_REGION_MAP, IDLE_PLAN, WAIT, Goal, Plan, RegionMap, WorldState,
                            candidate_plans, make_goals, plan, plan_for, planner_action, planner_actions,
                            search, world_state_from_observation)
from world.regions import load_world_spec

PERSONAS = load_personas(DEFAULT_PERSONAS_FILE)
ALL_AGENTS_AT_HOME = {"Timmy": "hearth", "Allegro": "forge", "Allegro-Primus": "oracle",
                      "Ezra": "oracle", "Bezalel": "vault"}


def calm(location, **changes):
    """An observation where nothing is wrong."""
    observation = {
        "location": location, "present": [], "agents": dict(ALL_AGENTS_AT_HOME),
        "services": {"evennia": "up", "gitea": "up", "ollama": "up", "backup": "up", "disk": "up"},
        "incidents": [], "backup_age": 3600, "heartbeat_age": 30,
    }
    observation.update(changes)
    return observation


def steps_of(a_plan):
    return [(step.action, dict(step.args)) for step in a_plan.steps]


class TestWorldState(TestCase):
    def test_frozen_hashable_and_equal_by_facts(self):
        one = WorldState({"at_region": "hearth", "backup_stale": True})
        two = WorldState(backup_stale=True, at_region="hearth")
        self.assertEqual(one, two)
        self.assertEqual(hash(one), hash(two))
        self.assertEqual(len({one, two}), 1)
        with self.assertRaises(TypeError):
            one["at_region"] = "vault"

    def test_missing_boolean_facts_are_false(self):
        state = WorldState(at_region="hearth")
        self.assertTrue(state.satisfies({"backup_stale": False, "at_region": "hearth"}))
        self.assertFalse(state.satisfies({"backup_stale": True}))
        self.assertFalse(state.satisfies({"mentor_region": "oracle"}))

    def test_applied_returns_a_new_state(self):
        state = WorldState(at_region="hearth")
        moved = state.applied({"at_region": "vault"})
        self.assertEqual((state["at_region"], moved["at_region"]), ("hearth", "vault"))


class TestScenarios(TestCase):
    def test_ollama_down_timmy_at_hearth_goes_to_the_oracle_then_escalates(self):
        observation = calm("hearth", services={"ollama": "down", "gitea": "up"})
        [best] = plan_for(observation, PERSONAS.get("Timmy"))
        self.assertEqual(best.goal, "keep_services_up")
        self.assertEqual(steps_of(best), [("go", {"region": "oracle"}),
                                          ("escalate", {"severity": "P1", "summary": "ollama is down"})])
        self.assertEqual(best.decision(PERSONAS.get("Timmy").actions).command, "oracle")

    def test_stale_backup_sends_bezalel_to_the_vault_to_back_up(self):
        [best] = plan_for(calm("hearth", backup_age=30 * 3600), PERSONAS.get("Bezalel"))
        self.assertEqual(best.goal, "keep_backups_fresh")
        self.assertEqual(steps_of(best), [("go", {"region": "vault"}), ("backup", {})])
        [at_vault] = plan_for(calm("vault", backup_age=None), PERSONAS.get("Bezalel"))
        self.assertEqual(at_vault.decision(PERSONAS.get("Bezalel").actions).command, "@backup")

    def test_nothing_wrong_means_wait(self):
        for persona in PERSONAS:
            with self.subTest(persona=persona.name):
                [best] = plan_for(calm(persona.home), persona)
                self.assertIs(best, IDLE_PLAN)
                self.assertIsNone(best.decision(persona.actions).command)

    def test_orphaned_allegro_primus_goes_to_its_mentor(self):
        agents = dict(ALL_AGENTS_AT_HOME, Allegro=None, Ezra="forge")
        observation = calm("oracle", agents=agents, services={"ollama": "down"})
        primus = PERSONAS.get("Allegro-Primus")
        state = world_state_from_observation(observation, primus)
        self.assertTrue(state["orphaned"])
        self.assertEqual(state["mentor_region"], "forge")
        [best] = plan_for(observation, primus)
        self.assertEqual(best.goal, "stay_with_mentor")
        self.assertEqual(steps_of(best), [("go", {"region": "hearth"}), ("go", {"region": "forge"})])

    def test_away_from_home_with_nothing_to_do_goes_home(self):
        [best] = plan_for(calm("forge"), PERSONAS.get("Timmy"))
        self.assertEqual((best.goal, steps_of(best)), ("return_home", [("go", {"region": "hearth"})]))

    def test_attended_outage_then_owned_incident_gets_acknowledged_at_the_hearth(self):
        incident = {"id": "7", "service": "ollama", "severity": "P1", "summary": "ollama down",
                    "owner": "Timmy", "acked": False, "state": "open"}
        observation = calm("oracle", services={"ollama": "down"}, incidents=[incident])
        [best] = plan_for(observation, PERSONAS.get("Timmy"))
        self.assertEqual(best.goal, "answer_incidents")
        self.assertEqual(steps_of(best), [("go", {"region": "hearth"}), ("ack", {"id": "7"})])
        acked = dict(incident, acked=True)
        [after] = plan_for(calm("oracle", services={"ollama": "down"}, incidents=[acked]), PERSONAS.get("Timmy"))
        self.assertEqual(after.goal, "return_home")

    def test_without_escalate_the_planner_recovers_instead(self):
        state = WorldState(at_region="hearth", **{"service_down:gitea": True})
        goals = make_goals({"keep_services_up": 90})
        actions = planner_actions(state, ["go", "recover", "wait"])
        best = plan(state, goals, actions)
        self.assertEqual(steps_of(best), [("go", {"region": "forge"}), ("recover", {"scenario": "gitea"})])
        self.assertEqual(best.cost, 4)

    def test_cheapest_action_wins_when_both_are_allowed(self):
        state = WorldState(at_region="oracle", **{"service_down:ollama": True})
        best = plan(state, make_goals({"keep_services_up": 90}), planner_actions(state, ACTION_NAMES))
        self.assertEqual(steps_of(best), [("escalate", {"severity": "P1", "summary": "ollama is down"})])

    def test_two_services_down_are_both_handled_in_one_plan(self):
        state = WorldState(at_region="hearth", **{"service_down:ollama": True, "service_down:gitea": True})
        best = plan(state, make_goals({"keep_services_up": 90}), planner_actions(state, ["go", "escalate", "wait"]))
        self.assertEqual([step.name for step in best.steps],
                         ["go:hearth->forge", "escalate:gitea", "go:forge->hearth", "go:hearth->oracle",
                          "escalate:ollama"])


class TestGoalSelection(TestCase):
    def test_highest_priority_goal_first(self):
        state = WorldState(at_region="hearth", backup_stale=True, heartbeat_stale=True)
        actions = planner_actions(state, ACTION_NAMES)
        first = plan(state, make_goals({"keep_backups_fresh": 50, "watch_heartbeat": 60}), actions)
        self.assertEqual(first.goal, "watch_heartbeat")
        swapped = plan(state, make_goals({"keep_backups_fresh": 70, "watch_heartbeat": 60}), actions)
        self.assertEqual(swapped.goal, "keep_backups_fresh")

    def test_unachievable_goal_is_skipped_for_the_next(self):
        state = WorldState(at_region="vault", home_region="hearth", backup_stale=True)
        actions = planner_actions(state, ["go", "wait"])
        best = plan(state, make_goals({"keep_backups_fresh": 90, "return_home": 10}), actions)
        self.assertEqual(best.goal, "return_home")

    def test_met_or_irrelevant_goals_give_the_idle_plan(self):
        state = WorldState(at_region="hearth", home_region="hearth")
        self.assertIs(plan(state, make_goals({"return_home": 10, "stay_with_mentor": 90}),
                           planner_actions(state, ACTION_NAMES)), IDLE_PLAN)
        self.assertEqual(IDLE_PLAN.steps, (WAIT,))

    def test_search_bounds_give_up_cleanly(self):
        state = WorldState(at_region="hearth", **{"service_down:ollama": True})
        goals = make_goals({"keep_services_up": 90})
        actions = planner_actions(state, ACTION_NAMES)
        self.assertIs(plan(state, goals, actions, max_depth=1), IDLE_PLAN)
        self.assertIs(plan(state, goals, actions, max_nodes=1), IDLE_PLAN)
        self.assertEqual(len(plan(state, goals, actions, max_depth=2).steps), 2)

    def test_ties_are_broken_by_action_names_deterministically(self):
        start = WorldState(spot="a")
        left = planner_action("left", 1, {"spot": "a"}, {"spot": "b"}, "look")
        right = planner_action("right", 1, {"spot": "a"}, {"spot": "b"}, "look")
        for order in ([left, right], [right, left]):
            self.assertEqual([s.name for s in search(start, {"spot": "b"}, order)[0]], ["left"])
        both = search(start, {"spot": "b"}, [right, left], limit=2)
        self.assertEqual([[s.name for s in steps] for steps in both], [["left"], ["right"]])

    def test_goal_with_custom_relevance(self):
        goal = Goal("fetch", 5, lambda s: {"has_item": True}, lambda s: not s.fact("lazy"))
        fetch = planner_action("fetch", 1, {}, {"has_item": True}, "look")
        self.assertEqual(plan(WorldState(), [goal], [fetch]).goal, "fetch")
        self.assertIs(plan(WorldState(lazy=True), [goal], [fetch]), IDLE_PLAN)

    def test_make_goals_orders_by_priority_and_rejects_unknown_names(self):
        goals = make_goals((("return_home", 10), ("keep_services_up", 90)))
        self.assertEqual([g.name for g in goals], ["keep_services_up", "return_home"])
        with self.assertRaises(KeyError):
            make_goals({"conquer_world": 100})


class TestCandidatePlans(TestCase):
    def test_one_plan_per_goal_in_priority_order_with_distinct_first_steps(self):
        incident = {"id": "3", "service": "disk", "owner": "Timmy", "acked": False}
        observation = calm("hearth", services={"ollama": "down"}, incidents=[incident], heartbeat_age=900)
        plans = plan_for(observation, PERSONAS.get("Timmy"), k=3)
        self.assertEqual([p.goal for p in plans], ["keep_services_up", "answer_incidents", "watch_heartbeat"])
        self.assertEqual([p.first.action for p in plans], ["go", "ack", "heartbeat"])
        self.assertEqual(len({(p.first.action, p.first.args) for p in plans}), 3)

    def test_k_bounds_the_candidates(self):
        state = WorldState(at_region="hearth", backup_stale=True, heartbeat_stale=True)
        goals = make_goals({"keep_backups_fresh": 50, "watch_heartbeat": 60})
        plans = candidate_plans(state, goals, planner_actions(state, ACTION_NAMES), k=1)
        self.assertEqual([p.goal for p in plans], ["watch_heartbeat"])

    def test_alternatives_for_the_top_goal_fill_remaining_slots(self):
        state = WorldState(at_region="hearth", **{"service_down:ollama": True, "service_down:gitea": True})
        actions = planner_actions(state, ["go", "escalate", "wait"])
        plans = candidate_plans(state, make_goals({"keep_services_up": 90}), actions, k=3)
        self.assertEqual([dict(p.first.args)["region"] for p in plans], ["forge", "oracle"])

    def test_nothing_to_do_gives_only_the_idle_plan(self):
        self.assertEqual(plan_for(calm("hearth"), PERSONAS.get("Timmy"), k=3), [IDLE_PLAN])

    def test_describe_summarises_the_steps(self):
        [best] = plan_for(calm("hearth", services={"ollama": "down"}), PERSONAS.get("Timmy"))
        self.assertEqual(best.describe(), "keep_services_up: go oracle; escalate P1 ollama is down")


class TestPlanDecisions(TestCase):
    def test_a_step_outside_the_allowlist_is_refused(self):
        sneaky = Plan("x", (planner_action("rec", 1, {}, {}, "recover", scenario="ollama"),), 1)
        with self.assertRaises(InvalidAnswer) as ctx:
            sneaky.decision(["look", "wait"])
        self.assertEqual(ctx.exception.reason_code, "action_not_allowed")

    def test_actions_are_limited_to_the_allowlist(self):
        state = WorldState(at_region="hearth", **{"service_down:ollama": True}, incident_owned_id="4")
        names = {step.action for step in planner_actions(state, ["go", "wait"])}
        self.assertEqual(names, {"go"})
        everything = {step.action for step in planner_actions(state, ACTION_NAMES)}
        self.assertEqual(everything, {"go", "escalate", "recover", "backup", "heartbeat", "ack"})


class TestObservationFacts(TestCase):
    def test_facts_from_a_busy_observation(self):
        incidents = [
            {"id": "1", "service": "gitea", "owner": "Ezra", "acked": True},
            {"id": "2", "service": "disk", "owner": "Timmy", "acked": True, "severity": "P2"},
            {"id": "3", "service": "disk", "owner": "Timmy", "acked": False, "severity": "P1"},
            {"id": "4", "service": "ollama", "owner": "Timmy", "state": "resolved"},
        ]
        observation = calm("forge", services={"gitea": "down", "ollama": "degraded"}, incidents=incidents,
                           backup_age=None, heartbeat_age=10)
        state = world_state_from_observation(observation, PERSONAS.get("Timmy"))
        self.assertEqual(state["at_region"], "forge")
        self.assertEqual(state["home_region"], "hearth")
        self.assertTrue(state["service_down:gitea"])
        self.assertNotIn("service_down:ollama", state)
        self.assertTrue(state["service_attended:gitea"])
        self.assertNotIn("service_attended:ollama", state)
        self.assertEqual((state["incident_owned_id"], state["incident_owned_acked"]), ("3", False))
        self.assertTrue(state["backup_stale"])
        self.assertFalse(state["heartbeat_stale"])
        self.assertTrue(state["ollama_up"])
        self.assertNotIn("orphaned", state)

    def test_explicit_flags_and_thresholds(self):
        timmy = PERSONAS.get("Timmy")
        state = world_state_from_observation(calm("hearth", backup_age=100, backup_stale=True), timmy)
        self.assertTrue(state["backup_stale"])
        state = world_state_from_observation(calm("hearth", backup_age=100), timmy, backup_stale_after=50)
        self.assertTrue(state["backup_stale"])
        state = world_state_from_observation({"location": "hearth"}, timmy)
        self.assertFalse(state["backup_stale"] or state["heartbeat_stale"])

    def test_child_with_parent_and_ollama_up_is_not_orphaned(self):
        primus = PERSONAS.get("Allegro-Primus")
        state = world_state_from_observation(calm("oracle", present=["Ezra"]), primus)
        self.assertFalse(state["orphaned"])
        self.assertTrue(state["mentor_present"])
        parent_gone = world_state_from_observation(calm("oracle", parent_reachable=False), primus)
        self.assertTrue(parent_gone["orphaned"])

    def test_default_region_map_matches_the_region_file(self):
        real = RegionMap.from_world_spec(load_world_spec(settings.TIMMY_REGIONS_FILE))
        self.assertEqual(real.hub, DEFAULT_REGION_MAP.hub)
        self.assertEqual(real.exits, DEFAULT_REGION_MAP.exits)
        self.assertEqual(real.services, DEFAULT_REGION_MAP.services)
        self.assertEqual(real.region_of("nosuch"), "hearth")


class FirstResponderTests(TestCase):
    """Level 1 belongs to the on-duty agent; peers step in when it is absent."""

    def setUp(self):
        from agents.personas import load_personas
        from tests.support.agentlink import observation

        self.personas = PERSONAS
        self.seen = lambda **kw: observation(on_duty="Timmy", services={"ollama": "down", "evennia": "up"}, **kw)

    def test_the_on_duty_agent_goes_and_files_it(self):
        from agents.planner import plan_for

        plan = plan_for(self.seen(), self.personas.get("Timmy"))[0]
        self.assertEqual(plan.describe(), "keep_services_up: go oracle; escalate P1 ollama is down")

    def test_a_peer_leaves_it_to_the_online_on_duty_agent(self):
        from agents.planner import plan_for

        seen = self.seen(agent="Ezra", location="oracle", agents={"Timmy": "hearth"})
        plan = plan_for(seen, self.personas.get("Ezra"))[0]
        self.assertNotIn("escalate", plan.describe())

    def test_a_peer_covers_when_the_on_duty_agent_is_offline(self):
        from agents.planner import plan_for

        seen = self.seen(agent="Ezra", location="oracle", agents={"Timmy": None})
        plan = plan_for(seen, self.personas.get("Ezra"))[0]
        self.assertIn("escalate P1 ollama is down", plan.describe())
