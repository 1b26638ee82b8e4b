"""The orders API end to end: an operator takes an order, the provider accepts and assigns, the worker
checks in and out and confirms with the code; every answer scoped and every error named."""

from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.tests.conftest import HOME, window

API = "/api/v1/orders"


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def test_an_order_through_the_api(cast, client, elder, provider, worker):
    start, end = window()
    client.force_login(cast.operator)
    created = post(
        client,
        API,
        {
            "elder_id": elder.pk,
            "item": "bathing",
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (
        body["status"] == S.DISPATCHED
        and body["provider_id"] == provider.pk
        and len(body["confirm_code"]) == 6
    )
    order_id, code = body["id"], body["confirm_code"]

    client.force_login(cast.provider_admin)
    assert client.get(API + "/queue").json()["to_accept"][0]["order"] == order_id
    assert post(client, f"{API}/{order_id}/accept").json()["status"] == S.ACCEPTED
    assert post(client, f"{API}/{order_id}/assign", {"worker_id": worker.pk}).json()["status"] == S.ASSIGNED

    client.force_login(cast.care_worker)
    today = client.get("/api/v1/visits/today").json()
    assert [o["id"] for o in today["visits"]] == [order_id]
    assert "confirm_code" not in today["visits"][0]
    position = {"latitude": HOME[0], "longitude": HOME[1]}
    assert post(client, f"{API}/{order_id}/check-in", position).json()["status"] == S.CHECKED_IN
    out = post(client, f"{API}/{order_id}/check-out", {**position, "items_done": ["洗浴", "更衣"]})
    assert out.json()["status"] == S.CHECKED_OUT
    wrong = post(client, f"{API}/{order_id}/confirm", {"code": "x"})
    assert wrong.status_code == 400 and wrong.json()["details"][0]["field"] == "code"
    done = post(client, f"{API}/{order_id}/confirm", {"code": code}).json()
    assert done["status"] == S.CONFIRMED and done["visit"]["self_paid"] == "85.00"
    assert [e["action"] for e in done["events"]] == [
        "create",
        "dispatch",
        "accept",
        "assign",
        "check_in",
        "check_out",
        "confirm",
    ]


def test_lists_are_scoped_and_filters_checked(cast, client, order_at):
    order = order_at(S.DISPATCHED)
    client.force_login(cast.district_staff)
    assert [o["id"] for o in client.get(API, {"status": "dispatched"}).json()["items"]] == [order.pk]
    assert client.get(API, {"status": "flying"}).status_code == 400
    client.force_login(cast.other_district_staff)
    assert client.get(API).json()["count"] == 0
    assert client.get(f"{API}/{order.pk}").status_code == 404
    client.force_login(cast.other_provider_admin)
    assert client.get(f"{API}/{order.pk}").status_code == 404
    client.force_login(cast.elder)
    assert client.get(API).json()["count"] == 0


def test_an_illegal_step_is_409_and_a_malformed_body_422(cast, client, order_at):
    order = order_at(S.DISPATCHED)
    client.force_login(cast.district_staff)
    refused = post(client, f"{API}/{order.pk}/rate", {"score": 5})
    assert refused.status_code == 409 and "不能评价" in refused.json()["message"]
    malformed = post(client, API, {"elder_id": "abc"})
    assert malformed.status_code == 422 and "elder_id" in malformed.json()["message"]


def test_the_board_queue_and_day_are_for_their_own_roles(cast, client):
    for who, url in [
        ("operator", "/api/v1/orders/board"),
        ("district_staff", "/api/v1/orders/queue"),
        ("district_staff", "/api/v1/visits/today"),
    ]:
        client.force_login(cast.users[who])
        assert client.get(url).status_code == 403, (who, url)
