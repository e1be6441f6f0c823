"""Service journeys (``service``): contacts about defects and contacts of their own walk
the service's steps and end resolved, unresolved or abandoned, apart from orders.
Hand-computed micro-cases, and Erlang C for a support desk fed by Poisson contacts."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats

from frictionsim.errors import ScenarioError
from frictionsim.execution import uses_fast_path
from frictionsim.metrics import run_values
from frictionsim.sim.simpy_engine import recommend_score
from frictionsim.studies import run_replications
from frictionsim.theory import erlang_c

from .conftest import make_scenario, one_segment, run_once


def bank(chat=None, defect=None, horizon=30, **changes):
    """Every buyer gets a defect (4 points, after an hour) and contacts support about it;
    one agent, 10 minutes a contact."""
    return make_scenario(
        horizon=horizon,
        segments=one_segment({"dist": "fixed", "value": 10}, 100),
        steps=[
            {
                "name": "address",
                "defect": {"p": 1, "irritation": 4, "delay": 60, "contact": 1, "cost": 25,
                           **(defect or {})},
            }
        ],
        service={"steps": [{"name": "chat", "capacity": 1, "duration": 10, "wait_irritation": 0,
                            **(chat or {})}], "cost": 2},
        economics={"margin": 0.5},
        **changes,
    )  # fmt: skip


def test_two_contacts_about_defects_queue_for_one_agent():
    # orders at 0 and 1; defects surface at 60 and 61; A is served 60-70, B waits 9
    # minutes and is served 70-80: two contacts, both resolved
    scenario = bank()
    r = run_once(scenario, arrivals=[0, 1])
    assert r.orders == 2
    assert r.defects == 2
    sv = r.service
    assert sv.visitors == sv.orders == 2
    assert sv.step_wait_total[0] == pytest.approx(9)
    assert sv.end_time == 80
    values = run_values(r, scenario)
    assert values["contacts"] == values["contacts_resolved"] == 2
    assert values["resolution_rate"] == 1
    assert values["contact_mean_wait"] == pytest.approx(4.5)
    assert values["remediation_costs"] == 50
    assert values["service_costs"] == 4  # 2 per contact
    assert values["cost_per_contact"] == 2
    assert values["service_utilisation"] == pytest.approx(20 / 80)  # 20 busy of 80 minutes
    assert values["profit"] == pytest.approx(0.5 * 200 - 4 - 50)
    # resolved: half the defect's 4 points are repaired (service.recovery 0.5): remembered
    # peak and end 2 → every buyer has the score of 2 points on a tolerance of 10
    want = recommend_score(2.0, 2.0, 10.0, scenario.experience.best, scenario.experience.scale)
    assert r.segment_scores[0][want] == 2


def test_an_unresolved_contact_makes_a_detractor():
    # every attempt fails (one attempt): unresolved; the defect stays, and the score is
    # at most service.unresolved_score (3), though the peak-end score would be higher
    scenario = bank(chat={"errors": {"p": 1, "max_attempts": 1}}, defect={"irritation": 1})
    r = run_once(scenario, arrivals=[0, 1])
    assert r.service.unresolved == 2
    assert r.service.orders == 0
    values = run_values(r, scenario)
    assert values["contacts_unresolved"] == 2
    assert values["resolution_rate"] == 0
    free = recommend_score(1.0, 1.0, 10.0, scenario.experience.best, scenario.experience.scale)
    assert free > 3
    assert r.segment_scores[0][3] == 2
    assert values["detractors"] == 2


def test_a_contact_who_loses_patience_in_the_queue_abandons():
    # 1 irritation a minute in the queue, tolerance 10: B would wait 9, so is served;
    # a third buyer (order at 2, defect at 62) would wait 18 and reneges after 10
    # a defect of 1 point, repaired by half: A's score is that of 0.5 points; B's contact
    # felt 9 points of waiting, a moment worse than the defect
    scenario = bank(chat={"wait_irritation": 1}, defect={"irritation": 1})
    r = run_once(scenario, arrivals=[0, 1, 2])
    assert r.service.orders == 2
    assert r.service.abandoned_friction == 1
    assert run_values(r, scenario)["contacts_abandoned"] == 1
    e = scenario.experience
    scores = r.segment_scores[0]
    assert scores[recommend_score(0.5, 0.5, 10.0, e.best, e.scale)] == 1  # A
    assert scores[recommend_score(9.0, 0.5, 10.0, e.best, e.scale)] >= 1  # B
    # C: abandoned after 10 points in the queue, the defect unrepaired: at most 3
    assert scores[:4].sum() == 1 + (recommend_score(9.0, 0.5, 10.0, e.best, e.scale) <= 3)


def test_contacts_follow_the_defect_contact_chance_and_no_defect_no_contact():
    scenario = bank(defect={"contact": 0.4}, horizon=3000)
    r = run_once(scenario, 3)
    lo, hi = stats.binom.interval(0.999, r.defects, 0.4)
    assert lo <= r.service.visitors <= hi
    assert not lo <= 0.3 * r.defects <= hi
    none = bank(defect={"p": 0})
    assert run_once(none, 3).service.visitors == 0


@pytest.mark.slow
def test_a_support_desk_fed_by_poisson_contacts_is_erlang_c():
    # contacts of their own at 0.5 a minute, 2 agents, exponential 3-minute contacts
    lam, mean, agents = 0.5, 3.0, 2
    exact = erlang_c(lam, 1 / mean, agents).mean_wait
    scenario = make_scenario(
        horizon="3d",
        arrivals={"rate": 0.001},
        segments=one_segment({"dist": "fixed", "value": 1e9}),
        steps=[{"name": "browse"}],
        service={
            "arrivals": {"rate": lam},
            "steps": [{"name": "desk", "capacity": agents, "wait_irritation": 0,
                       "duration": {"dist": "exponential", "mean": mean}}],
        },
    )  # fmt: skip
    results = run_replications(scenario, 5, 10, jobs=2, engine="simpy")
    waits = np.asarray([r.service.step_wait_total[0] / r.service.visitors for r in results])
    se = waits.std(ddof=1) / math.sqrt(waits.size)
    assert se < 0.05 * exact
    assert abs(waits.mean() - exact) <= stats.t.ppf(0.9995, waits.size - 1) * se


def test_service_runs_on_simpy_and_is_off_by_default():
    assert not uses_fast_path(bank())
    plain = make_scenario()
    r = run_once(plain)
    assert r.service is None
    values = run_values(r, plain)
    assert values["contacts"] == 0
    assert math.isnan(values["resolution_rate"])
    assert values["service_costs"] == values["remediation_costs"] == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"service": {"steps": [{"name": "address"}]}},
         "service.steps.address.name: 'address' is a checkout step's name too"),
        ({"service": {"steps": [{"name": "chat", "next": "mail"}]}},
         "service.steps.chat.next: no step named 'mail'"),
        ({"service": {"steps": [{"name": "chat", "defect": {"p": 0.1, "irritation": 1}}]}},
         "service.steps.chat.defect: a service step has no `defect`"),
        ({"service": {"steps": [{"name": "chat", "balk_at": 2}]}},
         "service.steps.chat.balk_at: the step has no `capacity`"),
        ({"service": {"steps": []}}, "service.steps: "),
        ({"service": {"steps": [{"name": "chat"}], "unresolved_score": 8}},
         "service.unresolved_score: "),
        ({"steps": [{"name": "address", "defect": {"p": 1, "irritation": 1, "contact": 0.5}}]},
         "steps.address.defect.contact: there is no `service` section to contact"),
    ],
)  # fmt: skip
def test_bad_service_sections_are_refused_with_their_field(changes, message):
    base = {"steps": [{"name": "address"}], **changes}
    with pytest.raises(ScenarioError) as err:
        make_scenario(**base)
    assert message in str(err.value)


def test_the_service_chart_shows_the_outcomes_and_the_wait_it_is_given():
    from matplotlib.figure import Figure

    from frictionsim.report.run_charts import chart_plan, plot_service
    from frictionsim.stats import summarize

    scenario = bank(chat={"errors": {"p": 0.5, "max_attempts": 1}}, horizon=600)
    summary = summarize(scenario, [run_once(scenario, k) for k in (1, 2, 3)], 1, "x")
    assert "service.png" in [c[0] for c in chart_plan(summary)]
    fig = Figure()
    left, right = plot_service(fig, summary)
    heights = [p.get_height() for p in left.patches]
    m = summary["metrics"]
    want = [
        m[k]["mean"] for k in ("contacts_resolved", "contacts_unresolved", "contacts_abandoned")
    ]
    assert heights == pytest.approx(want)
    assert want[0] > 0
    assert want[1] > 0
    assert right.patches[0].get_height() == pytest.approx(m["contact_mean_wait"]["mean"])
    plain = make_scenario()
    quiet = summarize(plain, [run_once(plain, 1), run_once(plain, 2)], 1, "x")
    assert "service.png" not in [c[0] for c in chart_plan(quiet)]


class _Sink:
    """An event sink that keeps everything (as the event log writer receives it)."""

    def __init__(self):
        self.events, self.ended, self.persons = [], [], {}

    def event(self, src, i, seg, activity, lifecycle, time, step, irr):
        self.events.append((src, i, activity, lifecycle, time))

    def done(self, src, i):
        self.ended.append((src, i))

    def person(self, src, i, person):
        self.persons[(src, i)] = person


def test_contacts_are_in_the_event_log_as_the_buyer_s_person():
    from frictionsim.sim.codes import CONTACT

    sink = _Sink()
    scenario = bank()
    run_once(scenario, arrivals=[0, 1], events=sink)
    contacts = [e for e in sink.events if e[0] == CONTACT]
    # A's contact (0): arrives 60, served 60-70, resolved; B's (1) waits until 70
    assert [e[2:] for e in contacts if e[1] == 0] == [
        ("contact", "complete", 60.0),
        ("chat", "start", 60.0),
        ("chat", "complete", 70.0),
        ("resolved", "complete", 70.0),
    ]
    assert ("chat queue", "complete", 70.0) in [e[2:] for e in contacts if e[1] == 1]
    assert sink.persons == {(CONTACT, 0): (0, 0), (CONTACT, 1): (0, 1)}  # the buyers' visits
    assert {(CONTACT, 0), (CONTACT, 1)} <= set(sink.ended)


def test_studies_name_the_service_s_metrics_only_where_there_is_a_service():
    from frictionsim.errors import OptionError
    from frictionsim.metrics import check_path, paths

    with_service, without = bank(), make_scenario()
    assert check_path("contact_mean_wait", with_service) == "contact_mean_wait"
    assert "contact_mean_wait" in paths(with_service)
    assert "contact_mean_wait" not in paths(without)
    for metric in ("contacts", "resolution_rate", "contact_mean_wait", "cost_per_contact"):
        with pytest.raises(OptionError, match=re.escape(f"'{metric}' is a metric of scenarios "
                           "with a `service` only")):  # fmt: skip
            check_path(metric, without)
    # a service step's figures are the run's service metrics, not step metrics
    for metric in ("steps.chat.p_wait", "steps.chat.entered"):
        with pytest.raises(OptionError, match="'chat' is a step of the service 'support', "
                           "whose numbers are run metrics: contacts, resolution_rate"):  # fmt: skip
            check_path(metric, with_service)
    # a step that is nowhere is unknown, whatever the metric's name
    with pytest.raises(OptionError, match=re.escape("unknown metric 'steps.nowhere.p_wait'")):
        check_path("steps.nowhere.p_wait", with_service)


def test_contacts_of_their_own_count_in_the_size_of_a_run():
    """`service.arrivals` at a billion an hour is refused before any work, as the same
    rate of visitors is: the estimate counts those contacts too."""
    from frictionsim.errors import RunTooLargeError
    from frictionsim.execution import check_run_size, estimate_run

    def shop(contacts):
        service = {"steps": [{"name": "chat", "duration": 1}], **contacts}
        return make_scenario(horizon="1d", arrivals={"rate": 0.01}, steps=[{"name": "buy"}],
                             service=service)  # fmt: skip

    quiet, flooded = shop({}), shop({"arrivals": {"rate": "1e9/h"}})
    assert quiet.expected_arrivals == pytest.approx(0.01 * 1440)
    assert flooded.expected_arrivals == pytest.approx(0.01 * 1440 + 1e9 / 60 * 1440)
    with pytest.raises(RunTooLargeError, match="would simulate about 48,000,000,"):
        check_run_size(estimate_run(flooded, 2, 2))
    check_run_size(estimate_run(quiet, 2, 2))  # not refused
