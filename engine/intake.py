"""What an application is made of, checked before a case starts: the applicant (a natural person
with a 居民身份证号码, or a legal person with a 统一社会信用代码) and the item's own application
fields, declared per item in the catalogue (``application:``).

Every check collects all problems at once, so a clerk at the window corrects the whole form in
one go; ``ApplicationInvalid`` carries them per field for the page to mark.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.errors import BadInput
from engine.runtime.values import check_text

# -- identity numbers ----------------------------------------------------------------------------

#: GB 11643-1999: weights of the first 17 digits, and the check character by remainder mod 11
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
#: GB 32100-2015: the 31 characters of a 统一社会信用代码 (no I, O, S, V, Z) and the weights
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_CHARS[(31 - total % 31) % 31]


@dataclass(frozen=True)
class IdNumber:
    """A checked 18-digit 居民身份证号码: the birth date and sex it encodes."""

    number: str
    born: date
    male: bool

    def age_on(self, day: date) -> int:
        return day.year - self.born.year - ((day.month, day.day) < (self.born.month, self.born.day))


def parse_id_number(text: str, what: str = "身份证号") -> IdNumber:
    """A 18-digit 居民身份证号码 (GB 11643): its region, birth date and check character."""
    number = text.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise BadInput(f"{what}应为 18 位（前 17 位为数字，最后一位为数字或 X）")
    if number[0] == "0":
        raise BadInput(f"{what}的地区码不正确")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise BadInput(f"{what}中的出生日期 {number[6:14]} 不是有效日期") from None
    if born.year < 1900:
        raise BadInput(f"{what}中的出生日期 {number[6:14]} 不正确")
    if id_check_char(number[:17]) != number[17]:
        raise BadInput(f"{what}校验位不正确，请核对号码")
    return IdNumber(number, born, int(number[16]) % 2 == 1)


def check_credit_code(text: str, what: str = "统一社会信用代码") -> str:
    """An 18-character 统一社会信用代码 (GB 32100) with its check character."""
    code = text.strip().upper()
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        raise BadInput(f"{what}应为 18 位数字或大写字母（不含 I、O、S、V、Z）")
    if uscc_check_char(code[:17]) != code[17]:
        raise BadInput(f"{what}校验位不正确，请核对代码")
    return code


def check_phone(text: str, what: str = "联系电话") -> str:
    phone = text.strip().replace(" ", "")
    if not (_MOBILE.fullmatch(phone) or _LANDLINE.fullmatch(phone)):
        raise BadInput(f"{what}应为 11 位手机号码或带区号的固定电话（如 0591-87654321）")
    return phone


# -- the applicant -------------------------------------------------------------------------------

NATURAL, LEGAL = "natural", "legal"
APPLICANT_KINDS = {NATURAL: "自然人", LEGAL: "法人或其他组织"}
APPLICANT_FIELDS = {
    NATURAL: (("name", "姓名"), ("id_number", "身份证号"), ("phone", "联系电话")),
    LEGAL: (("name", "单位名称"), ("credit_code", "统一社会信用代码"), ("legal_rep", "法定代表人"),
            ("contact", "联系人"), ("phone", "联系电话")),
}
MAX_NAME = 100


class ApplicationInvalid(BadInput):
    """The application as given cannot be registered: ``problems`` maps each field (``applicant.name``,
    ``application.area`` …) to what is wrong with it."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("申请信息有误，请更正后再提交：" + "；".join(problems.values()))

    def to_dict(self) -> dict:
        return {**super().to_dict(), "problems": self.problems}


def _collect(problems: dict[str, str], key: str, check, *args):
    try:
        return check(*args)
    except BadInput as exc:
        problems[key] = exc.message
        return None


def _name(value: Any, what: str) -> str:
    text = check_text(value if value is not None else "", what, MAX_NAME).strip()
    if not text:
        raise BadInput(f"请填写{what}")
    return text


