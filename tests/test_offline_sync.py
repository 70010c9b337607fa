"""Offline visit capture, server side (staff/views/offline.py, docs/FIELDWORK.md): the pack,
the sync endpoint (saved, duplicate, refused), CSRF, audit, the service worker and logout.
The browser side: tests/browser/test_offline_capture.py."""

import json
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases import casework
from cases.casework_base import CaseworkError
from cases.models import AuditEvent, TrackingVisit
from staff.forms.casework import VisitForm
from staff.views import offline

from . import factories
from .test_views_auth import assert_csp_safe

pytestmark = pytest.mark.django_db

SYNC = reverse("staff:offline_sync")
PACK = reverse("staff:offline_pack")


def today():
    return timezone.localdate()


@pytest.fixture
def survey():
    """A certified person heading a household in 城关镇东关村."""
    return factories.certified_person(household=True)


@pytest.fixture
def staff_client(client, chengguan_user):
    client.force_login(chengguan_user)
    return client


def fields(**extra):
    values = {
        "visited_on": today().isoformat(),
        "kind": "tracking",
        "visitor_name": "李娟",
        "person": "",
        "food": "ok",
        "clothing": "ok",
        "education": "na",
        "medical": "problem",
        "housing": "ok",
        "water": "ok",
        "annual_income": "12000",
        "notes": "离线登记：患者腿部疼痛",
        "next_due": "",
    }
    values.update(extra)
    return values


def sync(client, household, key=None, **extra):
    body = {"key": str(key or uuid.uuid4()), "household": household.pk, "fields": fields(**extra)}
    return client.post(SYNC, data=json.dumps(body), content_type="application/json")


# --- syncing --------------------------------------------------------------------------------


def test_a_synced_visit_is_saved_with_its_key(staff_client, chengguan_user, survey):
    household = survey.household
    key = uuid.uuid4()
    response = sync(staff_client, household, key, person=str(survey.person.pk))
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["status"] == "saved"
    assert answer["errors"] == {}
    assert answer["visit_url"] == reverse("staff:household_detail", args=[household.pk])
    visit = TrackingVisit.objects.get(offline_key=key)
    assert visit.household == household and visit.person == survey.person
    assert visit.visitor == chengguan_user
    assert visit.medical == "problem" and visit.problems == ["基本医疗"]
    assert visit.notes == "离线登记：患者腿部疼痛"


def test_the_same_key_twice_writes_one_visit(staff_client, survey):
    key = uuid.uuid4()
    first = sync(staff_client, survey.household, key)
    second = sync(staff_client, survey.household, key, notes="第二次发送")
    assert first.json()["status"] == "saved"
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert TrackingVisit.objects.filter(offline_key=key).count() == 1
    assert TrackingVisit.objects.get(offline_key=key).notes == "离线登记：患者腿部疼痛"


def test_two_keys_are_two_visits(staff_client, survey):
    sync(staff_client, survey.household)
    sync(staff_client, survey.household)
    assert TrackingVisit.objects.filter(household=survey.household).count() == 2


def test_a_concurrent_sync_that_lost_the_race_returns_the_winners_visit(chengguan_user, survey):
    """Both requests passed the pre-check; the second insert hits the unique key."""
    key = uuid.uuid4()
    household = survey.household
    winner = casework.visit_record(chengguan_user, household, visited_on=today(), offline_key=key)
    real = casework._offline_visit
    calls = []

    def first_misses(user, household, offline_key):
        calls.append(offline_key)
        return None if len(calls) == 1 else real(user, household, offline_key)

    with mock.patch.object(casework, "_offline_visit", side_effect=first_misses):
        again = casework.visit_record(
            chengguan_user, household, visited_on=today(), offline_key=key, notes="又一次"
        )
    assert len(calls) == 2  # the pre-check, then the re-check after the refused insert
    assert again.pk == winner.pk
    assert TrackingVisit.objects.filter(offline_key=key).count() == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_syncs_of_one_visit_write_one_visit(postgres):
    """Two threads, each with its own connection, record the same offline key at once."""
    user = factories.user_with_role("township_staff", township="城关镇", username="racer")
    household = factories.certified_person(household=True).household
    key = uuid.uuid4()
    barrier = threading.Barrier(2)
    outcomes: list = []

    def submit():
        try:
            worker = type(user).objects.get(pk=user.pk)
            barrier.wait(timeout=10)
            outcomes.append(
                casework.visit_record(worker, household, visited_on=today(), offline_key=key)
            )
        except Exception as error:  # any outcome is checked below
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2 and all(isinstance(item, TrackingVisit) for item in outcomes), (
        outcomes
    )
    assert outcomes[0].pk == outcomes[1].pk
    assert TrackingVisit.objects.filter(offline_key=key).count() == 1


