"""The shared samples: importing them and running the cross-check on 2026-06-30 yields exactly
/work/shared/samples/expected-findings-sample.json, for any monitoring line from 6,000 to 10,000."""

import json
from datetime import date

import pytest

from monitoring.crosscheck import run_crosscheck
from monitoring.models import Finding, SurveyRecord
from monitoring.services import import_roster_file, import_survey_file
from subsidies.policy import policy_set

from .samples import SAMPLES

pytestmark = pytest.mark.django_db


def found() -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for rule, id_number in Finding.objects.values_list("rule", "person__id_number"):
        result.setdefault(rule, []).append(id_number)
    return {rule: sorted(ids) for rule, ids in sorted(result.items())}


@pytest.mark.parametrize("line", [6000, 7000, 8500, 10000])
def test_sample_files_give_exactly_the_expected_findings(line, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the imports keep their original files
    expected = json.loads((SAMPLES / "expected-findings-sample.json").read_text("utf-8"))
    survey = import_survey_file(SAMPLES / "survey-sample.xlsx")
    roster = import_roster_file(SAMPLES / "roster-sample.xlsx")
    assert survey.status == roster.status == "done"
    assert SurveyRecord.objects.count() == expected["survey_persons"]
    assert roster.rows == expected["roster_members"]
    policy_set(2026, monitoring_line=line, rigid_expenditure_threshold=20000)

    run = run_crosscheck(date.fromisoformat(expected["as_of"]))
    assert found() == {rule: sorted(ids) for rule, ids in expected["findings"].items()}
    assert set(run.batches.all()) == {survey, roster}
    assert run.new == sum(len(ids) for ids in expected["findings"].values())
    assert not Finding.objects.filter(reason="").exists()
