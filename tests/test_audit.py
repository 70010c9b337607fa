"""The audit trail (docs/SECURITY.md): events, masking, append-only layers, retention and prune."""

import logging

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from cases import audit as audit_api
from cases.history import diff, record_change
from cases.masking import MaskingFilter, mask_data, mask_text
from cases.models import AuditEvent, AuditImmutable

from . import factories
from .audit_chain_support import backdated

ID = "341522199001011237"  # a syntactically valid-looking 18-character number
PHONE = "13912345678"


def request_for(user, path="/persons/", method="get", ip="10.1.2.3", **params):
    request = getattr(RequestFactory(), method)(path, params, REMOTE_ADDR=ip)
    request.user = user
    return request


# --- masking -------------------------------------------------------------------------------


def test_mask_text_masks_ids_certificates_and_phones_inside_text():
    text = f"身份证{ID}，证号{ID}42B1，电话{PHONE}，旧证341522900101123"
    masked = mask_text(text)
    assert ID not in masked and PHONE not in masked and "341522900101123" not in masked
    assert "341522********1237" in masked
    assert "139****5678" in masked
    # A certificate keeps its ID prefix and the last four characters only.
    assert f"{ID}42" not in masked


def test_mask_data_by_field_name_and_nested():
    data = {
        "changes": {"id_number": ["", ID], "phone": [PHONE, "13800001111"], "name": ["甲", "乙"]},
        "filters": {"q": ID},
        "rows": [f"x{ID}"],
        "number": f"{ID}42",
    }
    masked = mask_data(data)
    assert masked["changes"]["id_number"] == ["", "341522********1237"]
    assert masked["changes"]["phone"] == ["139****5678", "138****1111"]
    assert masked["changes"]["name"] == ["甲", "乙"]
    assert masked["filters"]["q"] == "341522********1237"
    assert ID not in str(masked)


def test_logging_filter_masks_messages(caplog):
    logger = logging.getLogger("huoqiu.test.masking")
    logger.addFilter(MaskingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="huoqiu.test.masking"):
            logger.info("row for %s phone %s failed", ID, PHONE)
    finally:
        logger.filters.clear()
    assert "341522********1237" in caplog.text and "139****5678" in caplog.text
    assert ID not in caplog.text and PHONE not in caplog.text


# --- recording -----------------------------------------------------------------------------


def test_audit_records_who_when_where_what_result(db, hekou_user):
    person = factories.PersonFactory(id_number=ID, name="张三", phone=PHONE)
    before = timezone.now()
    event = audit_api.audit(
        request_for(hekou_user, path=f"/persons/{person.pk}/"),
        "view",
        target=person,
        details={"phone": PHONE},
    )
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor == hekou_user and event.username == "hekou"
    assert event.ip_address == "10.1.2.3"
    # The database's time: PostgreSQL's now() (the transaction's start), SQLite's clock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT now()")
            assert event.created_at == cursor.fetchone()[0]
    else:
        assert before <= event.created_at <= timezone.now()
    assert event.action == "view" and event.result == "ok"
    assert event.target_model == "cases.person" and event.target_id == str(person.pk)
    assert event.target_label == "张三（341522********1237）"
    assert event.details == {"phone": "139****5678"}
    assert event.path == f"/persons/{person.pk}/" and event.method == "GET"


def test_audit_list_distinguishes_search_and_counts_rows(db, hekou_user):
    listed = audit_api.audit_list(
        request_for(hekou_user, page="2"), "cases.person", {"page": "2"}, 50
    )
    searched = audit_api.audit_list(
        request_for(hekou_user, q=ID), "cases.person", request_for(hekou_user, q=ID).GET, 1
    )
    assert listed.action == "list" and listed.details == {"filters": {"page": "2"}, "rows": 50}
    assert searched.action == "search"
    assert searched.details["filters"] == {"q": "341522********1237"}
    assert searched.details["rows"] == 1


