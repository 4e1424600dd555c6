"""LINE end to end: signed webhook bodies posted to /webhooks/line over HTTP, handled by the
dialogs, answered through line-bot-sdk 3 at the fake Messaging API — on both databases."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

import tests.fakes.fixtures as fake_fixtures
from core.models import CouponGrant
from tests.channels import line_harness
from tests.channels.line_harness import LineApp, wait_until
from tests.fakes.fixtures import LINE_CHANNEL_SECRET
from tests.fakes.webhooks import LINE_SIGNATURE_HEADER, line_signature, redelivered

fake_line = fake_fixtures.fake_line
line_app = line_harness.line_app

MEI = "U" + "4af4980629" * 3 + "ab"


# ---- the member's first steps --------------------------------------------------------------


def test_follow_asks_for_consent_by_free_reply_with_quick_replies(line_app: LineApp) -> None:
    app = line_app
    app.deliver(app.events.follow(MEI))

    hello, consent = app.wait_texts(MEI, 2)
    assert "歡迎來到" in hello and "會員條款與隱私權政策" in consent
    assert [(d.kind, d.to) for d in app.fake.deliveries()] == [("reply", MEI)]
    assert app.fake.total_usage == 0  # replies are free
    labels = [(a["type"], a["label"], a["data"]) for a in app.quick_replies(MEI)]
    assert labels == [
        ("postback", "✅ 同意並加入", "consent:2026-01"),
        ("postback", "稍後再說", "consent_later"),
    ]
    assert app.quick_replies(MEI)[0]["displayText"] == "✅ 同意並加入"
    assert app.member(MEI).stage == "awareness"


def test_the_consent_postback_joins_and_points_typed_as_a_word_shows_a_flex_card(
    line_app: LineApp,
) -> None:
    app = line_app
    app.join(MEI)
    member = app.member(MEI)
    assert member.signed_up and member.stage == "interest"
    assert f"您的會員編號是 {member.number}" in app.texts(MEI)[-1]

    for typed in ("點數", "points", "/points"):
        before = len(app.texts(MEI))
        app.deliver(app.events.text(MEI, typed))
        app.wait_texts(MEI, before + 1)
        card = app.fake.messages_to(MEI)[-1]
        assert card["type"] == "flex" and card["contents"]["type"] == "bubble"
        assert card["altText"].startswith("【我的點數】")
        assert member.number in json.dumps(card, ensure_ascii=False)
        assert [a["data"] for a in app.quick_replies(MEI)] == ["cmd:coupons", "cmd:tier"]
    assert {d.kind for d in app.fake.deliveries()} == {"reply"}


def test_a_sticker_gets_help_and_a_tier_card_has_a_progress_bar(line_app: LineApp) -> None:
    app = line_app
    app.join(MEI)
    sticker = app.events.text(MEI, "x")
    sticker["message"] = {
        "id": "1",
        "type": "sticker",
        "packageId": "446",
        "stickerId": "1988",
        "stickerResourceType": "STATIC",
        "quoteToken": "q",
    }
    future = app.events.text(MEI, "x")
    future["message"] = {"id": "2", "type": "hologram", "shape": "cube"}
    for event in (sticker, future):
        before = len(app.texts(MEI))
        app.deliver(event)
        assert app.wait_texts(MEI, before + 1)[before]  # an answer, never silence
        assert any(a["data"] == "cmd:points" for a in app.quick_replies(MEI))

    before = len(app.texts(MEI))
    app.deliver(app.events.postback(MEI, "cmd:tier"))
    app.wait_texts(MEI, before + 1)
    card = app.fake.messages_to(MEI)[-1]
    assert card["type"] == "flex"
    body = json.dumps(card["contents"]["body"])
    assert '"width": "0%"' in body or '"backgroundColor": "#E9ECEF"' in body


def test_a_coupon_claim_postback_issues_one_coupon_shown_as_a_flex_card(line_app: LineApp) -> None:
    app = line_app
    app.join(MEI)
    before = len(app.texts(MEI))
    app.deliver(app.events.text(MEI, "優惠券"))
    app.wait_texts(MEI, before + 1)
    offers = app.fake.messages_to(MEI)[-1]
    assert offers["type"] == "flex" and offers["contents"]["type"] == "carousel"
    data = app.postback_data(MEI, "滿 NT$500 折 NT$100")
    assert data == "claim:SPEND500SAVE100"

    tap = app.events.postback(MEI, data)
    app.deliver(tap)
    app.deliver(redelivered(tap))  # LINE delivers the tap again: same webhookEventId
    app.settled()

    with app.services.database.reader() as session:
        grants = session.exec(select(CouponGrant)).all()
    assert len(grants) == 1
    claimed = app.fake.messages_to(MEI)[-1]
    assert claimed["type"] == "flex" and grants[0].code in json.dumps(claimed, ensure_ascii=False)
    assert app.count("inbound_update") == 4  # follow, consent, 優惠券, the tap once


# ---- acceptance 2: nothing from strangers ------------------------------------------------------


def test_a_missing_or_wrong_signature_is_401_and_writes_nothing(line_app: LineApp) -> None:
    app = line_app
    before = app.counts()
    body, headers = app.events.signed(LINE_CHANNEL_SECRET, app.events.follow(MEI))
    unsigned = {k: v for k, v in headers.items() if k != LINE_SIGNATURE_HEADER}
    forged = {**headers, LINE_SIGNATURE_HEADER: line_signature("not-the-secret", body)}
    tampered_body = body.replace(MEI.encode(), b"U" + b"0" * 32)

    answers = [
        app.client.post("/webhooks/line", content=body, headers=unsigned),
        app.client.post("/webhooks/line", content=body, headers=forged),
        app.client.post("/webhooks/line", content=tampered_body, headers=headers),
        app.client.post(
            "/webhooks/line", content=body, headers={**headers, LINE_SIGNATURE_HEADER: ""}
        ),
    ]

    assert [a.status_code for a in answers] == [401, 401, 401, 401]
    assert app.counts() == before
    assert app.fake.deliveries() == []


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.binary(max_size=300)
    | st.builds(
        lambda v: json.dumps(v).encode(),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=8), inner, max_size=3)
            ),
            max_leaves=10,
        ),
    ),
    signature=st.none()
    | st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=60)
    | st.binary(min_size=32, max_size=32).map(lambda raw: base64.b64encode(raw).decode()),
)
def test_random_bodies_with_bad_signatures_are_401_and_write_nothing(
    line_app: LineApp, body: bytes, signature: str | None
) -> None:
    app = line_app
    before = app.counts()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[LINE_SIGNATURE_HEADER] = signature
    answer = app.client.post("/webhooks/line", content=body, headers=headers)
    assert answer.status_code == 401
    assert app.counts() == before


# ---- acceptance 3: one effect per event ------------------------------------------------------


def test_a_redelivered_event_also_concurrently_has_one_effect(line_app: LineApp) -> None:
    app = line_app
    app.join(MEI)
    checkin = app.events.text(MEI, "/checkin")
    copies = [checkin, redelivered(checkin)] * 4
    before = len(app.fake.deliveries())

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda event: app.post(event), copies))
    app.settled()

    assert {a.status_code for a in answers} == {200}
    assert sum(a.json()["accepted"] for a in answers) == 1
    wait_until(lambda: len(app.fake.deliveries()) >= before + 1)
    assert len(app.fake.deliveries()) == before + 1  # one answer
    assert app.count("checkin") == 1
    sql = "select count(*) from inbound_update where update_id = :id"
    assert app.scalar(sql, id=checkin["webhookEventId"]) == 1


# ---- acceptance 6: malformed bodies -----------------------------------------------------------


def signed_post(app: LineApp, body: bytes):  # noqa: ANN201 - httpx.Response
    headers = {
        "Content-Type": "application/json",
        LINE_SIGNATURE_HEADER: line_signature(LINE_CHANNEL_SECRET, body),
    }
    return app.client.post("/webhooks/line", content=body, headers=headers)


def test_signed_bodies_of_the_wrong_shape_are_400_and_unknown_events_200(line_app: LineApp) -> None:
    app = line_app
    cases = {
        b"": 400,
        b"not json": 400,
        # The SDK checks signatures on text: a body that is not UTF-8 is not LINE's.
        b"\xff\xfe{}": 401,
        b"[]": 400,
        b'{"events": {}}': 400,
        b'{"events": [1]}': 400,
        b'{"events": [{"type": "follow", "x": NaN}]}': 400,
        b'{"events": [{"type": "message", "text": "\\u0000"}]}': 400,
        b'{"destination": "U1", "events": []}': 200,  # LINE's "verify" button
    }
    unknown = app.events._event("somethingNew", MEI)
    group = app.events.text(MEI, "/points")
    group["source"] = {"type": "group", "groupId": "C" + "1" * 32, "userId": MEI}
    cases[json.dumps({"events": [unknown, group]}).encode()] = 200

    answers = {body: signed_post(app, body).status_code for body in cases}
    app.settled()

    assert answers == cases
    assert app.count("member") == 0  # a group message and an unknown event do nothing
    assert app.scalar("select count(*) from inbound_update where status = 'done'") == 2
    assert app.fake.deliveries() == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["follow", "unfollow", "message", "postback", "join", "beacon", "x"]
        )
        | st.text(max_size=10),
        "webhookEventId": st.text(min_size=1, max_size=40) | st.integers(),
        "source": st.fixed_dictionaries(
            {"type": st.sampled_from(["user", "group", "room"]), "userId": st.text(max_size=40)}
        )
        | json_values,
        "timestamp": st.integers(min_value=-(2**70), max_value=2**70),
        "mode": st.sampled_from(["active", "standby"]) | st.text(max_size=8),
    },
    optional={
        "message": json_values,
        "postback": json_values,
        "replyToken": st.text(max_size=40),
        "deliveryContext": json_values,
    },
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.binary(max_size=200)
    | st.builds(lambda v: json.dumps(v).encode(), json_values)
    | st.builds(
        lambda events: json.dumps({"destination": "U0", "events": events}).encode(),
        st.lists(event_like | json_values, max_size=4),
    )
)
def test_any_signed_body_is_answered_400_or_200_never_500(line_app: LineApp, body: bytes) -> None:
    answer = signed_post(line_app, body)
    assert answer.status_code in ((200, 400) if utf8(body) else (401,)), answer.text
    line_app.settled()
    failed = "select count(*) from inbound_update where status = 'failed' or error is not null"
    assert line_app.scalar(failed) == 0


def utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("kind", ["join", "memberJoined", "unsend", "videoPlayComplete"])
def test_events_the_bot_does_not_use_are_stored_and_ignored(line_app: LineApp, kind: str) -> None:
    app = line_app
    app.deliver(app.events._event(kind, MEI))
    app.settled()
    assert app.count("member") == 0 and app.fake.deliveries() == []
