import pytest

from tongxin.accounts.rules import COMMON_PASSWORDS, password_problems
from tongxin.demo.service import DEMO_LOGINS


@pytest.mark.parametrize(
    "password",
    ["tongxin-test-1", "Baiyun-street-7", "采样点2号-2022", "correct horse 9 battery"],
)
def test_a_long_mixed_password_is_accepted(password):
    assert password_problems(password, "wang") == []


def test_a_password_shorter_than_ten_characters_is_refused():
    assert password_problems("abc-12345", "wang") == ["密码至少需要10个字符"]


@pytest.mark.parametrize("password", ["1234567890123", "abcdefghijklm", "社区防疫工作平台同心"])
def test_only_digits_or_only_letters_is_refused(password):
    assert "密码不能全是数字或全是字母，请混合字母、数字或符号" in password_problems(
        password, "wang"
    )


@pytest.mark.parametrize("password", ["zhangsan01", "ZhangSan2022!", "2022-zhangsan"])
def test_the_user_name_with_digits_or_symbols_added_is_refused(password):
    assert "密码不能是用户名（加几个数字或符号也不行）" in password_problems(password, "zhangsan")


@pytest.mark.parametrize(
    "password", ["12345678", "88888888", "a123456789", "woaini1314", "qwertyuiop", "PASSWORD"]
)
def test_common_passwords_are_refused_whatever_else_they_break(password):
    assert "这是常见密码，很容易被猜中，请换一个" in password_problems(password, "wang")


def test_a_user_name_without_letters_does_not_match_every_letterless_password():
    assert password_problems("12-34-56-78-90", "007") == []


def test_every_common_password_is_lower_case_so_the_lookup_finds_it():
    assert all(p == p.lower() for p in COMMON_PASSWORDS)


def test_the_demo_logins_still_meet_the_policy():
    assert [(d.username, password_problems(d.password, d.username)) for d in DEMO_LOGINS] == [
        (d.username, []) for d in DEMO_LOGINS
    ]