def test_a_key_of_another_workers_visit_is_refused(staff_client, survey):
    other = factories.user_with_role("township_staff", township="城关镇", username="colleague")
    key = uuid.uuid4()
    casework.visit_record(other, survey.household, visited_on=today(), offline_key=key)
    response = sync(staff_client, survey.household, key)
    assert response.status_code == 422
    answer = response.json()
    assert answer["status"] == "refused"
    assert "此离线记录标识已用于另一条走访记录" in answer["errors"]["__all__"][0]
    assert TrackingVisit.objects.filter(offline_key=key).count() == 1


def test_the_service_refuses_a_key_used_for_another_household(chengguan_user, survey):
    key = uuid.uuid4()
    casework.visit_record(chengguan_user, survey.household, visited_on=today(), offline_key=key)
    other = factories.certified_person(household=True).household
    with pytest.raises(CaseworkError, match="另一条走访记录"):
        casework.visit_record(chengguan_user, other, visited_on=today(), offline_key=key)


def test_a_household_outside_the_scope_is_refused_in_chinese(staff_client, survey):
    elsewhere = factories.certified_person(household=True, township="河口镇", village_name="东风村")
    key = uuid.uuid4()
    response = sync(staff_client, elsewhere.household, key)
    assert response.status_code == 422
    answer = response.json()
    assert answer["status"] == "refused"
    assert answer["errors"] == {"__all__": [offline.REFUSED_OUT_OF_SCOPE]}
    assert "visit_url" not in answer
    assert not TrackingVisit.objects.filter(offline_key=key).exists()
    event = AuditEvent.objects.filter(result=AuditEvent.Result.DENIED).latest("id")
    assert event.details["offline_key"] == str(key)
    assert event.details["household"] == elsewhere.household.pk


def test_a_household_that_moved_out_after_the_pack_is_refused(staff_client, survey):
    household = survey.household
    household.township = factories.township("河口镇")
    household.village = factories.village("河口镇", "东风村")
    household.save()
    response = sync(staff_client, household)
    assert response.json()["errors"]["__all__"] == [offline.REFUSED_OUT_OF_SCOPE]
    assert not TrackingVisit.objects.exists()


