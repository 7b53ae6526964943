"""The labelled set of call descriptions, its fixed split and the classifier's scores.

The split is by a hash of the text, so it never changes when lines are added elsewhere and
nobody chooses which lines are held out. `tongxin hotline evaluate` prints these figures
and docs/hotline.md shows them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from tongxin.hotline.classify import suggest_for
from tongxin.hotline.rules import Category, Urgency

HELD_OUT_EVERY = 4  # one line in four (by hash) is held out


@dataclass(frozen=True)
class Labelled:
    """One description with its category and urgency as a person labelled them."""

    text: str
    category: Category
    urgency: Urgency
    line: int

    @property
    def held_out(self) -> bool:
        digest = hashlib.sha256(self.text.encode("utf-8")).digest()
        return digest[0] % HELD_OUT_EVERY == 0


def labelled_set() -> list[Labelled]:
    """Read the labelled descriptions shipped in the package."""
    data = resources.files("tongxin.hotline").joinpath("data/labelled_calls.tsv")
    rows = []
    for number, raw in enumerate(data.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        category, urgency, text = raw.split("\t")
        rows.append(Labelled(text.strip(), Category(category), Urgency(urgency), number))
    return rows


@dataclass(frozen=True)
class Scores:
    """Accuracy and confusion matrices of one part of the labelled set."""

    part: str
    size: int
    category_accuracy: float
    urgency_accuracy: float
    both_accuracy: float
    category_confusion: dict[str, dict[str, int]]  # labelled -> suggested -> count
    urgency_confusion: dict[str, dict[str, int]]
    misses: list[dict[str, str]]

    def as_dict(self) -> dict[str, object]:
        return {
            "part": self.part,
            "size": self.size,
            "category_accuracy": self.category_accuracy,
            "urgency_accuracy": self.urgency_accuracy,
            "both_accuracy": self.both_accuracy,
            "category_confusion": self.category_confusion,
            "urgency_confusion": self.urgency_confusion,
            "misses": self.misses,
        }


def score(rows: list[Labelled], part: str) -> Scores:
    """Suggest for every row and compare with its labels."""
    cat = {a.value: {b.value: 0 for b in Category} for a in Category}
    urg = {a.value: {b.value: 0 for b in Urgency} for a in Urgency}
    right_cat = right_urg = right_both = 0
    misses = []
    for row in rows:
        got = suggest_for(row.text)
        cat[row.category.value][got.category.value] += 1
        urg[row.urgency.value][got.urgency.value] += 1
        ok_cat, ok_urg = got.category is row.category, got.urgency is row.urgency
        right_cat += ok_cat
        right_urg += ok_urg
        right_both += ok_cat and ok_urg
        if not (ok_cat and ok_urg):
            misses.append(
                {
                    "text": row.text,
                    "labelled": f"{row.category.value}/{row.urgency.value}",
                    "suggested": f"{got.category.value}/{got.urgency.value}",
                }
            )
    n = len(rows) or 1
    return Scores(
        part=part,
        size=len(rows),
        category_accuracy=round(right_cat / n, 4),
        urgency_accuracy=round(right_urg / n, 4),
        both_accuracy=round(right_both / n, 4),
        category_confusion=cat,
        urgency_confusion=urg,
        misses=misses,
    )


def evaluate(part: str = "held_out") -> Scores:
    """Score the classifier on the held-out part, the training part or all of the set."""
    rows = labelled_set()
    if part == "held_out":
        rows = [r for r in rows if r.held_out]
    elif part == "train":
        rows = [r for r in rows if not r.held_out]
    return score(rows, part)


def markdown(scores: Scores) -> str:
    """Render scores as the Markdown block docs/hotline.md carries (a test compares them)."""
    lines = [
        f"Part: `{scores.part}`, {scores.size} descriptions. "
        f"Category accuracy **{scores.category_accuracy:.1%}**, "
        f"urgency accuracy **{scores.urgency_accuracy:.1%}**, "
        f"both right **{scores.both_accuracy:.1%}**.",
        "",
        "Category confusion (rows: labelled, columns: suggested):",
        "",
    ]
    for matrix in (scores.category_confusion, scores.urgency_confusion):
        names = list(matrix)
        lines.append("| labelled \\ suggested | " + " | ".join(names) + " |")
        lines.append("|---" * (len(names) + 1) + "|")
        for name in names:
            lines.append(f"| {name} | " + " | ".join(str(matrix[name][n]) for n in names) + " |")
        lines.append("")
        if matrix is scores.category_confusion:
            lines += ["Urgency confusion:", ""]
    lines.append("Misses:")
    lines.append("")
    for miss in scores.misses:
        labelled, suggested = miss["labelled"], miss["suggested"]
        lines.append(f"- {miss['text']}: labelled {labelled}, suggested {suggested}")
    return "\n".join(lines) + "\n"
