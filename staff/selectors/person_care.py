"""(being written)"""


def care_sections(user, person) -> dict:
    return {}