def test_audit_export_records_format_filters_and_count(db, admin_user):
    event = audit_api.audit_export(
        request_for(admin_user), "monitoring.finding", {"status": "open"}, 1234, fmt="xlsx"
    )
    assert event.action == "export"
    assert event.details == {"filters": {"status": "open"}, "rows": 1234, "format": "xlsx"}


def test_audit_without_request_uses_the_user_or_the_system(db, admin_user):
    by_user = audit_api.audit(
        admin_user, "crosscheck", target=("monitoring.crosscheckrun", 7, "比对#7")
    )
    by_system = audit_api.audit(None, "import")
    assert by_user.username == "admin" and by_user.ip_address is None
    assert by_user.target_id == "7" and by_user.target_label == "比对#7"
    assert by_system.actor is None and by_system.username == ""


def test_audit_many_inserts_in_bulk(db, hekou_user, django_assert_max_num_queries):
    events = [
        audit_api.build_event(hekou_user, "view", target=("cases.person", n, f"p{n}"))
        for n in range(30)
    ]
    with django_assert_max_num_queries(2):
        assert audit_api.audit_many(events) == 30
    assert AuditEvent.objects.filter(action="view").count() == 30


def test_record_change_in_a_request_is_audited_once_with_masked_diff(db, hekou_user):
    person = factories.PersonFactory(phone=PHONE)
    changes = diff({"phone": PHONE, "name": person.name}, {"phone": "13800001111", "name": "李四"})

    def view(request):
        record_change(person, "update", changes, actor=request.user, reason="电话变更")
        audit_api.audit_changes(request, person, changes)  # the view also audits: no duplicate
        return HttpResponse("ok")

    middleware = audit_api.AuditMiddleware(view)
    response = middleware(request_for(hekou_user, path="/x/", method="post"))
    assert response.status_code == 200
    events = list(AuditEvent.objects.all())
    assert len(events) == 1
    event = events[0]
    assert event.action == "update" and event.target_id == str(person.pk)
    assert event.details["changes"] == {
        "phone": ["139****5678", "138****1111"],
        "name": [person.name, "李四"],
    }
    assert event.details["reason"] == "电话变更"
    assert event.username == "hekou"


def test_record_change_outside_a_request_is_not_audited_per_row(db):
    person = factories.PersonFactory()
    record_change(person, "update", {"name": ["a", "b"]})
    assert not AuditEvent.objects.exists()


# --- the middleware -----------------------------------------------------------------------


def test_every_page_is_audited_even_without_an_explicit_event(client, db, hekou_user):
    person = factories.PersonFactory(township=factories.township("城关镇"))  # out of scope
    client.force_login(hekou_user)
    AuditEvent.objects.all()  # login event already written by force_login
    start = AuditEvent.objects.count()
    client.get(reverse("staff:person_detail", args=[person.pk]), REMOTE_ADDR="10.9.8.7")
    events = list(AuditEvent.objects.order_by("id")[start:])
    assert len(events) == 1
    event = events[0]
    assert event.username == "hekou" and event.ip_address == "10.9.8.7"
    assert event.result == "denied" and event.details["status"] == 404
    assert event.path == reverse("staff:person_detail", args=[person.pk])


def test_a_write_nobody_audited_is_recorded_with_its_form(db, hekou_user):
    def view(request):
        return HttpResponse("saved", status=302)

    request = RequestFactory().post(
        "/somewhere/",
        {"note": f"电话{PHONE}", "new_password1": "secret-value-123", "csrfmiddlewaretoken": "t"},
        REMOTE_ADDR="10.3.3.3",
    )
    request.user = hekou_user
    audit_api.AuditMiddleware(view)(request)
    event = AuditEvent.objects.get()
    assert event.action == "update" and event.result == "ok" and event.method == "POST"
    assert event.details["form"] == {"note": "电话139****5678"}
    assert "secret-value" not in str(event.details)


