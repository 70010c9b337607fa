"""(being written)"""


def household_work_sections(user, household) -> dict:
    return {}
