"""Household income from its parts (cases/income.py): the function, the visit service, the
visit form, and V01 comparing the computed per-person income with the line."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import casework
from cases.casework_base import CaseworkError
from cases.income import PART_NAMES, IncomeError, has_parts, household_net_income
from cases.models import TrackingVisit
from monitoring.crosscheck import run_crosscheck
from monitoring.models import Finding
from staff.forms.casework import VisitForm
from subsidies.models import PolicyYear

from . import factories

D = Decimal


def parts(**values) -> dict:
    return {name: (D(str(values[name])) if name in values else None) for name in PART_NAMES}


# --- the function ---


def test_sum_with_signs_and_per_person_to_the_fen():
    given = parts(
        wage_income="12000",
        business_income="8000.50",
        business_costs="3000",
        property_income="500",
        transfer_income="1500.25",
        deductible_expenses="1000",
    )
    annual, per_capita = household_net_income(given, 3)
    assert annual == D("12000") + D("8000.50") - D("3000") + D("500") + D("1500.25") - D("1000")
    assert per_capita == D("6000.25")  # 18000.75 / 3


def test_blank_parts_count_as_zero_and_half_fen_rounds_up():
    annual, per_capita = household_net_income(parts(wage_income="0.01"), 2)
    assert (annual, per_capita) == (D("0.01"), D("0.01"))  # 0.005 → 0.01
    annual, per_capita = household_net_income(parts(wage_income="10"), 3)
    assert per_capita == D("3.33")


def test_a_loss_year_is_below_zero():
    annual, per_capita = household_net_income(
        parts(business_income="1000", business_costs="4000"), 2
    )
    assert (annual, per_capita) == (D("-3000.00"), D("-1500.00"))


@pytest.mark.parametrize("size", [None, 0, -1, 100, True, "3"])
def test_household_size_must_be_1_to_99(size):
    with pytest.raises(IncomeError) as error:
        household_net_income(parts(wage_income="100"), size)
    assert error.value.field == "household_size"


def test_negative_part_refused_on_its_field():
    with pytest.raises(IncomeError) as error:
        household_net_income(parts(transfer_income="-1"), 1)
    assert error.value.field == "transfer_income" and "转移性收入" in str(error.value)


def test_has_parts_counts_zero_as_given():
    assert not has_parts(parts())
    assert has_parts(parts(property_income="0"))


# --- the service ---


@pytest.fixture
def survey(db):
    return factories.certified_person(household=True)


def days(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)


def test_service_computes_from_parts_and_ignores_typed_totals(chengguan_user, survey):
    visit = casework.visit_record(
        chengguan_user,
        survey.household,
        visited_on=days(2),
        wage_income="9,000元",
        transfer_income="1200",
        deductible_expenses="600",
        household_size="4",
        annual_income="99999",
        income_per_capita="99999",
    )
    visit.refresh_from_db()
    assert visit.annual_income == D("9600.00")
    assert visit.income_per_capita == D("2400.00")
    assert visit.household_size == 4 and visit.wage_income == D("9000.00")


def test_service_keeps_typed_totals_without_parts(chengguan_user, survey):
    visit = casework.visit_record(
        chengguan_user,
        survey.household,
        visited_on=days(2),
        annual_income="18000",
        income_per_capita="6000",
    )
    visit.refresh_from_db()
    assert (visit.annual_income, visit.income_per_capita) == (D("18000.00"), D("6000.00"))


def test_service_refuses_parts_without_household_size_and_writes_nothing(chengguan_user, survey):
    before = TrackingVisit.objects.count()
    with pytest.raises(CaseworkError) as error:
        casework.visit_record(
            chengguan_user, survey.household, visited_on=days(2), wage_income="5000"
        )
    assert error.value.field == "household_size"
    assert "家庭人口数" in str(error.value)
    assert TrackingVisit.objects.count() == before


def test_update_recomputes_from_stored_and_new_parts(chengguan_user, survey):
    visit = casework.visit_record(
        chengguan_user,
        survey.household,
        visited_on=days(2),
        wage_income="6000",
        household_size=2,
    )
    casework.visit_update(chengguan_user, visit, property_income="2000", reason="补录")
    visit.refresh_from_db()
    assert (visit.annual_income, visit.income_per_capita) == (D("8000.00"), D("4000.00"))
    casework.visit_update(chengguan_user, visit, household_size=4, reason="人口更正")
    visit.refresh_from_db()
    assert visit.income_per_capita == D("2000.00")


# --- the form ---


def form_data(**overrides) -> dict:
    data = {
        "visited_on": days(1).isoformat(),
        "kind": "tracking",
        "visitor_name": "李娟",
        "housing": "ok",
        "water": "ok",
    }
    data.update(overrides)
    return data


def test_form_has_the_model_field_names_and_marks_for_the_script():
    form = VisitForm(members=())
    for name in (*PART_NAMES, "household_size"):
        assert name in form.fields
        assert hasattr(TrackingVisit, name)
    html = str(form["wage_income"])
    assert 'data-income-part="1"' in html
    assert 'data-income-part="-1"' in str(form["business_costs"])
    assert "data-income-total" in str(form["income_per_capita"])


def test_form_asks_for_household_size_when_parts_given():
    form = VisitForm(form_data(wage_income="100"), members=())
    assert not form.is_valid()
    assert "household_size" in form.errors


def test_form_ignores_typed_totals_when_parts_given():
    form = VisitForm(
        form_data(wage_income="100", household_size="1", income_per_capita="-5"), members=()
    )
    assert form.is_valid(), form.errors
    kwargs = form.service_kwargs()
    assert kwargs["income_per_capita"] is None and kwargs["wage_income"] == D("100")
    assert kwargs["household_size"] == 1


def test_visit_page_stores_the_computed_income(client, hekou_user, home):
    client.force_login(hekou_user)
    page = client.get(reverse("staff:visit_create", args=[home.household.pk]))
    assert "js/visit_income.js" in page.content.decode()
    response = client.post(
        reverse("staff:visit_create", args=[home.household.pk]),
        form_data(
            wage_income="7000",
            business_income="3000",
            business_costs="1000",
            household_size="3",
            annual_income="1",
            income_per_capita="1",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    visit = TrackingVisit.objects.filter(household=home.household).latest("id")
    assert (visit.annual_income, visit.income_per_capita) == (D("9000.00"), D("3000.00"))


# --- V01 on the computed income ---


@pytest.mark.django_db
def test_v01_compares_the_computed_per_person_income(chengguan_user):
    record = factories.certified_person(township="城关镇", household=True)
    visited = days(5)
    PolicyYear.objects.filter(year=visited.year).update(monitoring_line=D("7000"))
    # Typed totals say 9,000 per person; the parts say 6,500: the parts win.
    casework.visit_record(
        chengguan_user,
        record.household,
        visited_on=visited,
        wage_income="10000",
        transfer_income="3000",
        household_size=2,
        annual_income="18000",
        income_per_capita="9000",
    )
    run_crosscheck(timezone.localdate())
    finding = Finding.objects.get(rule="V01", person=record.person, status=Finding.Status.OPEN)
    assert "家庭年人均纯收入6,500元" in finding.reason