def test_finding_decisions_are_audited_field_by_field(db, hekou_user):
    from monitoring.findings import finding_dismiss

    finding = factories.FindingFactory(
        person=factories.PersonFactory(township=factories.township("河口镇"))
    )
    finding_dismiss(finding, hekou_user, "已核实，不符合条件")
    event = AuditEvent.objects.get(action="update")
    assert event.target_model == "monitoring.finding" and event.target_id == str(finding.pk)
    assert event.details == {
        "changes": {"status": ["open", "dismissed"]},
        "dismiss_reason": "已核实，不符合条件",
    }
    assert event.username == "hekou"


def test_anonymous_and_static_requests_are_not_audited(client, db):
    client.get(reverse("login"))
    client.get("/static/css/app.css")
    assert not AuditEvent.objects.exists()


# --- append-only ---------------------------------------------------------------------------


@pytest.fixture
def event(db, hekou_user):
    return audit_api.audit(hekou_user, "view", target=("cases.person", 1, "甲"))


def test_saving_an_existing_event_is_refused(event):
    event.result = "denied"
    with pytest.raises(AuditImmutable):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).result == "ok"


def test_queryset_update_and_delete_are_refused(event):
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(result="denied")
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditImmutable):
        event.delete()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.bulk_update([event], ["result"])
    assert AuditEvent.objects.filter(pk=event.pk, result="ok").exists()


@pytest.mark.services
def test_database_trigger_refuses_update_and_delete(postgres, event):
    table = AuditEvent._meta.db_table
    for sql in (
        f"UPDATE {table} SET result = 'denied' WHERE id = %s",  # noqa: S608
        f"DELETE FROM {table} WHERE id = %s",  # noqa: S608
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    # Even with the prune flag a recent row cannot be deleted.
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL huoqiu.audit_prune = 'on'")
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [event.pk])  # noqa: S608
    assert AuditEvent.objects.filter(pk=event.pk, result="ok").exists()


# --- retention -----------------------------------------------------------------------------


@pytest.fixture
def aged(monkeypatch):
    """`aged(days, label)`: a chained event written `days` ago (the time trigger off)."""

    def make(days: int, label: str) -> AuditEvent:
        with backdated(days, monkeypatch):
            return AuditEvent.objects.create(action="view", target_label=label)

    return make


def test_prune_deletes_only_rows_older_than_the_retention(db, settings, aged):
    settings.AUDIT_RETENTION_DAYS = 200
    old, middle, recent = aged(400, "old"), aged(190, "middle"), aged(1, "recent")
    assert audit_api.prune_audit() == 1
    remaining = set(AuditEvent.objects.values_list("target_label", flat=True))
    assert "old" not in remaining and {"middle", "recent"} <= remaining
    # The prune is itself recorded.
    assert AuditEvent.objects.filter(action="delete", details__deleted=1).exists()
    assert old.pk not in AuditEvent.objects.values_list("pk", flat=True)
    assert {middle.pk, recent.pk} <= set(AuditEvent.objects.values_list("pk", flat=True))


def test_prune_never_goes_below_six_months(db, aged):
    aged(100, "hundred-days")
    assert audit_api.prune_audit(days=30) == 0
    assert AuditEvent.objects.filter(target_label="hundred-days").exists()


def test_prune_audit_command(db, capsys, aged):
    aged(500, "ancient")
    call_command("prune_audit", "--dry-run")
    assert "1" in capsys.readouterr().out
    assert AuditEvent.objects.filter(target_label="ancient").exists()
    call_command("prune_audit")
    assert "1" in capsys.readouterr().out
    assert not AuditEvent.objects.filter(target_label="ancient").exists()


@pytest.mark.services
def test_prune_works_through_the_trigger_on_postgresql(postgres, db, aged):
    aged(300, "old")
    aged(10, "young")
    assert audit_api.prune_audit(days=183) == 1
    assert list(
        AuditEvent.objects.filter(action="view").values_list("target_label", flat=True)
    ) == ["young"]
