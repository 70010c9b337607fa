"""Township name matching (cases/geography.py): the names sheets really carry."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases.geography import (
    SHORT_NAMES,
    TOWNSHIPS,
    ZONE_NAME,
    match_township,
    normalise_township_name,
    short_name,
    township_code,
)
from cases.models import Township

FULL_NAMES = [name for name, _ in TOWNSHIPS]
SUFFIXED = [name for name, kind in TOWNSHIPS if kind in ("town", "township")]


def test_thirty_one_units_with_unique_short_names_and_codes():
    assert len(TOWNSHIPS) == 31
    assert len(SHORT_NAMES) == 31
    assert len({township_code(i) for i in range(31)}) == 31
    kinds = [kind for _, kind in TOWNSHIPS]
    assert (kinds.count("town"), kinds.count("township"), kinds.count("zone")) == (23, 7, 1)


@pytest.mark.parametrize("full", FULL_NAMES)
def test_full_name_matches_itself(full):
    assert match_township(full) == full


@pytest.mark.parametrize("full", SUFFIXED)
def test_name_without_suffix_matches(full):
    bare = full[:-1]
    assert full[-1] in "镇乡"
    assert normalise_township_name(bare) == normalise_township_name(full) == bare
    assert match_township(bare) == full


@pytest.mark.parametrize("full", FULL_NAMES)
def test_county_prefix_is_dropped(full):
    assert match_township(f"霍邱县{full}") == full


@given(
    st.sampled_from(FULL_NAMES),
    st.booleans(),
    st.lists(st.sampled_from([" ", "\u3000", "\t", "\n", "\u00a0"]), max_size=4),
    st.data(),
)
def test_spaces_anywhere_and_missing_suffix_still_match(full, drop_suffix, spaces, data):
    text = full[:-1] if drop_suffix and full in SUFFIXED else full
    for space in spaces:
        at = data.draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + space + text[at:]
    assert match_township(text) == full


def test_full_width_characters_are_folded():
    assert normalise_township_name("\u3000河口镇\u3000") == "河口"
    assert match_township("ＡＢ河口镇") is None  # extra letters: not a township


@given(st.sampled_from(FULL_NAMES + [name[:-1] for name in SUFFIXED]))
def test_normalising_is_idempotent(name):
    once = normalise_township_name(name)
    assert normalise_township_name(once) == once


def test_zhongxingji_keeps_its_ji():
    """众兴集镇's short name is 众兴集 (the 集 is part of the name, not a suffix)."""
    assert short_name("众兴集镇") == "众兴集"
    assert match_township("众兴集镇") == "众兴集镇"
    assert match_township("众兴集") == "众兴集镇"
    assert match_township("众兴") is None
    assert match_township("众兴镇") is None


def test_linhuaigang_and_three_character_townships():
    assert match_township("临淮岗") == "临淮岗镇"
    assert match_township("王截流") == "王截流乡"
    assert match_township("城西湖") == "城西湖乡"
    assert match_township("城西湖乡") == "城西湖乡"


@pytest.mark.parametrize(
    "spelling",
    [
        "霍邱经济开发区",
        "经济开发区",
        "开发区",
        "霍邱县经济开发区",
        "霍邱开发区",
        "经开区",
        "霍邱县经开区",
        " 霍邱经济 开发区 ",
    ],
)
def test_development_zone_spellings(spelling):
    assert normalise_township_name(spelling) == ZONE_NAME
    assert match_township(spelling) == ZONE_NAME


def test_another_development_zone_is_not_ours():
    assert match_township("合肥经济开发区") is None


@pytest.mark.parametrize("unknown", ["", "镇", "乡", "合肥镇", "城关街道办", "六安市", "霍邱县"])
def test_unknown_names_do_not_match(unknown):
    assert match_township(unknown) is None


def test_none_does_not_match():
    assert match_township(None) is None


def test_suffix_alone_is_not_stripped_to_nothing():
    assert normalise_township_name("镇") == "镇"
    assert normalise_township_name("乡") == "乡"


@pytest.mark.django_db
def test_township_table_matches_the_module():
    rows = list(Township.objects.order_by("code").values_list("code", "name", "short_name", "kind"))
    assert rows == [
        (township_code(i), name, short_name(name), kind) for i, (name, kind) in enumerate(TOWNSHIPS)
    ]
