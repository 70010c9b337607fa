"""The indicator page (统计) as a workbook: one sheet per task area, rows per township.

The tables are those of `staff.selectors.indicators.dashboard` for the user's scope, read
generically (tables → rows → cells), so a new table appears in the file without a change
here; its sheet is its `Table.area`.
"""

from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_GET

from cases.exports import Heading, xlsx_book_response
from cases.scope import scope_safe
from staff.selectors.indicators import OTHER_AREA, Table, dashboard
from staff.views.common import require_export_scope
from staff.views.dashboard import stats_as_of


def cell_value(value: object) -> object:
    """A cell as the page shows it: numbers stay numbers, rates and averages as their text."""
    if value is None or isinstance(value, int | float):
        return value
    return str(value)


def table_rows(table: Table) -> list:
    """A table's block on its sheet: title, column headers, rows, total, note, a blank line."""
    block: list = [
        Heading([table.title]),
        Heading(["", *(label for _key, label in table.columns)]),
    ]
    for row in (*table.rows, table.total):
        block.append([row.label, *(cell_value(value) for value in row.cells)])
    if table.note:
        block.append([table.note])
    block.append([])
    return block


def area_sheets(tables: dict[str, Table]) -> list[tuple[str, list]]:
    """(area, rows) in the order the areas first appear among the tables."""
    sheets: dict[str, list] = {}
    for table in tables.values():
        sheets.setdefault(table.area or OTHER_AREA, []).extend(table_rows(table))
    return list(sheets.items())


@scope_safe(how="indicator tables via staff.selectors.indicators.dashboard (scoped per table)")
@login_required
@require_GET
def stats_export(request):
    require_export_scope(request)
    # The page's reading of ?as_of= (malformed or future → today), so file and page agree.
    as_of, _message = stats_as_of(request.GET.get("as_of"))
    tables = dashboard(request.user, as_of)
    return xlsx_book_response(
        f"统计指标_{as_of:%Y%m%d}.xlsx",
        area_sheets(tables),
        request=request,
        label="indicators",
        filters={"as_of": as_of.isoformat()},
    )
