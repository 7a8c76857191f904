"""Identity and phone checks, with real check digits."""
import pytest

from app.validators import (
    check_credit_code, check_not_negative, check_period, check_phone, check_positive, check_resident_id,
    credit_code_check_char, resident_id_check_char,
)
from schema.people import Owner


@pytest.mark.parametrize("number", ["11010519491231002X", "440305199003071236", "110101199003074477"])
def test_valid_resident_ids(number):
    assert resident_id_check_char(number[:17]) == number[17]
    assert check_resident_id(number) is None
    assert check_resident_id(number.lower()) is None


@pytest.mark.parametrize("number, message", [
    ("110105194912310021", "校验位"),        # last digit wrong (should be X)
    ("44030519900307123", "18位"),           # 17 digits
    ("4403051990030712355", "18位"),         # 19 digits
    ("44030519900230123X", "出生日期"),       # 30 February
    ("440305299003071236", "出生日期"),       # born in the future
    ("04030519900307123X", "地区码"),
    ("44030519900307A235", "18位"),
    ("", "18位"),
])
def test_invalid_resident_ids(number, message):
    assert message in check_resident_id(number)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91310115MA1K3YJ23L"])
def test_valid_credit_codes(code):
    assert credit_code_check_char(code[:17]) == code[17]
    assert check_credit_code(code) is None  # the first is GB 32100's worked example


@pytest.mark.parametrize("code, message", [
    ("91350100M000100Y42", "校验位"),
    ("91350100M000100Y4", "18位"),
    ("91350100M00010OY43", "18位"),  # letter O is not in the alphabet
])
def test_invalid_credit_codes(code, message):
    assert message in check_credit_code(code)


@pytest.mark.parametrize("phone", ["13800138000", "19912345678", "0755-26881234", "075526881234", "010-88886666",
                                   "0755-2688123-801", "400-800-1234"])
def test_valid_phones(phone):
    assert check_phone(phone) is None


@pytest.mark.parametrize("phone", ["12800138000", "1380013800", "26881234", "abc", "0755-0688123", "+1 555 0100"])
def test_invalid_phones(phone):
    assert "电话号码格式不正确" in check_phone(phone)


def test_amounts_and_periods():
    from datetime import date

    assert check_positive("0.01") is None and check_positive(0) and check_positive("-1") and check_positive("x")
    assert check_not_negative(0) is None and "负数" in check_not_negative("-0.01")
    assert check_period(date(2026, 1, 2), date(2026, 1, 1)) == "结束日期不能早于开始日期"
    assert check_period(date(2026, 1, 1), date(2026, 1, 1)) is None


def test_owner_rules_choose_the_check_by_kind():
    person = {"kind": "person", "id_type": "resident_id", "id_number": "440305199003071236"}
    assert Owner.check(person) == {}
    assert "校验位" in Owner.check({**person, "id_number": "440305199003071235"})["id_number"]
    assert "个人业主" in Owner.check({**person, "id_type": "credit_code"})["id_type"]
    company = {"kind": "company", "id_type": "credit_code", "id_number": "91350100M000100Y43", "contact_person": "陈经理"}
    assert Owner.check(company) == {}
    assert "校验位" in Owner.check({**company, "id_number": "91350100M000100Y42"})["id_number"]
    assert "联系人" in Owner.check({**company, "contact_person": ""})["contact_person"]
    assert "统一社会信用代码" in Owner.check({**company, "id_type": "resident_id"})["id_type"]
    assert Owner.check({**person, "id_type": "passport", "id_number": "E12345678"}) == {}
