"""(being written)"""


def work_sections(user, person) -> dict:
    return {}
