"""The person page's 康复 section and its forms: needs (the survey's until staff record their
own), services (village members record them in their village), family-doctor contracts."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import casework
from cases.casework_base import CaseworkError, TransitionError
from cases.models import ChangeRecord, FamilyDoctorContract, RehabNeed, RehabService
from staff.selectors.person_work import rehab_kind_for

from . import factories
from .staff_app_data import household_with_everything

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate

ROUTES = (
    "staff:rehab_need_create",
    "staff:rehab_need_close",
    "staff:family_doctor_create",
    "staff:family_doctor_end",
)


def url(name, person, query=""):
    return reverse(name, args=[person.pk]) + query


def days_ago(n: int) -> str:
    return (TODAY() - timedelta(days=n)).isoformat()


def history(obj, action="create"):
    return ChangeRecord.objects.filter(
        model=obj._meta.label_lower, object_id=str(obj.pk), action=action
    )


def page(client, person) -> str:
    response = client.get(reverse("staff:person_detail", args=[person.pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str) -> str:
    start = html.index('data-testid="rehab"')
    return html[start : html.index("</section>", start)]


@pytest.fixture
def home():
    """河口镇东风村: the survey lists 康复训练; a service 康复训练 by 镇卫生院 is recorded."""
    return household_with_everything()


@pytest.fixture
def dongguan_person():
    """A person in the village member's own village (城关镇东关村) with survey needs."""
    return factories.certified_person(
        township="城关镇",
        village_name="东关村",
        name="东关人",
        rehab_needs=["辅助器具适配", "白内障复明手术"],
        surveyed_on=date(2026, 4, 2),
    ).person


def test_survey_need_words_map_to_kinds():
    assert rehab_kind_for("辅助器具适配") == "device"
    assert rehab_kind_for("白内障复明手术") == "medical"
    assert rehab_kind_for("言语训练") == "training"
    assert rehab_kind_for("托养照护") == "support"
    assert rehab_kind_for("心理疏导") == "other"


def test_survey_needs_shown_and_prefilled_until_staff_record_needs(client, hekou_user, home):
    client.force_login(hekou_user)
    html = section(page(client, home.head))
    assert 'data-testid="survey-needs"' in html and "调查登记的需求（2026-03-01调查）" in html
    assert "康复训练" in html and 'data-testid="confirm-survey-need"' in html
    # Services with date and provider, and the link to the existing service form.
    assert 'data-testid="rehab-services"' in html and "镇卫生院" in html
    assert url("staff:rehab_service_create", home.head) in html

    target = url("staff:rehab_need_create", home.head)
    form = client.get(target + "?survey=0").content.decode()
    assert '<option value="training" selected>' in form
    assert 'value="康复训练"' in form and 'value="2026-03-01"' in form
    assert "已按调查登记的需求“康复训练”预填" in form
    # An index the survey does not have pre-fills nothing.
    unknown = client.get(target + "?survey=9").content.decode()
    assert '<option value="" selected>请选择</option>' in unknown and "已按调查" not in unknown

    response = client.post(
        target, {"kind": "training", "detail": "康复训练", "identified_on": "2026-03-01"}
    )
    assert response.status_code == 302
    need = RehabNeed.objects.get(person=home.head)
    assert history(need).filter(actor=hekou_user).exists()
    html = section(page(client, home.head))
    assert 'data-testid="survey-needs"' not in html
    assert 'data-testid="rehab-needs"' in html and "未关闭" in html
    assert 'data-testid="close-rehab-need"' in html


