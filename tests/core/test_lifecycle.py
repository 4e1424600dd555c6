import sqlalchemy as sa
from sqlmodel import select

from core.funnel import update_risk
from core.funnel.lifecycle import RiskResult
from core.models import Event, Member
from core.purchases import record_purchase
from tests.support.members import new_member


def _buyer(db, clock, programme, name: str) -> int:
    member_id = new_member(db, clock, programme, name)
    _buy(db, clock, programme, member_id)
    return member_id


def _buy(db, clock, programme, member_id: int) -> None:
    with db.session() as session:
        record_purchase(session, clock=clock, programme=programme, member_id=member_id, amount=100)


def _run(db, clock, programme, limit: int = 5000) -> RiskResult:
    with db.session() as session:
        return update_risk(session, clock=clock, programme=programme, limit=limit)


def _risks(db) -> dict[int, str]:
    with db.session() as session:
        return {m.id: m.risk for m in session.exec(select(Member)).all()}


def _risk_events(db) -> list[tuple[int, str]]:
    with db.session() as session:
        rows = session.exec(
            select(Event).where(Event.type.in_(("at_risk", "lapsed"))).order_by(Event.id)
        ).all()
        return [(row.member_id, row.type) for row in rows]


def test_buyers_become_at_risk_then_lapsed_as_time_passes(db, clock, programme):
    buyer = _buyer(db, clock, programme, "alice")
    browser = new_member(db, clock, programme, "bob")  # never bought: no risk state
    clock.advance(days=59)
    assert _run(db, clock, programme) == RiskResult(at_risk=0, lapsed=0, active=0)
    clock.advance(days=2)
    assert _run(db, clock, programme) == RiskResult(at_risk=1, lapsed=0, active=0)
    assert _risks(db) == {buyer: "at_risk", browser: "active"}
    clock.advance(days=120)
    assert _run(db, clock, programme) == RiskResult(at_risk=0, lapsed=1, active=0)
    assert _risks(db)[buyer] == "lapsed"
    assert _risk_events(db) == [(buyer, "at_risk"), (buyer, "lapsed")]


def test_running_the_job_again_changes_nothing_and_logs_no_second_event(db, clock, programme):
    buyer = _buyer(db, clock, programme, "alice")
    clock.advance(days=61)
    _run(db, clock, programme)
    clock.advance(hours=1)
    assert _run(db, clock, programme).changed == 0
    assert _risk_events(db) == [(buyer, "at_risk")]


def test_a_new_purchase_makes_an_at_risk_member_active_again(db, clock, programme):
    buyer = _buyer(db, clock, programme, "alice")
    clock.advance(days=61)
    _run(db, clock, programme)
    _buy(db, clock, programme, buyer)
    assert _risks(db)[buyer] == "active"
    assert _run(db, clock, programme).changed == 0


def test_a_member_marked_at_risk_with_a_recent_purchase_is_made_active(db, clock, programme):
    buyer = _buyer(db, clock, programme, "alice")
    with db.session() as session:
        session.get(Member, buyer).risk = "lapsed"
        session.commit()
    assert _run(db, clock, programme) == RiskResult(at_risk=0, lapsed=0, active=1)
    assert _risks(db)[buyer] == "active"


def test_the_job_does_not_count_as_member_activity(db, clock, programme):
    buyer = _buyer(db, clock, programme, "alice")
    with db.session() as session:
        before = session.get(Member, buyer).last_activity_at
    clock.advance(days=61)
    _run(db, clock, programme)
    with db.session() as session:
        member = session.get(Member, buyer)
        assert member.last_activity_at == before
        event = session.exec(select(Event).where(Event.type == "at_risk")).one()
        assert (event.stage, event.channel, event.created_at) == ("action", "system", clock.now())
        assert event.payload == {"risk": "at_risk"}


def test_a_run_changes_at_most_limit_members(db, clock, programme):
    for name in ("a1", "a2", "a3"):
        _buyer(db, clock, programme, name)
    clock.advance(days=61)
    assert _run(db, clock, programme, limit=2).at_risk == 2
    assert _run(db, clock, programme, limit=2).at_risk == 1
    assert _run(db, clock, programme, limit=2).changed == 0
    assert sorted(_risks(db).values()) == ["at_risk"] * 3


def test_the_job_runs_the_same_few_statements_whatever_the_member_count(db, clock, programme):
    def statements_for(names: list[str]) -> int:
        for name in names:
            _buyer(db, clock, programme, name)
        clock.advance(days=61)
        seen: list[str] = []

        def note(conn, cursor, statement, *args) -> None:
            seen.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", note)
        try:
            assert _run(db, clock, programme).at_risk == len(names)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", note)
        return len(seen)

    few = statements_for(["a1", "a2"])
    many = statements_for([f"b{i}" for i in range(20)])
    assert few == many
