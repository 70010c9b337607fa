"""The person page: the person with survey, roster and household joined, and the survey
and the roster side by side.
"""

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.http import Http404

from cases.models import (
    Household,
    HouseholdMember,
    Person,
)
from cases.scope import AnyUser, get_in_scope_or_404, in_scope_exists, scope_for, scoped
from monitoring.models import RosterHousehold, SurveyRecord
from monitoring.survey import AMOUNT, CHOICE, LIST, LISTED_COLUMNS, MONEY
from staff.selectors.timeline import PERSON_MARKER, compiled_query, run_compiled, scope_key


def _plain_name(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name or "").split())


@dataclass
class Compared:
    label: str
    survey: str
    roster: str

    @property
    def differs(self) -> bool:
        return bool(self.survey) and bool(self.roster) and self.survey != self.roster


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def _money(value: Decimal | int | None) -> str:
    return "" if value is None else f"{value:,.0f}"


# What a page shows instead of a household outside the viewer's scope: no head's name,
# no link (it would answer 404), no roster values.
OTHER_HOUSEHOLD = "另一乡镇的家庭"


def comparison(person: Person, *, roster_in_scope: bool = True) -> list[Compared]:
    """The survey's and the roster's values of one person, side by side.

    A difference is only flagged when both sources know the value (blank = unknown).
    `roster_in_scope=False` (the person's roster household lies outside the viewer's
    scope): the roster's household values are replaced by `OTHER_HOUSEHOLD`.
    """
    survey = getattr(person, "survey", None)
    member = getattr(person, "roster_member", None)
    certificate = getattr(person, "certificate", None)
    roster_household = member.household if member is not None and roster_in_scope else None
    hidden = OTHER_HOUSEHOLD if member is not None and not roster_in_scope else ""
    survey_name = _plain_name(person.name) if survey is not None else ""
    rows = [
        Compared("姓名", survey_name, _plain_name(member.name) if member else ""),
        Compared(
            "乡镇",
            person.township.name if survey is not None and person.township is not None else "",
            roster_household.township.name if roster_household else hidden,
        ),
        Compared(
            "村（社区）",
            person.village.name if survey is not None and person.village is not None else "",
            roster_household.village.name if roster_household else "",
        ),
        Compared(
            "残疾类别",
            certificate.get_category_display() if certificate else "",
            member.get_disability_category_display()
            if member and member.disability_category
            else "",
        ),
        Compared(
            "残疾等级",
            certificate.get_grade_display() if certificate else "",
            member.get_disability_grade_display() if member and member.disability_grade else "",
        ),
        Compared(
            "人员状态",
            survey.get_survival_status_display() if survey and survey.survival_status else "",
            member.get_status_display() if member and member.status else "",
        ),
        Compared(
            "家庭人均收入（元）",
            _money(survey.income_per_capita) if survey else "",
            _money(roster_household.income_per_capita) if roster_household else "",
        ),
        Compared(
            "是否残疾",
            "是" if certificate else "",
            _yes_no(member.is_disabled) if member else "",
        ),
    ]
    return rows


def survey_answers(survey: SurveyRecord | None) -> list[tuple[str, str]]:
    """(label, value) of every survey answer; blank answers read 未知."""
    if survey is None:
        return []
    answers = []
    for column in LISTED_COLUMNS:
        name = column.field
        value = getattr(survey, name)  # type: ignore[arg-type]  # listed columns all name a field
        if column.kind == CHOICE and value:
            text = getattr(survey, f"get_{name}_display")()
        elif isinstance(value, bool):
            text = _yes_no(value)
        elif column.kind == LIST:
            text = "、".join(value or []) or "无"
        elif column.kind in (MONEY, AMOUNT):
            text = _money(value)
        elif value is None or value == "":
            text = ""
        else:
            text = str(value)
        answers.append((column.label, text or "未知"))
    return answers


def _person_page_query(user: AnyUser) -> QuerySet[Person]:
    """The persons of `person_page`, scoped, with everything joined (not yet filtered)."""
    queryset = Person.objects.annotate(
        household_in_scope=in_scope_exists(user, Household.objects.all(), "membership__household"),
        roster_household_in_scope=in_scope_exists(
            user, RosterHousehold.objects.all(), "roster_member__household"
        ),
    ).select_related(
        "township",
        "village",
        "certificate",
        "survey",
        "roster_member__household__township",
        "roster_member__household__village",
        # The household's own places are never shown from here: two joins fewer to plan.
        "membership__household",
    )
    return scoped(user, queryset).order_by()


