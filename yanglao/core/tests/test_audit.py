import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from yanglao.core import audit
from yanglao.core.middleware import RequestContextMiddleware
from yanglao.core.models import AuditLog


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        audit.record("system", "test.action")


def test_personal_values_are_masked_and_secrets_dropped(cast):
    with transaction.atomic():
        row = audit.record(
            cast.city_admin,
            "user.update",
            cast.community_worker,
            before={"phone": "13812345678", "password": "x"},
            after={"phone": "13987654321", "id_number": "11010519491231002X", "role": "community_worker"},
        )
    row.refresh_from_db()
    assert row.changes["before"] == {"phone": "138****5678", "password": "***"}
    assert row.changes["after"]["id_number"] == "110105********002X"
    assert row.changes["after"]["role"] == "community_worker"
    assert row.actor == cast.city_admin
    assert row.object_type == "accounts.user"
    assert row.object_id == str(cast.community_worker.pk)


def test_an_audit_row_rolls_back_with_the_change_it_describes(cast):
    before = AuditLog.objects.count()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit.record(cast.city_admin, "test.fails", cast.city_admin)
        1 / 0  # noqa: B018
    assert AuditLog.objects.count() == before


def test_the_client_ip_of_the_request_is_kept(cast):
    def view(request):
        with transaction.atomic():
            audit.record(request.user, "test.view", cast.city_admin)
        return HttpResponse("ok")

    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3")
    request.user = cast.city_admin
    RequestContextMiddleware(view)(request)
    assert AuditLog.objects.get(action="test.view").ip == "10.1.2.3"
