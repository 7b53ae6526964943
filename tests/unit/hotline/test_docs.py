from pathlib import Path

from tongxin.hotline.evaluation import evaluate, markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "hotline.md"


def test_docs_hotline_md_carries_the_current_held_out_figures():
    text = DOC.read_text(encoding="utf-8")
    begin = text.index("-->\n", text.index("<!-- evaluation:begin")) + len("-->\n")
    end = text.index("<!-- evaluation:end -->")
    assert text[begin:end] == markdown(evaluate("held_out"))
