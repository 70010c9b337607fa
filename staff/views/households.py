"""Households: the list, the household page, and its case-work forms (assistance,
pairing, monitoring case).
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.template.defaultfilters import date as date_filter
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from cases import casework
from cases.audit import audit_view
from cases.casework import CASE_TRANSITIONS
from cases.casework_base import today
from cases.exports import xlsx_response
from cases.identity import mask_id_number
from cases.models import Household, HouseholdMember, MonitoringCase
from cases.scope import get_in_scope_or_404, scope_for, scope_safe, scoped
from cases.selectors import SEARCH_MAX_LENGTH
from cases.text import clean_text
from staff.forms.casework import (
    AssistanceForm,
    CaseOpenForm,
    CaseTransitionForm,
    PairingEndForm,
    PairingForm,
)
from staff.selectors.household_work import household_work_sections
from staff.selectors.households import (
    MemberRow,
    household_detail,
    household_list,
    household_members,
    roster_households,
)
from staff.selectors.persons import Compared
from staff.selectors.places import places
from staff.selectors.timeline import household_photos, household_timeline
from staff.templatetags.photos import event_photos
from staff.templatetags.record_urls import record_url
from staff.views.common import (
    EXPORT_LIMIT,
    GET_POST,
    can_record_visits,
    can_write,
    export_filename,
    form_data,
    form_page,
    list_page,
    record_form_page,
    require_export_scope,
    require_writer_role,
)


@scope_safe(how="households via selectors.households.household_list (scoped); IDs masked")
@login_required
@require_GET
def households_export(request):
    require_export_scope(request)

    labels = dict(MonitoringCase.Status.choices)
    queryset, _ = household_list(request.user, request.GET, places(request.user))

    def rows():
        for household in queryset[:EXPORT_LIMIT].iterator(chunk_size=2000):
            yield (
                household.head_name,
                mask_id_number(household.head_id_number),
                household.township.name,
                household.village.name,
                household.size,
                household.member_count or 0,
                labels.get(household.case_status, "") if household.case_status else "",
            )

    return xlsx_response(
        export_filename("家庭名单"),
        (
            "户主姓名",
            "户主身份证号（脱敏）",
            "乡镇",
            "村（社区）",
            "家庭人口数",
            "登记成员数",
            "监测对象状态",
        ),
        rows(),
        sheet_title="家庭",
        text_columns=(1,),
        widths=(10, 22, 12, 14, 10, 10, 12),
        request=request,
        label="cases.household",
    )


# `timeline_html`'s pieces: one event of the loop templates/staff/_timeline.html had and
# the photo strip of the former templates/staff/_photos.html, as Django rendered them,
# whitespace included (tests/test_pagesh_page_html.py keeps those templates and compares).
_EVENT = (
    '\n        <li class="event event-{kind}" data-kind="{kind}">\n'
    '          <div class="event-head">\n'
    '            <time datetime="{on}">{shown_on}</time>\n'
    '            <span class="tag tag-{kind}">{label}</span>\n'
    "            {badge}\n"
    "            {printed}\n"
    "          </div>\n"
    '          <p class="event-title">\n'
    "            {title}\n"
    "            {person}\n"
    "          </p>\n"
    "          {detail}\n"
    "          {photos}\n"
    "        </li>\n      "
)
_PHOTO = (
    '\n    <a class="photo-thumb" href="{image}" target="_blank" rel="noopener" '
    'data-testid="photo-thumb" data-photo="{pk}">\n'
    '      <img src="{thumbnail}" alt="照片{stage}" loading="lazy" width="72" height="72">\n'
    "    </a>\n  "
)
_STRIP = (
    '\n\n\n<div class="photo-strip" data-testid="photo-strip">\n  {photos}\n'
    '  <a class="small photo-more" href="{more}" data-testid="photo-page-link">{link}</a>\n'
    "</div>\n\n"
)
PHOTOS_PAGE = {"visit": "staff:visit_photos", "assistance": "staff:measure_photos"}


def _photo_strip(photos: list, more_url: str) -> str:
    """The photo strip of one event (its `more_url` always set here)."""
    thumbs = "".join(
        _PHOTO.format(
            image=escape(record_url(photo.pk, "staff:photo_image")),
            pk=escape(photo.pk),
            thumbnail=escape(record_url(photo.pk, "staff:photo_thumbnail")),
            stage=f"（{escape(photo.get_stage_display())}）" if photo.stage else "",
        )
        for photo in photos
    )
    link = f"照片（{len(photos)}）" if photos else "照片"
    return _STRIP.format(photos=thumbs, more=escape(more_url), link=link)


def timeline_html(events: list, photo_map: dict, *, show_person: bool) -> SafeString:
    """The events of the timeline (the loop of templates/staff/_timeline.html) with their
    photo strips, as the template renders them: written here because the template's loop
    cost ~0.1 ms an event (a dozen filtered values, the photos' include), the largest part
    of both pages' timelines (docs/PERFORMANCE.md, Pages). `photo_map` as
    `household_photos` reads it."""
    parts = []
    for event in events:
        kind = event.kind
        shown_kind = escape(kind)
        on = date_filter(event.on, "Y-m-d")
        status = event.status
        title: str = escape(clean_text(event.title))
        if kind == "finding":
            title = f'<a href="{escape(record_url(event.pk, "staff:finding_detail"))}">{title}</a>'
        detail = event.detail
        photos = ""
        if kind in PHOTOS_PAGE:
            found = event_photos(photo_map, event)
            photos = _photo_strip(found, record_url(event.pk, PHOTOS_PAGE[kind]))
        parts.append(
            _EVENT.format(
                kind=shown_kind,
                on=escape(on),
                shown_on=escape(on or "日期未知"),
                label=escape(event.kind_label),
                badge=f'<span class="badge badge-{escape(event.text1)}">{escape(status)}</span>'
                if status
                else "",
                printed='<a class="small" href="{}" data-testid="print-visit">打印</a>'.format(
                    escape(record_url(event.pk, "staff:print_visit"))
                )
                if kind == "visit"
                else "",
                title=title,
                person=f'<span class="muted">· {escape(clean_text(event.person_name))}</span>'
                if event.person_name and show_person
                else "",
                detail=f'<p class="event-detail">{escape(clean_text(detail))}</p>'
                if detail
                else "",
                photos=photos,
            )
        )
    return SafeString("".join(parts))


def household_url(household) -> str:
    return reverse("staff:household_detail", args=[household.pk])


def household_members_of(user, household: Household) -> list:
    rows = scoped(
        user, HouseholdMember.objects.filter(household=household).select_related("person")
    )
    return [row.person for row in rows]


@scope_safe(how="household via get_in_scope_or_404; write via casework.assistance_add")
@login_required
@GET_POST
def assistance_create(request, pk: int):
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    require_writer_role(request)
    form = AssistanceForm(form_data(request), initial={"started_on": today()})
    return record_form_page(
        request,
        household,
        form,
        casework.assistance_add,
        lambda m: f"已登记帮扶措施：{m.get_kind_display()}",
    )


@scope_safe(how="household via get_in_scope_or_404; write via casework.pairing_start")
@login_required
@GET_POST
def pairing_create(request, pk: int):
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    require_writer_role(request)
    form = PairingForm(form_data(request), initial={"started_on": today()})
    return record_form_page(
        request,
        household,
        form,
        casework.pairing_start,
        lambda p: f"已安排结对帮扶：{p.helper_name}",
    )


@scope_safe(how="household via get_in_scope_or_404; write via casework.pairing_end")
@login_required
@GET_POST
def pairing_end(request, pk: int):
    """结束结对: the household's active pairing, with a date and a reason (history)."""
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    require_writer_role(request)
    # The pairing not yet ended (one ended today still counts as active today for P01).
    pairing = household.pairings.filter(ended_on__isnull=True).order_by("-started_on").first()
    if pairing is None:
        raise Http404("该家庭当前没有结对帮扶")
    form = PairingEndForm(form_data(request), initial={"ended_on": today()})
    return record_form_page(
        request,
        household,
        form,
        casework.pairing_end,
        lambda p: f"已结束与{p.helper_name}的结对帮扶",
        target=pairing,
        title=f"结束结对帮扶（帮扶人：{pairing.helper_name}）",
    )


@scope_safe(
    how="household via selectors.households.household_detail; casework.case_open/transition"
)
@login_required
@GET_POST
def case_step(request, pk: int):
    """The household's monitoring case: open one (待核实) or take the next workflow step
    (纳入监测 / 不予纳入 / 帮扶中 / 风险已消除), each with its reason."""
    household = household_detail(request.user, pk)
    require_writer_role(request)
    context = {"household": household, "nav": "households"}
    if household.case_id is None:
        form = CaseOpenForm(form_data(request), initial={"opened_on": today()})
        return form_page(
            request,
            form,
            template="staff/form_case.html",
            context=context | {"mode": "open"},
            on_valid=lambda f: casework.case_open(
                request.user,
                household,
                reason=f.cleaned_data["reason"],
                opened_on=f.cleaned_data.get("opened_on"),
            ),
            success_message=lambda case: f"已建立监测对象（编号{case.pk}，待核实）",
            success_url=household_url(household),
        )
    case = get_in_scope_or_404(
        request.user, MonitoringCase.objects.select_related("household"), pk=household.case_id
    )
    allowed = casework.allowed_next_statuses(case)
    form = CaseTransitionForm(form_data(request), allowed=allowed, initial={"on": today()})
    return form_page(
        request,
        form,
        template="staff/form_case.html",
        context=context | {"mode": "transition", "case": case},
        on_valid=lambda f: casework.case_transition(
            request.user, case, f.cleaned_data["to_status"], **f.service_kwargs()
        ),
        success_message=lambda c: f"监测对象已办理：{c.get_status_display()}",
        success_url=household_url(household),
    )


HOUSEHOLDS_PER_PAGE = 50


@scope_safe(how="households via selectors.households.household_list (scoped); villages scoped")
@login_required
@require_GET
def households(request):
    return list_page(
        request,
        "staff/household_list.html",
        nav="households",
        select=household_list,
        label="cases.household",
        per_page=HOUSEHOLDS_PER_PAGE,
        search_max_length=SEARCH_MAX_LENGTH,
    )


def open_findings(events):
    return [event for event in events if event.is_open_finding]


# `compare_html`'s pieces: the former templates/staff/_compare.html as Django rendered it,
# whitespace included (tests/test_pagesh_page_html.py keeps that template and compares).
_COMPARE_NONE = (
    '\n\n\n<p class="muted small" data-testid="compare-none">'
    "不在残联调查数据中，也不在防返贫监测名单中。</p>\n\n"
)
_COMPARE_HEAD = (
    '\n\n\n<table class="compare" data-testid="compare">\n'
    '  <thead><tr><th scope="col">项目</th><th scope="col">残联调查</th>'
    '<th scope="col">监测名单</th></tr></thead>\n  <tbody>\n    '
)
_COMPARE_ROW = (
    '\n      <tr{}>\n        <th scope="row">{}</th>\n        <td>{}</td>\n'
    "        <td>{}{}</td>\n      </tr>\n    "
)
_COMPARE_TAIL = "\n  </tbody>\n</table>\n\n"
_DIFFERS = ' class="differs" data-differs="1"'
_DIFF_MARK = ' <strong class="diff-mark">不一致</strong>'


def _shown(value: str) -> str:
    """`{{ value|bidi_safe|default:"—" }}` of a text, escaped."""
    return escape(clean_text(value) or "—")


_MEMBER = (
    '\n    <article class="member{differs_class}" data-testid="member">\n'
    '      <h3><a href="{url}">{name}</a>\n'
    '        <span class="muted small">{relation} · {gender} · {age}岁</span>\n'
    "        {differs}\n"
    "      </h3>\n"
    '      <p class="small"><span class="mono">{id_number}</span>\n'
    "        {certificate}</p>\n"
    "      {compare}\n"
    "    </article>\n  "
)


def member_html(row: MemberRow) -> SafeString:
    """One member of the household page with the survey-vs-roster table, as the members
    loop of templates/staff/household_detail.html rendered it (tests/test_pagesh_page_html.py
    keeps that loop and compares): the loop's filtered values cost ~0.15 ms a member."""
    person = row.person
    differences = row.differences
    certificate = getattr(person, "certificate", None)
    return SafeString(
        _MEMBER.format(
            differs_class=" member-differs" if differences else "",
            url=escape(record_url(person.pk, "staff:person_detail")),
            name=escape(clean_text(person.name)),
            relation=escape(clean_text(row.relation or "关系未填")),
            gender=escape(person.get_gender_display()),
            age=escape(row.age),
            differs=f'<span class="badge badge-differs">{differences}处不一致</span>'
            if differences
            else "",
            id_number=escape(mask_id_number(person.id_number or "")),
            certificate=(
                f" · 持证：{escape(certificate.get_category_display())}"
                f"{escape(certificate.get_grade_display())}"
            )
            if certificate
            else " · 非持证人员",
            compare=compare_html(row.compared),
        )
    )


def compare_html(compared: list[Compared]) -> SafeString:
    """The survey-vs-roster table of one person, as templates/staff/_compare.html rendered
    it: written here because the template's loop (eight rows of three filtered values per
    person) cost ~0.3 ms a person, most of a household page's members section
    (docs/PERFORMANCE.md, Pages)."""
    if not any(row.survey or row.roster for row in compared):
        return SafeString(_COMPARE_NONE)
    rows = []
    for row in compared:
        differs = row.differs
        rows.append(
            _COMPARE_ROW.format(
                _DIFFERS if differs else "",
                escape(row.label),
                _shown(row.survey),
                _shown(row.roster),
                _DIFF_MARK if differs else "",
            )
        )
    return SafeString(_COMPARE_HEAD + "".join(rows) + _COMPARE_TAIL)


@scope_safe(how="one household via selectors.households.household_detail (get_in_scope_or_404)")
@login_required
@require_GET
def household(request, pk: int):
    """The household: members with survey and roster side by side, case, timeline."""
    record = household_detail(request.user, pk)
    members = household_members(request.user, record)
    for row in members:
        row.html = member_html(row)
    events = household_timeline(request.user, record.pk)
    audit_view(request, record)
    scope = scope_for(request.user)
    context = {
        "household": record,
        "members": members,
        "roster_households": roster_households(members),
        "events": events,
        "timeline_items": timeline_html(
            events, household_photos(request.user, record.pk, events), show_person=True
        ),
        "open_findings": open_findings(events),
        "can_write": can_write(scope),
        "can_visit": can_record_visits(scope),
        "nav": "households",
    }
    context |= case_forms(record, scope)
    context |= household_work_sections(request.user, record)
    return render(request, "staff/household_detail.html", context)


def case_forms(record, scope) -> dict:
    """The monitoring-case form the household page offers (none for read-only roles), with
    its fields' HTML (`case_fields`)."""
    if not can_write(scope):
        return {}
    if record.case_id is None:
        return {"open_form": CaseOpenForm(), "case_fields": case_fields(())}
    allowed = tuple(CASE_TRANSITIONS.get(record.case_status, ()))
    if not allowed:
        return {}
    return {
        "transition_form": CaseTransitionForm(allowed=allowed),
        "case_fields": case_fields(allowed),
    }


_case_fields: dict[tuple[str, ...], SafeString] = {}


def case_fields(allowed: tuple[str, ...]) -> SafeString:
    """The fields of the case form as `staff/_field.html` renders them: of the open form
    when `allowed` is empty, else of the transition form offering `allowed`.

    An unbound form's HTML depends on nothing else (no initial values, no record, fixed
    ids), and rendering its widgets through Django's templates cost ~2 ms of a household
    page's CPU (docs/PERFORMANCE.md, Pages): rendered once per process and set of steps."""
    found = _case_fields.get(allowed)
    if found is not None:
        return found
    if allowed:
        transition = CaseTransitionForm(allowed=allowed)
        parts = [render_to_string(FIELD_TEMPLATE, {"field": field}) for field in transition]
        html = mark_safe("".join(parts))  # noqa: S308 (rendered by the autoescaping template)
    else:
        form = CaseOpenForm()
        parts = [render_to_string(FIELD_TEMPLATE, {"field": form[name]}) for name in OPEN_FIELDS]
        # The whitespace between the two includes of the open form in _case_forms.html.
        html = mark_safe("\n      ".join(parts))  # noqa: S308 (as above)
    _case_fields[allowed] = html
    return html


FIELD_TEMPLATE = "staff/_field.html"
OPEN_FIELDS = ("reason", "opened_on")