def test_validation_errors_come_back_per_field_in_chinese(staff_client, survey):
    response = sync(
        staff_client,
        survey.household,
        visited_on="",
        annual_income="一万",
        food="maybe",
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["visited_on"] == ["请填写走访日期"]
    assert errors["annual_income"] == ["家庭年纯收入（元）应为金额（数字，单位元）"]
    assert errors["food"] == ["不愁吃的选项无效，请重新选择"]
    assert not TrackingVisit.objects.exists()


def test_dates_are_checked_like_the_online_form(staff_client, survey):
    tomorrow = (today() + timedelta(days=1)).isoformat()
    response = sync(staff_client, survey.household, visited_on=tomorrow)
    assert response.json()["errors"]["visited_on"] == ["走访日期不能晚于今天"]
    response = sync(staff_client, survey.household, next_due=today().isoformat())
    assert response.json()["errors"]["next_due"] == ["下次访视日期应晚于本次走访日期"]


def test_a_person_outside_the_household_is_refused(staff_client, survey):
    stranger = factories.certified_person(household=True).person
    response = sync(staff_client, survey.household, person=str(stranger.pk))
    assert response.json()["errors"]["person"] == ["走访对象（残疾人）的选项无效，请重新选择"]


def test_a_malformed_body_is_refused(staff_client, survey):
    response = staff_client.post(SYNC, data="not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]["__all__"] == [offline.REFUSED_FORMAT]
    body = {"key": "not-a-uuid", "household": survey.household.pk, "fields": fields()}
    response = staff_client.post(SYNC, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert not TrackingVisit.objects.exists()


def test_an_ended_session_gets_401_json_not_a_login_page(client, survey):
    response = sync(client, survey.household)
    assert response.status_code == 401
    assert response.json() == {"status": "login", "message": offline.LOGIN_EXPIRED}
    assert client.get(reverse("staff:offline_csrf")).status_code == 401


def test_a_read_only_account_is_refused(client, viewer_user, survey):
    client.force_login(viewer_user)
    response = sync(client, survey.household)
    assert response.status_code == 403
    assert response.json()["errors"]["__all__"] == [offline.REFUSED_ROLE]
    assert not TrackingVisit.objects.exists()


def test_a_village_member_records_a_home_visit(client, village_user, survey):
    client.force_login(village_user)
    key = uuid.uuid4()
    response = sync(client, survey.household, key, kind="tracking")
    assert response.json()["status"] == "saved"
    assert TrackingVisit.objects.get(offline_key=key).kind == TrackingVisit.Kind.HOME


def test_the_sync_needs_a_csrf_token_and_the_csrf_endpoint_gives_one(chengguan_user, survey):
    client = Client(enforce_csrf_checks=True)
    client.force_login(chengguan_user)
    key = uuid.uuid4()
    refused = sync(client, survey.household, key)
    assert refused.status_code == 403
    assert not TrackingVisit.objects.exists()
    token = client.get(reverse("staff:offline_csrf")).json()["csrf_token"]
    body = {"key": str(key), "household": survey.household.pk, "fields": fields()}
    response = client.post(
        SYNC, data=json.dumps(body), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201
    assert TrackingVisit.objects.filter(offline_key=key).count() == 1


def test_every_sync_is_audited(staff_client, chengguan_user, survey):
    key = uuid.uuid4()
    before = AuditEvent.objects.count()
    sync(staff_client, survey.household, key)
    visit = TrackingVisit.objects.get(offline_key=key)
    created = AuditEvent.objects.filter(
        action=AuditEvent.Action.CREATE, target_model="cases.trackingvisit", target_id=str(visit.pk)
    )
    assert created.count() == 1
    assert created.get().actor == chengguan_user
    sync(staff_client, survey.household, key)
    duplicate = AuditEvent.objects.latest("id")
    assert duplicate.details == {"offline_key": str(key), "sync": "duplicate"}
    assert duplicate.target_id == str(visit.pk)
    sync(staff_client, survey.household, visited_on="")
    refused = AuditEvent.objects.latest("id")
    assert refused.result == AuditEvent.Result.DENIED
    assert refused.details["errors"] == {"visited_on": ["请填写走访日期"]}
    assert AuditEvent.objects.count() == before + 3


# --- the pack -------------------------------------------------------------------------------


def test_the_pack_has_masked_ids_members_and_the_form(staff_client, survey):
    household = survey.household
    spouse = factories.PersonFactory(township=survey.person.township, village=survey.person.village)
    factories.HouseholdMemberFactory(household=household, person=spouse, relation="配偶")
    response = staff_client.post(PACK, {"household": [household.pk]})
    assert response.status_code == 200
    text = response.content.decode()
    for number in (household.head_id_number, spouse.id_number):
        assert number not in text
    pack = response.json()
    assert pack["user"] == "chengguan"
    (row,) = pack["households"]
    assert row["id"] == household.pk
    assert row["head_name"] == household.head_name
    assert (
        row["head_id_number"]
        == household.head_id_number[:6] + "********" + household.head_id_number[-4:]
    )
    assert row["village"] == "东关村"
    assert {m["name"] for m in row["members"]} == {survey.person.name, spouse.name}
    assert all("*" in m["id_number"] for m in row["members"])
    by_name = {field["name"]: field for field in pack["form"]["fields"]}
    assert by_name["visited_on"]["kind"] == "date" and by_name["visited_on"]["required"]
    assert by_name["food"]["kind"] == "radio"
    assert by_name["food"]["group"] == "两不愁三保障及饮水安全"
    assert ["problem", "存在问题"] in by_name["food"]["choices"]
    assert by_name["annual_income"]["kind"] == "number"
    assert by_name["notes"]["kind"] == "textarea"
    assert by_name["notes"]["attrs"]["maxlength"] == "2000"
    assert pack["defaults"]["kind"] == "tracking"


def test_the_pack_follows_the_visit_form(staff_client, survey):
    """Every field of VisitForm is in the pack, in the form's order."""
    pack = staff_client.post(PACK, {"household": [survey.household.pk]}).json()
    assert [field["name"] for field in pack["form"]["fields"]] == list(VisitForm().fields)


def test_the_pack_is_audited_as_a_read(staff_client, chengguan_user, survey):
    staff_client.post(PACK, {"household": [survey.household.pk]})
    event = AuditEvent.objects.latest("id")
    assert event.action == AuditEvent.Action.VIEW
    assert (event.target_model, event.target_label) == ("cases.household", "离线包")
    assert event.actor == chengguan_user
    assert event.details == {"offline_pack": [survey.household.pk], "rows": 1}


def test_the_pack_refuses_a_household_outside_the_scope(staff_client, survey):
    elsewhere = factories.certified_person(household=True, township="河口镇", village_name="东风村")
    response = staff_client.post(PACK, {"household": [survey.household.pk, elsewhere.household.pk]})
    assert response.status_code == 400
    assert "不在您数据范围内" in response.json()["error"]
    assert elsewhere.household.head_name not in response.content.decode()
    assert AuditEvent.objects.latest("id").result == AuditEvent.Result.DENIED


def test_the_pack_holds_at_most_fifty_households(staff_client):
    ids = [str(n) for n in range(1, offline.OFFLINE_PACK_MAX + 2)]
    response = staff_client.post(PACK, {"household": ids})
    assert response.status_code == 400
    assert response.json()["error"] == "一次最多选择50户，您选择了51户"
    assert staff_client.post(PACK, {}).json()["error"] == "请至少选择一户"
    assert staff_client.post(PACK, {"household": ["x"]}).status_code == 400


def test_a_village_members_pack_has_no_visit_kind(client, village_user, survey):
    client.force_login(village_user)
    pack = client.post(PACK, {"household": [survey.household.pk]}).json()
    assert "kind" not in {field["name"] for field in pack["form"]["fields"]}
    assert "kind" not in pack["defaults"]


def test_a_read_only_account_gets_no_pack(client, viewer_user, survey):
    client.force_login(viewer_user)
    assert client.post(PACK, {"household": [survey.household.pk]}).status_code == 403


# --- pages, service worker, logout ------------------------------------------------------------


def test_the_picker_lists_households_of_the_scope_only(staff_client, survey):
    elsewhere = factories.certified_person(household=True, township="河口镇", village_name="东风村")
    response = staff_client.get(reverse("staff:offline_pick"))
    assert response.status_code == 200
    text = response.content.decode()
    assert survey.household.head_name in text
    assert elsewhere.household.head_name not in text
    assert survey.household.head_id_number not in text
    assert AuditEvent.objects.latest("id").target_label == "cases.household"


def test_the_offline_page_carries_no_personal_data(staff_client, survey):
    response = staff_client.get(reverse("staff:offline_visits"))
    assert response.status_code == 200
    assert_csp_safe(response)
    assert_csp_safe(staff_client.get(reverse("staff:offline_pick")))
    text = response.content.decode()
    assert "今日走访（离线包）" in text
    assert survey.household.head_name not in text
    assert 'data-testid="offline-banner"' in text


def test_the_offline_page_needs_a_login(client):
    response = client.get(reverse("staff:offline_visits"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_service_worker_is_served_at_the_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert b'"/visits/offline/"' in response.content


def test_pages_link_the_manifest_and_the_offline_script(staff_client):
    text = staff_client.get(reverse("home")).content.decode()
    assert 'rel="manifest"' in text
    assert 'data-user="chengguan"' in text
    path = finders.find("manifest.webmanifest")
    manifest = json.loads(Path(str(path)).read_text(encoding="utf-8"))
    assert manifest["start_url"] == reverse("staff:offline_visits")
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}


def test_logout_tells_the_browser_to_clear_the_site_data(staff_client):
    response = staff_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