def test_need_bad_input_and_close(client, hekou_user, home):
    client.force_login(hekou_user)
    target = url("staff:rehab_need_create", home.head)
    response = client.post(
        target, {"kind": "", "identified_on": (TODAY() + timedelta(days=1)).isoformat()}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "请选择需求类型" in html and "发现日期不能晚于今天" in html
    assert not RehabNeed.objects.exists()
    # Nothing open: the close page goes back to the person.
    assert client.get(url("staff:rehab_need_close", home.head)).status_code == 302

    client.post(target, {"kind": "device", "detail": "轮椅", "identified_on": days_ago(10)})
    need = RehabNeed.objects.get()
    close = url("staff:rehab_need_close", home.head)
    assert "辅助器具 轮椅" in client.get(close).content.decode()
    response = client.post(close, {"record": need.pk, "closed_on": days_ago(11), "reason": "x"})
    assert response.status_code == 400
    assert "关闭日期不能早于发现日期" in response.content.decode()
    response = client.post(close, {"record": "999999", "closed_on": days_ago(1), "reason": "x"})
    assert response.status_code == 400 and "康复需求的选项无效" in response.content.decode()
    need.refresh_from_db()
    assert need.closed_on is None

    response = client.post(close, {"record": need.pk, "closed_on": days_ago(1), "reason": "已迁出"})
    assert response.status_code == 302
    need.refresh_from_db()
    assert (need.closed_on, need.close_reason) == (TODAY() - timedelta(days=1), "已迁出")
    assert history(need, "update").filter(reason="已迁出").exists()
    assert "关闭：已迁出" in section(page(client, home.head))


def test_family_doctor_sign_and_end(client, hekou_user, home):
    client.force_login(hekou_user)
    target = url("staff:family_doctor_create", home.head)
    assert 'data-testid="add-family-doctor"' in page(client, home.head)
    response = client.post(
        target,
        {
            "institution": "",
            "doctor": "李医生",
            "signed_on": days_ago(10),
            "expires_on": days_ago(20),
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "请填写签约机构" in html and "到期日期应晚于签约日期" in html
    assert not FamilyDoctorContract.objects.exists()

    data = {"institution": "河口镇卫生院", "doctor": "全科一组", "signed_on": days_ago(100)}
    assert client.post(target, data).status_code == 302
    contract = FamilyDoctorContract.objects.get()
    assert history(contract).exists()
    html = section(page(client, home.head))
    assert "河口镇卫生院" in html and "有效" in html and "未定" in html
    assert 'data-testid="add-family-doctor"' not in html
    assert 'data-testid="end-family-doctor"' in html

    # A second contract while one is valid is refused by the service, on its field.
    response = client.post(target, {**data, "signed_on": days_ago(5)})
    assert response.status_code == 400
    assert "已有有效的家庭医生签约（河口镇卫生院" in response.content.decode()
    assert FamilyDoctorContract.objects.count() == 1

    end = url("staff:family_doctor_end", home.head)
    response = client.post(end, {"record": contract.pk, "ended_on": days_ago(100), "reason": "x"})
    assert response.status_code == 400
    assert "终止日期应晚于签约日期" in response.content.decode()
    response = client.post(end, {"record": contract.pk, "ended_on": days_ago(-1), "reason": "x"})
    assert response.status_code == 400 and "终止日期不能晚于今天" in response.content.decode()
    response = client.post(end, {"record": contract.pk, "ended_on": days_ago(1), "reason": "迁居"})
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.expires_on == TODAY() - timedelta(days=1)
    assert history(contract, "update").filter(reason="迁居").exists()
    html = section(page(client, home.head))
    assert 'data-testid="add-family-doctor"' in html  # may sign again
    assert client.post(target, {**data, "signed_on": TODAY().isoformat()}).status_code == 302


def test_family_doctor_end_service_refuses_an_expired_contract(hekou_user, home):
    contract = casework.family_doctor_sign(
        hekou_user,
        home.head,
        institution="卫生院",
        doctor="李",
        signed_on=TODAY() - timedelta(days=400),
        expires_on=TODAY() - timedelta(days=35),
    )
    with pytest.raises(TransitionError, match=r"已于.*到期"):
        casework.family_doctor_end(hekou_user, contract, ended_on=TODAY(), reason="x")
    with pytest.raises(CaseworkError, match="终止原因不能为空"):
        casework.family_doctor_end(hekou_user, contract, ended_on=TODAY(), reason="")


def test_village_member_records_services_only(client, village_user, dongguan_person, home):
    client.force_login(village_user)
    html = section(page(client, dongguan_person))
    assert "调查登记的需求（2026-04-02调查）" in html and "辅助器具适配" in html
    assert 'data-testid="add-rehab-service"' in html
    for testid in ("confirm-survey-need", "add-rehab-need", "add-family-doctor"):
        assert f'data-testid="{testid}"' not in html
    response = client.post(
        url("staff:rehab_service_create", dongguan_person),
        {"service_type": "辅助器具适配", "provider": "县康复中心", "served_on": days_ago(2)},
    )
    assert response.status_code == 302
    service = RehabService.objects.get(person=dongguan_person)
    assert service.recorded_by == village_user and history(service).exists()
    html = section(page(client, dongguan_person))
    assert "县康复中心" in html and days_ago(2) in html
    for name in ROUTES:
        assert client.get(url(name, dongguan_person)).status_code == 403
        assert client.post(url(name, dongguan_person), {"kind": "device"}).status_code == 403
    # Another village's person: 404, for the service form too.
    assert client.get(url("staff:rehab_service_create", home.head)).status_code == 404


def test_another_township_404_and_viewer_403(client, chengguan_user, viewer_user, home):
    writes = ChangeRecord.objects.count()
    client.force_login(chengguan_user)
    for name in ROUTES:
        assert client.get(url(name, home.head)).status_code == 404
        assert client.post(url(name, home.head), {"kind": "device"}).status_code == 404
    client.force_login(viewer_user)
    html = section(page(client, home.head))
    assert "康复训练" in html and 'class="button' not in html
    for name in (*ROUTES, "staff:rehab_service_create"):
        assert client.get(url(name, home.head)).status_code == 403
        assert client.post(url(name, home.head), {"kind": "device"}).status_code == 403
    assert ChangeRecord.objects.count() == writes
