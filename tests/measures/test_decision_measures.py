"""The decision measures on seekers whose answers are known, through Context and track()."""

import pytest

from devrl.measures import MEASURES, Context, get_measure
from devrl.mechanisms import SeekerPolicy
from devrl.runs import Run
from devrl.track import track


def _rows(name, policy, context, **params):
    measure = get_measure(name, **params)
    return {r["measure"]: (r["value"], r["stderr"]) for r in measure.rows(measure(policy, context))}


def test_registered():
    assert {"decision-cheese", "corner-first", "success-vs-corner"} <= set(MEASURES)


def test_seekers_give_the_known_answers(run_dir):
    run = Run.load(run_dir)
    for goal, p_cheese, first in (("cheese", 1.0, 0.0), ("corner", 0.0, 1.0)):
        context = Context(run, run.steps[-1])
        policy = SeekerPolicy(goal)
        d = _rows("decision-cheese", policy, context, levels=30)
        assert d["decision-cheese"][0] == pytest.approx(p_cheese, abs=1e-9)
        assert d["decision-cheese/greedy"][0] == p_cheese
        c = _rows("corner-first", policy, context, episodes=40)
        assert c["corner-first"][0] == first
        s = _rows("success-vs-corner", policy, context, episodes=40)
        agent, seeker = s["success-vs-corner/agent"][0], s["success-vs-corner/seeker"][0]
        assert s["success-vs-corner"][0] == pytest.approx(agent - seeker)
        if goal == "corner":  # the corner-seeker *is* the baseline; max_steps=20 leaves time
            assert s["success-vs-corner"][0] == 0.0 and s["success-vs-corner/ratio"][0] == 1.0
        else:
            assert agent == 1.0 and 0 < seeker < 1


def test_episodes_are_shared_and_the_cheese_is_anywhere(run_dir, monkeypatch):
    from devrl.mechanisms import pursuit

    run = Run.load(run_dir)
    calls = []
    original = pursuit.pursuit_table

    def counting(roll, scores):
        calls.append(roll.cheese_pos.copy())
        return original(roll, scores)

    monkeypatch.setattr(pursuit, "pursuit_table", counting)
    context, policy = Context(run, run.steps[-1]), SeekerPolicy("corner")
    get_measure("corner-first", episodes=30)(policy, context)
    get_measure("success-vs-corner", episodes=30)(policy, context)
    assert len(calls) == 1  # one set of episodes for both measures
    assert (calls[0] != [0, 4]).any(axis=1).any()  # run trained with corner=1, measured anywhere


def test_track_on_a_real_checkpoint(run_dir):
    frame = track(
        run_dir,
        [get_measure("decision-cheese", levels=20), get_measure("corner-first", episodes=20)],
        progress=False,
    )
    assert set(frame["measure"]) == {
        "decision-cheese",
        "decision-cheese/greedy",
        "decision-cheese/corner",
        "corner-first",
        "corner-first/cheese-first",
    }
    p = frame[frame["measure"] == "decision-cheese"]["value"]
    assert ((p >= 0) & (p <= 1)).all() and len(p) == 2