@dataclass(frozen=True)
class RowShape:
    """Where each model of a model queryset's row is, as Django's `ModelIterable` reads it
    (the compiler's `select`, `klass_info` and `annotation_col_map`)."""

    select: list[Any]
    klass_info: dict[str, Any]
    annotation_col_map: dict[str, int]

    @classmethod
    def of(cls, queryset: QuerySet, database: str) -> "RowShape":
        if queryset.query.values_select:  # rows of values: `compiled_query` alone serves
            raise ValueError("compiled_instances takes a queryset of model instances")
        compiler = queryset.query.get_compiler(using=database)
        compiler.setup_query()
        return cls(compiler.select, compiler.klass_info, compiler.annotation_col_map)

    def instances(self, rows: list[tuple], database: str) -> list[Model]:
        """The model instances of converted rows, their `select_related` objects and
        annotations set, as the queryset would have built them."""
        model_fields = self.klass_info["select_fields"]
        start, end = model_fields[0], model_fields[-1] + 1
        names = [column[0].target.attname for column in self.select[start:end]]
        model = self.klass_info["model"]
        # django-stubs already describe Django 6's `fetch_mode` argument; 5.2 has none.
        populators = get_related_populators(self.klass_info, self.select, database)  # type: ignore[call-arg]
        result = []
        for row in rows:
            instance = model.from_db(database, names, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            for name, position in self.annotation_col_map.items():
                setattr(instance, name, row[position])
            result.append(instance)
        return result


_shapes: dict[tuple[Any, ...], RowShape] = {}


def compiled_instances(
    key: tuple[Any, ...], database: str, build: Callable[[], QuerySet], markers: dict[int, Any]
) -> list[Model]:
    """The model instances of the queryset `build()` (a model queryset, markers in place of
    ids), its SQL compiled once per process and `key` (`staff.selectors.timeline.
    compiled_query`) and run with `markers`' values: the queryset's own rows and objects,
    without building its SQL on every request."""
    compiled = compiled_query(key, database, build)
    shape = _shapes.get(key)
    if shape is None:
        if len(_shapes) >= 512:  # as `compiled_query`: scopes are few, never grow unbounded
            _shapes.clear()
        shape = _shapes[key] = RowShape.of(build(), database)
    return shape.instances(run_compiled(compiled, database, markers), database)


M = TypeVar("M", bound=Model)


def compiled_instance_or_404(
    model: type[M],
    key: tuple[Any, ...],
    database: str,
    build: Callable[[], QuerySet],
    markers: dict[int, Any],
) -> M:
    """The one `model` instance `compiled_instances` finds; 404 when the scoped query has none."""
    found = compiled_instances(key, database, build, markers)
    if not found:
        raise Http404("不存在或不在您的数据范围内")
    instance = found[0]
    assert isinstance(instance, model)
    return instance


def compiled_record_or_404(
    user: AnyUser,
    model: type[M],
    pk: int | str,
    key: tuple[Any, ...],
    query: Callable[[], QuerySet],
    marker: int,
) -> M:
    """One record of a record page: `query()` (in the user's scope) filtered to `pk`, its
    SQL compiled once per `key` (the page's name and whatever its text depends on beside
    the scope) and run as a prepared statement; 404 when it has no such row.

    No scope, or an id no row can have (negative: the markers; past 64 bits: SQLite cannot
    take it), is left to the ORM, which answers 404 for them."""
    try:
        record_id = int(pk)
    except (TypeError, ValueError):
        raise Http404("不存在或不在您的数据范围内") from None
    if scope_for(user).sees_nothing or not 0 < record_id < 2**63:
        return get_in_scope_or_404(user, query(), pk=record_id)
    database = model._default_manager.db
    return compiled_instance_or_404(
        model,
        (key[0], database, scope_key(user), *key[1:]),
        database,
        lambda: query().filter(pk=marker),
        {marker: record_id},
    )


def person_page(user: AnyUser, pk: int | str) -> Person:
    """One person in scope (404 otherwise) with certificate, survey, roster and household,
    and whether each of the two households is in the user's scope
    (`household_in_scope`, `roster_household_in_scope`): a person of this township may
    belong to a household recorded in another.

    Building this query's SQL (eight joins, two scoped `EXISTS`) cost more CPU than running
    it, and its text depends only on the scope: compiled once per scope
    (`compiled_instances`, docs/PERFORMANCE.md, Pages)."""
    return compiled_record_or_404(
        user, Person, pk, ("person_page",), lambda: _person_page_query(user), PERSON_MARKER
    )


def membership_of(person: Person) -> HouseholdMember | None:
    return getattr(person, "membership", None)


@dataclass(frozen=True)
class HouseholdLink:
    """The person's (survey) household as the page may show it: `pk` None means no link."""

    pk: int | None
    label: str


def household_link(person: Person) -> HouseholdLink | None:
    """The household of a person loaded by `person_page`; one outside the scope is only
    `OTHER_HOUSEHOLD`."""
    membership = membership_of(person)
    if membership is None:
        return None
    if not getattr(person, "household_in_scope", False):
        return HouseholdLink(None, OTHER_HOUSEHOLD)
    return HouseholdLink(membership.household_id, str(membership.household))
