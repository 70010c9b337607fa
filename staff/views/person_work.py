"""The person page's 就业 and 康复 forms: labour ability and willingness, public-welfare
posts, training, employment at a base, rehabilitation needs and family-doctor contracts.

Each page loads the person in the user's scope (404), checks the role (403: viewers read
only; village members record rehabilitation services only, on `persons.rehab_service_create`),
binds its form and calls the `cases.casework` service through `record_form_page`. An end
page offers the person's current records; with none it goes back to the person page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import URLPattern, path

from cases import casework
from cases.casework_base import today
from cases.scope import scope_safe
from staff.forms.person_work import (
    BaseEmploymentEndForm,
    BaseEmploymentForm,
    FamilyDoctorEndForm,
    FamilyDoctorForm,
    LabourProfileForm,
    RehabNeedCloseForm,
    RehabNeedForm,
    TrainingForm,
    WelfarePostEndForm,
    WelfarePostForm,
    bool_initial,
)
from staff.selectors.person_work import (
    SURVEY,
    bases_for,
    contracts_of,
    current_base_jobs,
    current_posts,
    endable_contracts,
    labour_from_survey,
    labour_profile_of,
    open_needs,
    survey_needs,
)
from staff.selectors.persons import person_page
from staff.views.common import GET_POST, form_data, record_form_page, require_writer_role


def _writable_person(request, pk: int):
    person = person_page(request.user, pk)  # 404 outside the scope
    require_writer_role(request)  # 403 for viewers and village members
    return person


@scope_safe(how="person via selectors.persons.person_page; casework.labour_profile_save")
@login_required
@GET_POST
def labour_profile(request, pk: int):
    """劳动能力与就业意愿: staff's own record, pre-filled from the survey until there is one."""
    person = _writable_person(request, pk)
    profile = labour_profile_of(request.user, person)
    initial: dict = {"assessed_on": today()}
    survey = labour_from_survey(getattr(person, "survey", None))
    if profile is not None:
        initial |= {
            "ability": profile.ability,
            "willing": bool_initial(profile.willing),
            "wanted_work": profile.wanted_work,
            "note": profile.note,
        }
    elif survey is not None:
        initial |= {"ability": survey.ability, "willing": bool_initial(survey.willing)}
    form = LabourProfileForm(form_data(request), initial=initial)
    if profile is None and survey is not None:
        surveyed = f"（{survey.on:%Y-%m-%d}）" if survey.on else ""
        form.fields["ability"].help_text = (
            f"已按{SURVEY}{surveyed}预填：就业状况“{survey.survey_status or '未填'}”，"
            f"就业意愿“{survey.willing_label}”，请核实后保存"
        )
    return record_form_page(
        request,
        person,
        form,
        casework.labour_profile_save,
        lambda p: f"已保存劳动能力摸底：{p.get_ability_display()}",
    )


@scope_safe(how="person via selectors.persons.person_page; casework.welfare_post_place")
@login_required
@GET_POST
def welfare_post_create(request, pk: int):
    person = _writable_person(request, pk)
    form = WelfarePostForm(form_data(request), initial={"started_on": today()})
    return record_form_page(
        request,
        person,
        form,
        casework.welfare_post_place,
        lambda p: f"已安置公益性岗位：{p.post}",
    )


def _end_page(request, person, form_class, records, describe, service, done, nothing: str):
    """An end form over `records` (the person's current ones); none: back to the person."""
    if not records:
        messages.info(request, nothing)
        return redirect("staff:person_detail", person.pk)
    form = form_class(
        form_data(request),
        initial={form_class.date_name: today()},
        records=records,
        describe=describe,
    )
    return record_form_page(
        request,
        person,
        form,
        lambda user, _person, **kwargs: service(user, form.chosen(), **kwargs),
        done,
    )


@scope_safe(how="person via selectors.persons.person_page; casework.welfare_post_end")
@login_required
@GET_POST
def welfare_post_end(request, pk: int):
    person = _writable_person(request, pk)
    return _end_page(
        request,
        person,
        WelfarePostEndForm,
        current_posts(request.user, person),
        lambda p: f"{p.post}（{p.employer}，{p.started_on:%Y-%m-%d}上岗）",
        casework.welfare_post_end,
        lambda p: f"已办理离岗：{p.post}",
        "该人员目前没有在岗的公益性岗位",
    )


@scope_safe(how="person via selectors.persons.person_page; casework.training_add")
@login_required
@GET_POST
def training_create(request, pk: int):
    person = _writable_person(request, pk)
    form = TrainingForm(form_data(request), initial={"started_on": today()})
    return record_form_page(
        request, person, form, casework.training_add, lambda t: f"已登记培训：{t.course}"
    )


def _base_employment_add(user, person, *, base, **kwargs):
    return casework.base_employment_add(user, base, person, **kwargs)


