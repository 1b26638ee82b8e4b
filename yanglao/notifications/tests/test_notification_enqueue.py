"""notification_enqueue: checks its input naming the field, stores the recipient encrypted, and a
notification exists (and an urgent one is sent) only when the caller's transaction commits."""

import pytest
from django.db import connection, transaction

from yanglao.core.errors import InvalidInput
from yanglao.core.fields import lookup_value
from yanglao.notifications.enums import Status
from yanglao.notifications.models import Notification
from yanglao.notifications.tests.conftest import MOBILE


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"to": ""}, "to"),
        ({"to": "   "}, "to"),
        ({"to": "12345"}, "to"),
        ({"channel": "voice", "to": "138123"}, "to"),
        ({"to": "022-23456789"}, "to"),  # a landline cannot take an SMS
        ({"channel": "email", "to": "not-an-address"}, "to"),
        ({"channel": "push", "to": "x" * 501}, "to"),
        ({"body": ""}, "body"),
        ({"body": "  \n "}, "body"),
        ({"body": "长" * 1001}, "body"),
        ({"subject": "标" * 121}, "subject"),
        ({"reference": "r" * 121}, "reference"),
        ({"priority": "high"}, "priority"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(enqueue, overrides, field):
    with pytest.raises(InvalidInput) as refused:
        enqueue(**overrides)
    assert refused.value.field == field
    assert refused.value.message
    assert not Notification.objects.exists()


def test_a_phone_number_is_stored_normalised_and_a_voice_call_may_go_to_a_landline(enqueue):
    sms = enqueue(to="+86 138-1234-5678")
    call = enqueue(channel="voice", to="(022) 2345-6789")
    assert Notification.objects.get(pk=sms.pk).recipient == MOBILE
    assert Notification.objects.get(pk=call.pk).recipient == "02223456789"


def test_a_body_of_exactly_1000_characters_and_other_channels_are_accepted(enqueue):
    enqueue(body="长" * 1000)
    enqueue(channel="email", to="family@example.org", subject="提醒")
    enqueue(channel="push", to="device-token-abcdef")
    assert Notification.objects.filter(status=Status.PENDING).count() == 3


def test_the_recipient_is_stored_encrypted_and_found_by_its_keyed_hash(enqueue):
    notification = enqueue()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT recipient, recipient_hash FROM notifications_notification WHERE id = %s",
            [notification.pk],
        )
        stored, digest = cursor.fetchone()
    assert stored != MOBILE
    assert MOBILE not in stored
    assert stored.startswith("v1:")
    assert Notification.objects.get(pk=notification.pk).recipient == MOBILE
    assert digest == lookup_value(Notification, "recipient", MOBILE)
    assert notification.masked_recipient == "138****5678"


def test_a_notification_queued_in_a_transaction_that_rolls_back_does_not_exist(
    enqueue, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        enqueue(priority="urgent", reference="alarm:1")
        enqueue(reference="alarm:1")
        raise RuntimeError("the caller's change failed")
    assert not Notification.objects.exists()
    assert callbacks == []  # and no delivery is triggered for it


def test_a_normal_notification_waits_for_the_periodic_run(enqueue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = enqueue()
    assert callbacks == []
    notification.refresh_from_db()
    assert notification.status == Status.PENDING


@pytest.mark.django_db(transaction=True)
def test_an_urgent_notification_is_sent_as_soon_as_the_callers_transaction_commits(enqueue):
    with transaction.atomic():
        urgent = enqueue(priority="urgent", reference="alarm:7")
        routine = enqueue(reference="visit:3")
        # Not before the commit: the caller's change could still roll back.
        assert Notification.objects.get(pk=urgent.pk).status == Status.PENDING
    urgent.refresh_from_db()
    routine.refresh_from_db()
    assert urgent.status == Status.SENT
    assert urgent.gateway == "log"
    assert urgent.gateway_reference.startswith("log-")
    # The urgent run sends urgent messages only; the routine one waits for the periodic run.
    assert routine.status == Status.PENDING
