"""Template filter of the children-in-hardship list: the reasons a row counts for."""

from django import template

from staff.selectors.hardship_children import reason_labels

register = template.Library()


@register.filter
def hardship_reasons(person) -> str:
    """`reason_labels` of a row of `hardship_children`, joined for a table cell."""
    return "、".join(reason_labels(person))
