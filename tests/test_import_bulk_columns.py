"""BulkTable.insert (monitoring/importing/bulk.py) builds COPY data column by column, with the
values every row shares (a history row's actor, source and model) converted once: the rows
read back exactly as written, defaults and escapes included."""

from datetime import date

import pytest
from django.utils import timezone

from cases.models import ChangeRecord, Person
from monitoring.importing.bulk import BulkTable

from .factories import township

pytestmark = pytest.mark.django_db


def test_shared_values_and_row_values_read_back(admin_user):
    now = timezone.now()
    rows = [
        {"object_id": "1", "action": "create", "changes": {"name": [None, "张\t三\\"]}},
        {"object_id": "2", "action": "update", "changes": {"note": ["a\nb", "c\rd"]}},
    ]
    same = {"actor_id": admin_user.pk, "source": "导入批次 9", "model": "cases.person"}
    BulkTable(ChangeRecord, now).insert(rows, same=same)
    stored = list(
        ChangeRecord.objects.order_by("object_id").values(
            "object_id", "action", "changes", "actor_id", "source", "model", "reason", "created_at"
        )
    )
    assert stored == [{**row, **same, "reason": "", "created_at": now} for row in rows]


def test_rows_leaving_out_a_column_get_its_default_and_ids_follow_row_order():
    place = township("城关镇").pk
    rows = [
        {
            "id_number": f"34152219500101{n:04d}",
            "name": f"人{n}",
            "gender": "M",
            "birth_date": date(1950, 1, 1),
            "township_id": place,
            **({"phone": "138"} if n == 1 else {}),
        }
        for n in range(3)
    ]
    ids = BulkTable(Person, timezone.now()).insert(rows, key=("id_number",))
    assert ids is not None
    stored = {
        pk: (number, phone, village)
        for pk, number, phone, village in Person.objects.values_list(
            "pk", "id_number", "phone", "village_id"
        )
    }
    assert [stored[pk] for pk in ids] == [
        (rows[0]["id_number"], "", None),
        (rows[1]["id_number"], "138", None),
        (rows[2]["id_number"], "", None),
    ]
