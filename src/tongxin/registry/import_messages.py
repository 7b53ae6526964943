"""Problem codes of the resident import and their messages in Chinese and English.

Codes are stable: the CLI's JSON, the upload page and docs/import.md use them.
"""

from __future__ import annotations

from typing import Any

# code -> (Chinese, English). {col} is the header as written; other fields per code.
MESSAGES: dict[str, tuple[str, str]] = {
    "file_type": (
        "不支持的文件类型,请使用 .xlsx 或 .csv",
        "unsupported file type: use .xlsx or .csv",
    ),
    "file_unreadable": ("无法读取文件", "the file cannot be read"),
    "file_encoding": ("无法识别文件编码", "the file's encoding is not UTF-8 or GB18030"),
    "file_empty": ("文件中没有表头和数据", "the file has no header and no data"),
    "file_no_rows": ("文件只有表头,没有数据行", "the file has a header but no data rows"),
    "header_missing": ("缺少必填列“{col}”", "required column '{col}' is missing"),
    "header_missing_building": (
        "缺少“楼栋”列(或“楼栋编码”列)",
        "column '楼栋' (building), or '楼栋编码' (building_code), is missing",
    ),
    "header_unknown": (
        "无法识别的列名“{col}”,请按模板修改或删除该列",
        "unknown column '{col}': rename it as in the template or delete it",
    ),
    "header_duplicate": (
        "列“{col}”与第{other}列表示同一项,只能保留一列",
        "column '{col}' repeats column {other}; keep one",
    ),
    "community_required": (
        "按楼栋名称导入时需要指定社区(--community),或在文件中加入“楼栋编码”列",
        "importing by building name needs the community (--community) or a '楼栋编码' column",
    ),
    "value_without_header": (
        "第{index}列没有列名却有数据“{value}”",
        "column {index} has no header but holds '{value}'",
    ),
    "required": ("“{col}”不能为空", "'{col}' is required"),
    "too_long": ("“{col}”不能超过{limit}个字符", "'{col}' is longer than {limit} characters"),
    "id_type_invalid": (
        "证件类型“{value}”无效,应为 居民身份证、护照 或 其他",
        "ID type '{value}' is not one of 居民身份证/resident_card, 护照/passport, 其他/other",
    ),
    "id_shape": (
        "身份证号应为18位,前17位为数字",
        "an ID number has 18 characters, 17 digits first",
    ),
    "id_as_number": (
        "证件号码被Excel存成了数字,末几位已丢失;请把该列设为“文本”后重新输入",
        "Excel stored the ID number as a number and lost its last digits: format the column "
        "as text and type the numbers again",
    ),
    "id_check_digit": ("身份证号校验位错误", "the ID number's check digit is wrong"),
    "id_birth_date": (
        "身份证号中的出生日期无效",
        "the birth date inside the ID number is not a date",
    ),
    "id_number_invalid": (
        "证件号码只能包含字母、数字和“-”,3至32位",
        "a document number has 3 to 32 letters, digits or dashes",
    ),
    "id_birth_mismatch": (
        "出生日期{value}与身份证号中的出生日期{expected}不一致",
        "birth date {value} differs from {expected} in the ID number",
    ),
    "id_gender_mismatch": (
        "性别“{value}”与身份证号中的性别“{expected}”不一致",
        "gender '{value}' differs from '{expected}' in the ID number",
    ),
    "gender_invalid": (
        "性别“{value}”无效,应为 男/女 或 M/F",
        "gender '{value}' is not 男/女 or M/F",
    ),
    "date_invalid": (
        "“{col}”的日期“{value}”无效,应为 YYYY-MM-DD 或 YYYY/MM/DD",
        "'{col}' date '{value}' is not a date: use YYYY-MM-DD or YYYY/MM/DD",
    ),
    "date_future": (
        "“{col}”中的日期{date}晚于今天({today})",
        "'{col}' holds the date {date}, which is after today ({today})",
    ),
    "phone_invalid": (
        "手机号“{value}”无效,应为11位大陆手机号(可带+86、空格或横线)",
        "phone '{value}' is not an 11-digit mainland mobile number (+86, spaces, dashes allowed)",
    ),
    "flag_invalid": (
        "“{col}”应填 是/否、Y/N 或 1/0,不是“{value}”",
        "'{col}' takes 是/否, Y/N or 1/0, not '{value}'",
    ),
    "status_invalid": (
        "状态“{value}”无效,应为 在家、外出、住院 或 死亡",
        "status '{value}' is not 在家/present, 外出/away, 住院/hospitalised or 死亡/deceased",
    ),
    "id_duplicate_in_file": (
        "证件号码与{other}重复",
        "the ID number repeats {other_en}",
    ),
    "id_duplicate_in_db": (
        "证件号码已登记(居民码 {resident_code})",
        "the ID number is already registered (resident code {resident_code})",
    ),
    "building_unknown": ("楼栋编码“{value}”不存在", "no building has code '{value}'"),
    "building_not_building": (
        "编码“{value}”是{level}而不是楼栋",
        "code '{value}' belongs to a {level}, not a building",
    ),
    "building_unknown_by_name": (
        "{community}没有楼栋“{place}”",
        "{community} has no building '{place}'",
    ),
    "building_ambiguous": (
        "{community}有多个名为“{value}”的楼栋,请填写“小区”列或“楼栋编码”",
        "{community} has several buildings named '{value}': fill in 小区 or 楼栋编码",
    ),
    "building_outside_community": (
        "楼栋编码“{value}”不在{community}",
        "building '{value}' is not in {community}",
    ),
    "building_mismatch": (
        "楼栋编码{found_code}是{place},与本行填写的“{value}”不一致",
        "building code {found_code} is {place}, not '{value}' as this row says",
    ),
    "unit_required": (
        "{building}分单元,请填写“单元”",
        "{building} has units: fill in the unit",
    ),
}


# Every code a report can carry (docs/import.md explains each). The other MESSAGES entries are
# alternative wordings of one of these codes.
PROBLEM_CODES = (
    "file_type",
    "file_unreadable",
    "file_encoding",
    "file_empty",
    "file_no_rows",
    "header_missing",
    "header_unknown",
    "header_duplicate",
    "community_required",
    "value_without_header",
    "required",
    "too_long",
    "id_type_invalid",
    "id_shape",
    "id_check_digit",
    "id_birth_date",
    "id_number_invalid",
    "id_birth_mismatch",
    "id_gender_mismatch",
    "gender_invalid",
    "date_invalid",
    "date_future",
    "phone_invalid",
    "flag_invalid",
    "status_invalid",
    "id_duplicate_in_file",
    "id_duplicate_in_db",
    "building_unknown",
    "building_ambiguous",
    "building_outside_community",
    "building_mismatch",
    "unit_required",
)


def message(code: str, **fields: Any) -> tuple[str, str]:
    """Return the Chinese and English message of a problem code, filled in."""
    zh, en = MESSAGES[code]
    return zh.format(**fields), en.format(**fields)


__all__ = ["MESSAGES", "PROBLEM_CODES", "message"]