def check_applicant(info: Any, problems: dict[str, str] | None = None) -> dict[str, str]:
    """The applicant as registered at the window: ``kind`` natural or legal and its fields, each
    checked (the identity number's and credit code's check characters, the phone's form)."""
    own = problems is None
    problems = {} if problems is None else problems
    if not isinstance(info, dict):
        raise BadInput("申请人信息应为对象")
    kind = info.get("kind")
    if kind not in APPLICANT_KINDS:
        problems["applicant.kind"] = "请选择申请人类型（自然人或法人）"
        if own:
            raise ApplicationInvalid(problems)
        return {}
    unknown = set(info) - {"kind"} - {k for k, _ in APPLICANT_FIELDS[kind]}
    if unknown:
        raise BadInput(f"申请人信息含有未知字段：{'、'.join(sorted(unknown))}")
    out: dict[str, str] = {"kind": kind}
    for key, label in APPLICANT_FIELDS[kind]:
        value = info.get(key)
        if key == "id_number":
            parsed = _collect(problems, "applicant.id_number", parse_id_number, str(value or ""), label)
            checked = parsed.number if parsed else None
        elif key == "credit_code":
            checked = _collect(problems, "applicant.credit_code", check_credit_code, str(value or ""), label)
        elif key == "phone":
            checked = _collect(problems, "applicant.phone", check_phone, str(value or ""), label)
        else:
            checked = _collect(problems, f"applicant.{key}", _name, value, label)
        if checked is not None:
            out[key] = checked
    if own and problems:
        raise ApplicationInvalid(problems)
    return out


# -- the item's application fields ---------------------------------------------------------------

FIELD_TYPES = ("string", "text", "integer", "date", "enum", "phone", "id_number", "credit_code")
_DEFAULT_MAX = {"string": 200, "text": 2000}


def check_field(spec: dict[str, Any], value: Any, today: date) -> Any:
    """One application field's value as declared (``type``, ``min``/``max``, ``options``, and for
    identity numbers ``sex`` and ``min_age``); None when left empty."""
    label, kind = spec["label"], spec["type"]
    if value is None or (isinstance(value, str) and not value.strip()):
        if spec.get("required"):
            raise BadInput(f"请填写{label}")
        return None
    if kind == "integer":
        if isinstance(value, bool):
            raise BadInput(f"{label}应为整数")
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise BadInput(f"{label}应为整数") from None
        if "min" in spec and number < spec["min"] or "max" in spec and number > spec["max"]:
            raise BadInput(f"{label}应在 {spec.get('min', '')} 到 {spec.get('max', '')} 之间")
        return number
    text = check_text(str(value), label, _DEFAULT_MAX.get(kind, 200)).strip()
    if kind in ("string", "text"):
        limit = spec.get("max", _DEFAULT_MAX[kind])
        if len(text) > limit:
            raise BadInput(f"{label}过长（上限 {limit} 字）")
        return text
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise BadInput(f"{label}应为日期（年-月-日）") from None
    if kind == "enum":
        if text not in spec["options"]:
            raise BadInput(f"{label}应为 {'、'.join(spec['options'])} 之一")
        return text
    if kind == "phone":
        return check_phone(text, label)
    if kind == "credit_code":
        return check_credit_code(text, label)
    if kind == "id_number":
        parsed = parse_id_number(text, label)
        if spec.get("sex") and parsed.male != (spec["sex"] == "男"):
            raise BadInput(f"{label}显示的性别不是{spec['sex']}")
        if spec.get("min_age") and parsed.age_on(today) < spec["min_age"]:
            raise BadInput(f"{label}显示未满 {spec['min_age']} 周岁")
        return parsed.number
    raise BadInput(f"{label}的类型 {kind} 未知")


def check_application(fields: list[dict[str, Any]], values: Any, today: date,
                      problems: dict[str, str] | None = None) -> dict[str, Any]:
    """The item's application fields filled in: unknown keys refused, each field checked, empty
    optional fields left out."""
    own = problems is None
    problems = {} if problems is None else problems
    if not isinstance(values, dict):
        raise BadInput("申请内容应为对象")
    declared = {f["name"]: f for f in fields}
    unknown = set(values) - set(declared)
    if unknown:
        raise BadInput(f"申请内容含有本事项没有的字段：{'、'.join(sorted(map(str, unknown)))}")
    out = {}
    for spec in fields:
        checked = _collect(problems, f"application.{spec['name']}", check_field, spec, values.get(spec["name"]), today)
        if checked is not None:
            out[spec["name"]] = checked
    if own and problems:
        raise ApplicationInvalid(problems)
    return out


def check_registration(applicant: Any, fields: list[dict[str, Any]], values: Any,
                       today: date) -> tuple[dict[str, str], dict[str, Any]]:
    """The applicant and the application together, every problem of both reported at once."""
    problems: dict[str, str] = {}
    checked_applicant = check_applicant(applicant, problems)
    checked_values = check_application(fields, values, today, problems)
    if problems:
        raise ApplicationInvalid(problems)
    return checked_applicant, checked_values
