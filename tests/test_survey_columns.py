"""The survey's one column declaration (monitoring/survey.py) agrees with the model and the
importer that derive from it."""

from monitoring import survey
from monitoring.importing.sources import SURVEY, SURVEY_ANSWER_FIELDS
from monitoring.importing.writer import SURVEY_RECORD_FIELDS
from monitoring.models import SurveyRecord

# Kept on SurveyRecord but not read from a sheet column.
NOT_FROM_THE_SHEET = {
    "id",
    "created_at",
    "updated_at",
    "person",
    "batch",
    "household",
    "source_row",
}


def test_every_answer_field_of_the_model_is_declared_once():
    model_fields = {
        field.name
        for field in SurveyRecord._meta.get_fields()
        if field.concrete and field.name not in NOT_FROM_THE_SHEET
    }
    declared = [column.field for column in survey.RECORD_COLUMNS]
    assert len(declared) == len(set(declared))
    assert set(declared) == model_fields


def test_keys_and_headers_are_unique():
    keys = [column.key for column in survey.SURVEY_COLUMNS]
    headers = [column.header for column in survey.SURVEY_COLUMNS]
    aliases = [alias for column in survey.SURVEY_COLUMNS for alias in column.aliases]
    assert len(keys) == len(set(keys))
    assert len(headers + aliases) == len(set(headers + aliases))


def test_page_labels_match_the_model_and_choice_columns_have_choices():
    for column in survey.RECORD_COLUMNS:
        model_field = SurveyRecord._meta.get_field(column.field)
        assert column.label == model_field.verbose_name
        assert bool(model_field.choices) == (column.kind == survey.CHOICE), column.key


def test_the_importer_and_the_writer_follow_the_declaration():
    assert [(c.key, c.name, c.aliases) for c in SURVEY.columns] == [
        (c.key, c.header, c.aliases) for c in survey.SURVEY_COLUMNS
    ]
    assert tuple(c.key for c in survey.ANSWER_COLUMNS) == SURVEY_ANSWER_FIELDS
    assert list(SURVEY_RECORD_FIELDS.values()) == [c.field for c in survey.RECORD_COLUMNS]
    assert set(SURVEY_RECORD_FIELDS) <= set(SURVEY.row_type._fields)