@scope_safe(
    how="person via selectors.persons.person_page; bases via selectors_casework.employment_bases"
    " (scoped); casework.base_employment_add"
)
@login_required
@GET_POST
def base_employment_create(request, pk: int):
    person = _writable_person(request, pk)
    form = BaseEmploymentForm(
        form_data(request),
        initial={"started_on": today()},
        bases=list(bases_for(request.user).select_related("township")),
    )
    return record_form_page(
        request,
        person,
        form,
        _base_employment_add,
        lambda j: f"已登记基地带动就业：{j.base.name}",
    )


@scope_safe(how="person via selectors.persons.person_page; casework.base_employment_end")
@login_required
@GET_POST
def base_employment_end(request, pk: int):
    person = _writable_person(request, pk)
    jobs = current_base_jobs(request.user, person)
    return _end_page(
        request,
        person,
        BaseEmploymentEndForm,
        jobs,
        lambda j: f"{j.base.name} · {j.job}（{j.started_on:%Y-%m-%d}起）",
        casework.base_employment_end,
        lambda j: f"已结束基地带动就业：{j.base.name}",
        "该人员目前没有在基地、合作社或能人大户就业",
    )


@scope_safe(how="person via selectors.persons.person_page; casework.rehab_need_add")
@login_required
@GET_POST
def rehab_need_create(request, pk: int):
    """登记康复需求; `?survey=N` pre-fills the survey's N-th listed need."""
    person = _writable_person(request, pk)
    survey = getattr(person, "survey", None)
    initial: dict = {"identified_on": today()}
    listed = {str(need.index): need for need in survey_needs(survey)}
    chosen = listed.get(request.GET.get("survey") or "")
    if chosen is not None:
        initial |= {"kind": chosen.kind, "detail": chosen.text}
        if survey is not None and survey.surveyed_on is not None:
            initial["identified_on"] = survey.surveyed_on
    form = RehabNeedForm(form_data(request), initial=initial)
    if chosen is not None:
        form.fields["kind"].help_text = f"已按调查登记的需求“{chosen.text}”预填，请核实后保存"
    return record_form_page(
        request,
        person,
        form,
        casework.rehab_need_add,
        lambda n: f"已登记康复需求：{n.get_kind_display()}",
    )


@scope_safe(how="person via selectors.persons.person_page; casework.rehab_need_close")
@login_required
@GET_POST
def rehab_need_close(request, pk: int):
    person = _writable_person(request, pk)
    needs = open_needs(request.user, person)
    return _end_page(
        request,
        person,
        RehabNeedCloseForm,
        needs,
        lambda n: f"{n.get_kind_display()} {n.detail}（{n.identified_on:%Y-%m-%d}发现）".strip(),
        casework.rehab_need_close,
        lambda n: f"已关闭康复需求：{n.get_kind_display()}",
        "该人员没有未关闭的康复需求",
    )


@scope_safe(how="person via selectors.persons.person_page; casework.family_doctor_sign")
@login_required
@GET_POST
def family_doctor_create(request, pk: int):
    person = _writable_person(request, pk)
    form = FamilyDoctorForm(form_data(request), initial={"signed_on": today()})
    return record_form_page(
        request,
        person,
        form,
        casework.family_doctor_sign,
        lambda c: f"已登记家庭医生签约：{c.institution}",
    )


@scope_safe(how="person via selectors.persons.person_page; casework.family_doctor_end")
@login_required
@GET_POST
def family_doctor_end(request, pk: int):
    person = _writable_person(request, pk)
    contracts = endable_contracts(contracts_of(request.user, person), today())
    return _end_page(
        request,
        person,
        FamilyDoctorEndForm,
        contracts,
        lambda c: f"{c.institution} · {c.doctor}（{c.signed_on:%Y-%m-%d}签约）",
        casework.family_doctor_end,
        lambda c: f"已终止家庭医生签约：{c.institution}",
        "该人员没有可终止的家庭医生签约",
    )


routes: list[URLPattern] = [
    path("persons/<int:pk>/labour/", labour_profile, name="labour_profile"),
    path("persons/<int:pk>/welfare-post/new/", welfare_post_create, name="welfare_post_create"),
    path("persons/<int:pk>/welfare-post/end/", welfare_post_end, name="welfare_post_end"),
    path("persons/<int:pk>/trainings/new/", training_create, name="training_create"),
    path("persons/<int:pk>/base-jobs/new/", base_employment_create, name="base_employment_create"),
    path("persons/<int:pk>/base-jobs/end/", base_employment_end, name="base_employment_end"),
    path("persons/<int:pk>/rehab-needs/new/", rehab_need_create, name="rehab_need_create"),
    path("persons/<int:pk>/rehab-needs/close/", rehab_need_close, name="rehab_need_close"),
    path("persons/<int:pk>/family-doctor/new/", family_doctor_create, name="family_doctor_create"),
    path("persons/<int:pk>/family-doctor/end/", family_doctor_end, name="family_doctor_end"),
]
