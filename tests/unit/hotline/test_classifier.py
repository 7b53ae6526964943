"""The category/urgency suggestion: the issue's examples, the held-out accuracy, the safety rule."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin.hotline.classify import suggest_for
from tongxin.hotline.evaluation import evaluate, labelled_set
from tongxin.hotline.rules import URGENT_MEDICAL_WORDS, Category, Urgency


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        ("家里老人降压药吃完了", Category.MEDICAL, Urgency.URGENT),
        ("独居老人两天没出门联系不上", Category.DAILY, Urgency.URGENT),
        ("孩子发烧39度需要去医院", Category.MEDICAL, Urgency.URGENT),
        ("小区封控买不到菜", Category.SUPPLIES, Urgency.URGENT),
        ("情绪低落睡不着", Category.PSYCH, Urgency.URGENT),
        ("老人突然晕倒了,叫不醒", Category.MEDICAL, Urgency.CRITICAL),
        ("健康码变黄了怎么办", Category.OTHER, Urgency.NORMAL),
    ],
)
def test_the_issues_examples(text, category, urgency):
    got = suggest_for(text)
    assert (got.category, got.urgency) == (category, urgency)


def test_the_labelled_set_holds_at_least_300_descriptions_with_a_held_out_part():
    rows = labelled_set()
    assert len(rows) >= 300
    assert len({r.text for r in rows}) == len(rows)
    held_out = [r for r in rows if r.held_out]
    assert 0.15 * len(rows) < len(held_out) < 0.35 * len(rows)
    assert {r.category for r in held_out} == set(Category)


def test_held_out_accuracy_stays_above_85_percent():
    scores = evaluate("held_out")
    assert scores.category_accuracy > 0.85, scores.misses
    assert scores.urgency_accuracy > 0.85, scores.misses


def test_no_urgent_medical_call_of_the_training_part_is_suggested_normal():
    # The held-out part is only scored (docs/hotline.md lists its misses, two of them urgent
    # medical calls suggested normal); fixing rules against it would spoil the score.
    for row in labelled_set():
        if (
            not row.held_out
            and row.category is Category.MEDICAL
            and row.urgency is not Urgency.NORMAL
        ):
            assert suggest_for(row.text).urgency is not Urgency.NORMAL, row.text


# Words around the medical word: polite, calm or unrelated phrases a caller adds.
FILLER = st.sampled_from(
    [
        "",
        "你好,",
        "想问一下,",
        "麻烦你们,",
        "家里",
        "老人",
        "孩子",
        "不急,",
        "备用",
        "谢谢",
        "小区",
        "还好",
    ]
)


@settings(max_examples=300, deadline=None)
@given(before=FILLER, word=st.sampled_from(sorted(URGENT_MEDICAL_WORDS)), after=FILLER)
def test_urgent_medical_words_are_never_classified_normal(before, word, after):
    assert suggest_for(before + word + after).urgency is not Urgency.NORMAL
