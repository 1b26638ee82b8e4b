from datetime import date

import pytest
from django.db import connection

from yanglao.core.errors import Conflict, InvalidInput, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.registry import services
from yanglao.registry.models import Elder
from yanglao.registry.tests.conftest import make_id


def test_a_community_worker_registers_an_elder_with_facts_from_the_id_number(cast):
    number = make_id("120101", date(1938, 2, 3), male=False)
    elder = services.elder_register(
        actor=cast.community_worker,
        name=" 王　秀英 ",
        id_number=number,
        residence_region="120101001001",
        phone="138 1234 5678",
        living_arrangement="独居",
        economic_status="低保",
    )
    assert elder.name == "王秀英"  # full-width space and stray spaces removed
    assert (elder.birth_date, elder.sex) == (date(1938, 2, 3), "female")
    assert (elder.living_arrangement, elder.economic_status) == ("alone", "subsistence")
    assert elder.phone == "13812345678"
    row = AuditLog.objects.get(action="elder.register", object_id=str(elder.pk))
    assert row.changes["after"]["id_number"].count("*") == 8


def test_a_legacy_fifteen_digit_number_is_converted(cast):
    elder = services.elder_register(
        actor=cast.community_worker, name="李四", id_number="120101400517001", residence_region="120101001001"
    )
    assert len(elder.id_number) == 18
    assert elder.id_number.startswith("12010119400517001")


def test_the_same_person_cannot_be_registered_twice_in_any_spelling(cast):
    number = make_id()
    services.elder_register(
        actor=cast.community_worker, name="李四", id_number=number, residence_region="120101001001"
    )
    with pytest.raises(Conflict) as caught:
        services.elder_register(
            actor=cast.city_admin, name="李四", id_number=number.lower(), residence_region="120102001001"
        )
    assert caught.value.field == "id_number"


def test_every_bad_field_is_named_at_once_and_nothing_is_written(cast):
    before = (Elder.objects.count(), AuditLog.objects.count())
    with pytest.raises(InvalidInput) as caught:
        services.elder_register(
            actor=cast.community_worker,
            name="",
            id_number="120101194005170010",
            residence_region="120101",
            phone="123",
            disability_grade="7",
            living_arrangement="住院",
        )
    fields = {d["field"] for d in caught.value.details}
    assert fields == {
        "name",
        "id_number",
        "residence_region",
        "phone",
        "disability_grade",
        "living_arrangement",
    }
    assert all(d["message"] for d in caught.value.details)
    assert (Elder.objects.count(), AuditLog.objects.count()) == before


def test_an_unknown_community_code_is_refused(cast):
    with pytest.raises(InvalidInput, match="不存在") as caught:
        services.elder_register(
            actor=cast.city_admin, name="李四", id_number=make_id(), residence_region="120101001999"
        )
    assert caught.value.field == "residence_region"


def test_a_community_worker_cannot_register_in_another_community(cast):
    from yanglao.core.testing import other_community

    with pytest.raises(PermissionDenied):
        services.elder_register(
            actor=cast.community_worker,
            name="李四",
            id_number=make_id("120102"),
            residence_region=other_community(),
        )


def test_roles_without_edit_permission_are_refused(cast):
    with pytest.raises(PermissionDenied):
        services.elder_register(
            actor=cast.operator, name="李四", id_number=make_id(), residence_region="120101001001"
        )


def test_no_plaintext_id_number_or_phone_is_in_the_database(cast, make_elder):
    elder = make_elder(phone="13912345678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registry_elder")
        rows = cursor.fetchall()
        cursor.execute("SELECT changes FROM core_auditlog")
        audit_rows = cursor.fetchall()
    dump = repr(rows) + repr(audit_rows)
    assert elder.id_number not in dump
    assert elder.id_number[6:14] + elder.id_number[14:] not in dump
    assert "13912345678" not in dump


def test_choices_accept_codes_and_labels_whatever_the_page_language(cast):
    from django.utils import translation

    from yanglao.registry import validation
    from yanglao.registry.enums import EventKind, LivingArrangement

    with translation.override("en"):
        assert validation.clean_choice("独居", LivingArrangement, "living_arrangement") == "alone"
    # full-width parentheses in a label match after normalisation
    assert validation.clean_choice("更正（撤销事件）", EventKind, "kind") == "correction"
    with pytest.raises(InvalidInput, match="可填：独居"):
        validation.clean_choice("住院", LivingArrangement, "living_arrangement")
