"""HL7 v2 ORU^R01 lab results: tubes, results, Ct values and the ACK."""

from datetime import UTC, datetime

import hl7
import pytest

from tongxin.screening.hl7 import Hl7Error, ack, parse_oru, split_messages

MSH = "MSH|^~\\&|LIS|LAB1|TONGXIN|CDC|20220923103000+0800||ORU^R01^ORU_R01|{ctl}|P|2.5.1"
RNA = "94500-6^SARS-CoV-2 RNA^LN"


def message(*segments: str, ctl: str = "MSG001") -> str:
    return "\r".join([MSH.format(ctl=ctl), "PID|1||X", *segments])


def test_spm_tube_coded_result_and_ct_come_out_of_one_obr_group():
    parsed = parse_oru(
        message(
            "OBR|1||F123|" + RNA + "|||20220923100000+0800",
            "OBX|1|CWE|" + RNA + "||10828004^Positive^SCT||||||F",
            "OBX|2|NM|94510-5^N gene Ct^LN||31.2||||||F",
            "OBX|3|NM|94509-7^ORF1ab Ct^LN||28.4||||||F",
            "SPM|1|T00000000018&LAB1^F123||SW",
        )
    )
    assert parsed.control_id == "MSG001"
    assert parsed.problems == []
    [row] = parsed.rows
    assert (row.tube, row.result, row.ct) == ("T00000000018", "positive", 28.4)
    assert row.at == datetime(2022, 9, 23, 2, 0, tzinfo=UTC)


def test_without_spm_the_tube_is_the_filler_order_number_and_words_are_read():
    parsed = parse_oru(
        message(
            "OBR|1||T00000000026|" + RNA,
            "OBX|1|ST|" + RNA + "||阴性||||||F",
            "OBR|2||T00000000034|" + RNA,
            "OBX|1|ST|" + RNA + "||Not detected||||||F",
            "OBR|3||T00000000042|" + RNA,
            "OBX|1|CWE|" + RNA + "||455371000124106^Invalid result^SCT||||||F",
        )
    )
    assert [(r.row, r.tube, r.result, r.ct) for r in parsed.rows] == [
        (1, "T00000000026", "negative", None),
        (2, "T00000000034", "negative", None),
        (3, "T00000000042", "invalid", None),
    ]


def test_disagreeing_gene_results_count_as_the_most_serious():
    parsed = parse_oru(
        message(
            "OBR|1||T00000000026|" + RNA,
            "OBX|1|ST|N gene||Negative||||||F",
            "OBX|2|ST|ORF1ab||Positive||||||F",
        )
    )
    assert parsed.rows[0].result == "positive"


def test_an_unreadable_result_or_a_missing_tube_is_a_row_problem_not_a_row():
    parsed = parse_oru(
        message(
            "OBR|1||T00000000026|" + RNA,
            "OBX|1|ST|" + RNA + "||maybe||||||F",
            "OBR|2|||" + RNA,
            "OBX|1|ST|" + RNA + "||Negative||||||F",
            "OBR|3||T00000000042|" + RNA,
            "OBX|1|ST|" + RNA + "||Negative||||||F",
            "OBX|2|NM|Ct||abc||||||F",
        )
    )
    assert parsed.rows == []
    assert [(p.row, p.code, p.value) for p in parsed.problems] == [
        (1, "result_word", "maybe"),
        (2, "tube_missing", ""),
        (3, "ct_value", "abc"),
    ]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("MSH|^~\\&|LIS|LAB1|TONGXIN|CDC|20220923||ADT^A01|X1|P|2.5.1\rPID|1", "hl7_type"),
        (MSH.format(ctl="M1") + "\rPID|1||X", "hl7_no_obr"),
        (MSH.format(ctl="") + "\rOBR|1||T1", "hl7_control_id"),
    ],
)
def test_a_message_that_is_not_a_usable_oru_r01_is_refused_whole(text, code):
    with pytest.raises(Hl7Error) as err:
        parse_oru(text)
    assert err.value.code == code


def test_a_file_splits_into_messages_whatever_the_line_endings_and_framing():
    one = message("OBR|1||T00000000026", ctl="A")
    two = message("OBR|1||T00000000034", ctl="B")
    text = "FHS|^~\\&\nBHS|^~\\&\n" + one.replace("\r", "\r\n") + "\n\x0b" + two + "\x1c\rBTS|2\n"
    assert split_messages(text) == [one, two]


def test_the_ack_answers_the_control_id_with_its_code_and_lists_errors():
    text = ack(message("OBR|1||T1"), code="AE", note="accepted 0, rejected 1",
               errors=["row 1 T1: unknown_tube | no such tube"])  # fmt: skip
    reply = hl7.parse(text)
    assert str(reply.extract_field("MSH", 1, 9, 1, 1)) == "ACK"
    assert str(reply.extract_field("MSA", 1, 1)) == "AE"
    assert str(reply.extract_field("MSA", 1, 2)) == "MSG001"
    assert str(reply.extract_field("MSA", 1, 3)) == "accepted 0, rejected 1"
    assert "unknown_tube \\F\\ no such tube" in str(reply.segment("ERR"))


def test_an_unparsable_message_still_gets_a_reject_ack():
    reply = hl7.parse(ack("garbage", code="AR", note="not HL7"))
    assert str(reply.extract_field("MSA", 1, 1)) == "AR"
