"""The household and person pages' parts written in Python (`staff.views.households`:
`compare_html`, `member_html`, `timeline_html`, `case_fields`; `staff.views.persons.
answers_html`) are byte for byte what the templates they
replace gave: each test renders the former template next to the new code and compares.
And the person page shows its household's photos on its timeline, read with the
household page's compiled query (`household_photos`) instead of the template tag."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.urls import reverse

from cases import photos
from cases.casework import CASE_TRANSITIONS
from cases.models import Certificate, EvidencePhoto, Person
from staff.forms.casework import CaseOpenForm, CaseTransitionForm
from staff.selectors.households import MemberRow
from staff.selectors.persons import Compared, survey_answers
from staff.selectors.timeline import Event
from staff.views.households import case_fields, compare_html, member_html, timeline_html
from staff.views.persons import answers_html

from . import factories
from .test_photos import png_bytes

HOSTILE = (
    "",
    "张三",
    "<script>alert('x')</script> & \"q\"",
    "a\u202eb",  # a bidi override
    "c\x00d\x1be",  # control characters
    "  ",
)

# templates/staff/_compare.html before the pages wrote it in Python.
FORMER_COMPARE = Template(
    """{# Survey vs roster values of one person, differences highlighted. #}
{% load huoqiu_pages huoqiu_ui %}
{% if not compared|any_known %}
<p class="muted small" data-testid="compare-none">不在残联调查数据中，也不在防返贫监测名单中。</p>
{% else %}
<table class="compare" data-testid="compare">
  <thead><tr><th scope="col">项目</th><th scope="col">残联调查</th><th scope="col">监测名单</th></tr></thead>
  <tbody>
    {% for row in compared %}
      <tr{% if row.differs %} class="differs" data-differs="1"{% endif %}>
        <th scope="row">{{ row.label }}</th>
        <td>{{ row.survey|bidi_safe|default:"—" }}</td>
        <td>{{ row.roster|bidi_safe|default:"—" }}{% if row.differs %} <strong class="diff-mark">不一致</strong>{% endif %}</td>
      </tr>
    {% endfor %}
  </tbody>
</table>
{% endif %}
"""
)

# templates/staff/_photos.html before the pages wrote it in Python.
FORMER_PHOTOS = Template(
    """{# Thumbnails of one record's photos (cases.photos), each a link to the full photo through the #}
{# scoped, audited view; `photos` a list of EvidencePhoto, `more_url` the record's photos page. #}
{% if photos or more_url %}
<div class="photo-strip" data-testid="photo-strip">
  {% for photo in photos %}
    <a class="photo-thumb" href="{% url 'staff:photo_image' photo.pk %}" target="_blank" rel="noopener" data-testid="photo-thumb" data-photo="{{ photo.pk }}">
      <img src="{% url 'staff:photo_thumbnail' photo.pk %}" alt="照片{% if photo.stage %}（{{ photo.get_stage_display }}）{% endif %}" loading="lazy" width="72" height="72">
    </a>
  {% endfor %}
  {% if more_url %}<a class="small photo-more" href="{{ more_url }}" data-testid="photo-page-link">{% if photos %}照片（{{ photos|length }}）{% else %}照片{% endif %}</a>{% endif %}
</div>
{% endif %}
"""
)

# The event loop of templates/staff/_timeline.html before the pages wrote it in Python (the
# photos' include takes the former _photos.html above).
FORMER_EVENTS = Template(
    """{% load huoqiu_ui photos %}{% for event in events %}
        <li class="event event-{{ event.kind }}" data-kind="{{ event.kind }}">
          <div class="event-head">
            <time datetime="{{ event.on|date:'Y-m-d' }}">{{ event.on|date:"Y-m-d"|default:"日期未知" }}</time>
            <span class="tag tag-{{ event.kind }}">{{ event.kind_label }}</span>
            {% if event.status %}<span class="badge badge-{{ event.text1 }}">{{ event.status }}</span>{% endif %}
            {% if event.kind == "visit" %}<a class="small" href="{% url 'staff:print_visit' event.pk %}" data-testid="print-visit">打印</a>{% endif %}
          </div>
          <p class="event-title">
            {% if event.kind == "finding" %}<a href="{% url 'staff:finding_detail' event.pk %}">{{ event.title|bidi_safe }}</a>{% else %}{{ event.title|bidi_safe }}{% endif %}
            {% if event.person_name and show_person %}<span class="muted">· {{ event.person_name|bidi_safe }}</span>{% endif %}
          </p>
          {% if event.detail %}<p class="event-detail">{{ event.detail|bidi_safe }}</p>{% endif %}
          {% if event.kind == "visit" or event.kind == "assistance" %}{% event_photos photo_map event as found %}{% if event.kind == "visit" %}{% url 'staff:visit_photos' event.pk as more_url %}{% else %}{% url 'staff:measure_photos' event.pk as more_url %}{% endif %}{% include photos_template with photos=found %}{% endif %}
        </li>
      {% endfor %}"""
)

# The fields of templates/staff/_case_forms.html before they were rendered once.
FORMER_CASE_FIELDS = Template(
    """{% if open_form %}{% include "staff/_field.html" with field=open_form.reason %}
      {% include "staff/_field.html" with field=open_form.opened_on %}{% else %}{% for field in transition_form %}{% include "staff/_field.html" %}{% endfor %}{% endif %}"""
)


# The members loop of templates/staff/household_detail.html (its body) before it was
# written in Python (the table by the former _compare.html above).
FORMER_MEMBERS = Template(
    """{% load huoqiu_ui %}{% for row in members %}
    <article class="member{% if row.differences %} member-differs{% endif %}" data-testid="member">
      <h3><a href="{% url 'staff:person_detail' row.person.pk %}">{{ row.person.name|bidi_safe }}</a>
        <span class="muted small">{{ row.relation|default:"关系未填"|bidi_safe }} · {{ row.person.get_gender_display }} · {{ row.age }}岁</span>
        {% if row.differences %}<span class="badge badge-differs">{{ row.differences }}处不一致</span>{% endif %}
      </h3>
      <p class="small"><span class="mono">{{ row.person.id_number|masked_id }}</span>
        {% with certificate=row.person.certificate %}{% if certificate %} · 持证：{{ certificate.get_category_display }}{{ certificate.get_grade_display }}{% else %} · 非持证人员{% endif %}{% endwith %}</p>
      {% include compare_template with compared=row.compared %}
    </article>
  {% endfor %}"""
)

# The survey answers' loop of templates/staff/person_detail.html before it was written in
# Python.
FORMER_ANSWERS = Template(
    """{% load huoqiu_ui %}{% for label, value in answers %}<dt>{{ label }}</dt><dd>{{ value|bidi_safe }}</dd>{% endfor %}"""
)


def member_rows() -> list[MemberRow]:
    rows = []
    for index, text in enumerate(HOSTILE):
        person = Person(
            pk=100 + index,
            name=text,
            id_number=("34152219700506123X", "", "<b>", "341522197005061")[index % 4],
            gender=("M", "F", "", "?")[index % 4],
        )
        if index % 2:
            person.certificate = Certificate(category=index % 7 + 1, grade=index % 4 + 1)
        else:
            person._state.fields_cache["certificate"] = None  # read as not certified
        compared = compared_lists()[index % len(compared_lists())]
        rows.append(MemberRow(None, person, HOSTILE[-index], index * 7, compared, None))
    return rows


def test_member_html_is_the_former_template():
    rows = member_rows()
    former = FORMER_MEMBERS.render(Context({"members": rows, "compare_template": FORMER_COMPARE}))
    assert "member-differs" in former and "持证：" in former and "非持证人员" in former
    assert "".join(member_html(row) for row in rows) == former


@pytest.mark.django_db
def test_answers_html_is_the_former_template():
    from monitoring.models import SurveyRecord

    answers = survey_answers(SurveyRecord())
    answers += [(f"问{text}", text) for text in HOSTILE]
    former = FORMER_ANSWERS.render(Context({"answers": answers}))
    assert answers_html(answers) == former


def compared_lists() -> list[list[Compared]]:
    lists: list[list[Compared]] = [[], [Compared("姓名", "", "")]]
    for survey in HOSTILE:
        lists.append(
            [Compared(f"项目{index}<&>", survey, roster) for index, roster in enumerate(HOSTILE)]
        )
    return lists


@pytest.mark.parametrize("compared", compared_lists())
def test_compare_html_is_the_former_template(compared):
    former = FORMER_COMPARE.render(Context({"compared": compared}))
    assert compare_html(compared) == former


def events() -> list[Event]:
    """One event of every kind and status the timeline shows, with hostile texts."""
    found = []
    codes = {
        "visit": ("home", "phone", "unknown-kind"),
        "assistance": ("employment", "other"),
        "pairing": ("cadre", "", "nobody"),
        "case": ("included", "cleared"),
        "finding": ("P01", "Z99"),
        "benefit": ("dibao", "unknown"),
        "application": ("dibao",),
        "education": ("regular", ""),
        "rehab": ("",),
        "other-kind": ("x",),
    }
    statuses = ("", "open", "handled", "active", "stopped", "applying", "weird<")
    pk = 1
    for kind, kind_codes in codes.items():
        for code in kind_codes:
            for text in HOSTILE:
                pk += 1
                found.append(
                    Event(
                        on=None if pk % 5 == 0 else date(2026, 3, pk % 28 + 1),
                        kind=kind,
                        pk=pk,
                        person_id=pk if pk % 2 else None,
                        person_name=text,
                        code=code,
                        text1=statuses[pk % len(statuses)] if kind != "visit" else text,
                        text2=text,
                        text3=HOSTILE[pk % len(HOSTILE)],
                        end=date(2026, 9, 1) if pk % 3 == 0 else None,
                    )
                )
    return found


def photo_map(found: list[Event]) -> dict:
    """Photos for some visits and measures (with and without a stage), none for others."""
    photos: dict = {}
    for event in found:
        if event.kind not in ("visit", "assistance") or event.pk % 3 == 1:
            continue
        owner = "visit" if event.kind == "visit" else "measure"
        photos[(owner, event.pk)] = [
            EvidencePhoto(
                pk=event.pk * 10 + n,
                visit_id=event.pk if owner == "visit" else None,
                measure_id=event.pk if owner == "measure" else None,
                original_name="<x>.png",
                stage=("", "construction", "accepted")[n % 3],
            )
            for n in range(event.pk % 4)
        ]
    return photos


@pytest.mark.parametrize("show_person", [True, False])
@pytest.mark.parametrize("with_photos", [True, False])
def test_timeline_html_is_the_former_template(show_person, with_photos):
    found = events()
    photos = photo_map(found) if with_photos else {}
    former = FORMER_EVENTS.render(
        Context(
            {
                "events": found,
                "photo_map": photos,
                "show_person": show_person,
                "photos_template": FORMER_PHOTOS,
            }
        )
    )
    assert "photo-thumb" in former or not with_photos
    assert timeline_html(found, photos, show_person=show_person) == former


@pytest.mark.parametrize(
    "allowed", [(), *sorted({tuple(steps) for steps in CASE_TRANSITIONS.values() if steps})]
)
def test_case_fields_are_the_former_includes(allowed):
    context = (
        {"transition_form": CaseTransitionForm(allowed=allowed)}
        if allowed
        else {"open_form": CaseOpenForm()}
    )
    former = FORMER_CASE_FIELDS.render(Context(context))
    assert case_fields(allowed) == former
    assert case_fields(allowed) is case_fields(allowed)  # rendered once


@pytest.mark.django_db
def test_person_page_shows_its_households_photos(client, settings, tmp_path, hekou_user, home):
    """The person page's timeline shows the thumbnails of its household's visits and
    measures, read by `household_photos` (the household page's query) as the template tag
    read them; a person without a household in scope reads none."""
    settings.MEDIA_ROOT = tmp_path / "media"
    measure = factories.AssistanceMeasureFactory(household=home.household)
    added = [
        photos.photo_add(hekou_user, home.visit, SimpleUploadedFile("v.png", png_bytes())),
        photos.photo_add(hekou_user, home.visit, SimpleUploadedFile("w.png", png_bytes((50, 30)))),
        photos.photo_add(hekou_user, measure, SimpleUploadedFile("m.png", png_bytes())),
    ]
    client.force_login(hekou_user)
    pages = (
        reverse("staff:person_detail", args=[home.head.pk]),
        reverse("staff:household_detail", args=[home.household.pk]),
    )
    for page in pages:
        html = client.get(page).content.decode()
        assert html.count('data-testid="photo-thumb"') == 3
        for photo in added:
            assert reverse("staff:photo_thumbnail", args=[photo.pk]) in html
        assert "照片（2）" in html and "照片（1）" in html
