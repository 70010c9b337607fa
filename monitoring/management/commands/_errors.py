"""How the monitoring commands report a database error (shared by the import and cross-check)."""

from django.core.management.base import CommandError
from django.db import DatabaseError


def database_error(error: DatabaseError, outcome_zh: str, outcome_en: str) -> CommandError:
    """One line, not a traceback: the command's writes were one transaction, rolled back."""
    detail = " ".join(str(error).split())[:300]
    return CommandError(
        f"数据库错误，{outcome_zh}，请检查数据库后重试：{detail} / "
        f"database error: {outcome_en}; check the database and run again"
    )
