"""monitoring.importing.gcpause: imports run with the cyclic GC paused, and restore it."""

import gc

import pytest

from monitoring.importing import engine
from monitoring.importing.gcpause import gc_paused
from monitoring.models import Source
from monitoring.services import import_create_batch, import_run, import_validate

from .import_files import SURVEY_HEADER, survey_row, write_table


@pytest.fixture
def gc_enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_restored_after(gc_enabled):
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer section still runs
    assert gc.isenabled()


def test_restored_after_an_exception(gc_enabled):
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_left_disabled_when_it_was_disabled(gc_enabled):
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()
    gc.enable()


@pytest.mark.django_db
def test_import_and_preview_run_with_the_collector_paused(
    gc_enabled, monkeypatch, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    seen = []
    real = engine.validate

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "validate", spy)
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1)])
    import_validate(Source.SURVEY, path)
    batch = import_create_batch(Source.SURVEY, path, original_name="s.xlsx")
    assert import_run(batch.pk).status == "done"
    assert seen == [False, False]
    assert gc.isenabled()
