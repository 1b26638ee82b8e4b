"""The outbox in the admin: readable by operations, never editable, the recipient always masked."""

from yanglao.notifications.tests.conftest import MOBILE


def test_the_list_and_the_detail_show_the_recipient_masked(admin_client, enqueue):
    notification = enqueue(reference="alarm:55", subject="跌倒报警")

    listing = admin_client.get("/admin/notifications/notification/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "138****5678" in html
    assert MOBILE not in html
    assert "alarm:55" in html

    detail = admin_client.get(f"/admin/notifications/notification/{notification.pk}/change/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "138****5678" in html
    assert MOBILE not in html
    assert "跌倒报警" in html


def test_the_admin_can_search_by_reference_and_cannot_add_change_or_delete(admin_client, enqueue):
    notification = enqueue(reference="alarm:56")
    found = admin_client.get("/admin/notifications/notification/", {"q": "alarm:56"})
    assert found.status_code == 200
    assert "alarm:56" in found.content.decode()
    assert admin_client.get("/admin/notifications/notification/add/").status_code == 403
    deleted = admin_client.post(
        f"/admin/notifications/notification/{notification.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 403


def test_e_mail_addresses_and_push_tokens_are_masked_too(enqueue):
    email = enqueue(channel="email", to="zhang.family@example.org")
    push = enqueue(channel="push", to="device-token-abcdef")
    assert email.masked_recipient == "z***@example.org"
    assert push.masked_recipient == "devi****"
