"""The evidence functions `evidence.bind` builds once per run give exactly `Fact.text`'s
items, for every rule's facts over every record of a county (monitoring/rules/evidence.py);
`yuan`'s memo prints equal amounts alike and different ones apart."""

from decimal import Decimal

import pytest

from monitoring.crosscheck import ALL, load_dataset, load_policy
from monitoring.rules import Subject, rules
from monitoring.rules import evidence as ev
from monitoring.rules.records import yuan
from tests.test_crosscheck_fanout import AS_OF, build_county


@pytest.mark.django_db
def test_bound_facts_give_fact_texts_items_for_every_rule_and_record():
    build_county()
    dataset = load_dataset(AS_OF, load_policy(AS_OF.year), ALL)
    ctx = dataset.ctx
    compared = 0
    for subject, records in (
        (Subject.CERTIFIED, dataset.certified),
        (Subject.ROSTER_ONLY, dataset.roster_only),
    ):
        assert records
        for rule in rules(subject):
            bound = ev.bind(rule.evidence, ctx)
            for record in records:
                try:
                    expected = [
                        text
                        for fact in rule.evidence
                        if (text := fact.text(record, ctx, fact.tail(ctx))) is not None
                    ]
                except (AttributeError, KeyError, TypeError):
                    # A fact that reads a value the record lacks: only ever collected for a
                    # hit, where the rule has checked it is there; the bound ones fail alike.
                    with pytest.raises((AttributeError, KeyError, TypeError)):
                        [fact(record) for fact in bound]
                    continue
                items = [fact(record) for fact in bound]
                assert [item for item in items if item is not None] == expected, rule.code
                assert ev.collect(bound, record) == (
                    "[" + ", ".join(expected) + "]" if expected else ev.EMPTY
                )
                compared += 1
    assert compared > 100


def test_yuan_memo_prints_equal_amounts_alike_and_others_apart():
    assert yuan(Decimal("3121.00")) == "3,121元"
    assert yuan(3121) == "3,121元"
    assert yuan(3121.0) == "3,121元"
    assert yuan(Decimal("3121.5")) == "3,121.50元"
    assert yuan(Decimal("3121.50")) == "3,121.50元"
    assert yuan(Decimal("3121.05")) == "3,121.05元"
    assert yuan(Decimal("-3121")) == "-3,121元"
