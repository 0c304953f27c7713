"""Chinese and English texts of field errors, one table, shared by server and client.

A ``FieldError`` carries a ``code`` and ``params``; the text a person reads is made here, in
the language they chose, so the server can answer in either language and the desk can show
a message that names the field and says exactly what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Lang = str  # "zh" or "en"

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "caller_name": ("来电人姓名", "Caller name"),
    "phone": ("联系电话", "Phone"),
    "id_card": ("身份证号", "ID-card number"),
    "address": ("地址", "Address"),
    "district": ("所属区", "District"),
    "community": ("小区/居委会", "Community"),
    "kind": ("类型", "Kind"),
    "category": ("分类", "Category"),
    "urgent_subcategory": ("紧急求医类别", "Urgent medical need"),
    "urgency": ("紧急程度", "Urgency"),
    "account": ("诉求内容", "Account of the request"),
    "answer": ("答复内容", "Answer"),
    "handling_unit": ("承办单位", "Handling unit"),
    "promise": ("承诺事项", "Promise"),
    "channel": ("来源渠道", "Channel"),
    "street": ("街道/镇", "Street / town"),
    "caller_number": ("来电号码", "Caller ID number"),
    "reply_needed": ("是否需要回复", "Reply needed"),
    "reply_method": ("回复方式", "Reply method"),
    "respondent": ("被反映对象", "Party complained about"),
    "topic": ("诉求分类", "Topic"),
    "privacy": ("保密/匿名", "Confidential / anonymous"),
    "extra": ("附加信息", "Additional answers"),
    "satisfaction": ("满意度", "Satisfaction"),
}

# code -> (Chinese, English). ``{label}`` is the field's name in that language.
MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("{label}为必填项", "{label}: required"),
    "too_long": (
        "{label}最多 {max} 个字符（现有 {length} 个）",
        "{label}: at most {max} characters (now {length})",
    ),
    "not_text": ("{label}应为文字", "{label}: must be text"),
    "unknown_field": ("{label}：不是可以填写的字段", "{label}: not a field that can be filled in"),
    "invalid_choice": (
        "{label}：“{value}”不是可选项（可选：{choices}）",
        '{label}: "{value}" is not one of the choices ({choices})',
    ),
    "id_card_length": (
        "{label}应为 18 位（现为 {length} 位）",
        "{label}: must have 18 characters (has {length})",
    ),
    "id_card_chars": (
        "{label}前 17 位应为数字、第 18 位为数字或 X（第 {position} 位“{char}”不对）",
        "{label}: the first 17 characters must be digits and the 18th a digit or X "
        '(character {position}, "{char}", is wrong)',
    ),
    "id_card_region": (
        "{label}前两位“{region}”不是有效的省级行政区代码",
        '{label}: "{region}" (first two digits) is not a province code',
    ),
    "id_card_birth_date": (
        "{label}中的出生日期 {birth} 不是有效日期",
        "{label}: the birth date {birth} is not a valid date",
    ),
    "id_card_birth_future": (
        "{label}中的出生日期 {birth} 晚于今天",
        "{label}: the birth date {birth} is in the future",
    ),
    "id_card_check_digit": (
        "{label}校验位应为 {expected}（现为 {actual}），请核对号码",
        "{label}: check digit should be {expected}, not {actual}; please check the number",
    ),
    "phone_invalid": (
        "{label}“{value}”不是有效的手机或固定电话号码",
        '{label}: "{value}" is not a valid mobile or landline number',
    ),
    "phone_area_code": (
        "{label}“{value}”缺少区号，固定电话请加区号（如 021-{value}）",
        '{label}: "{value}" has no area code; add it to landlines (e.g. 021-{value})',
    ),
    "phone_service_number": (
        "{label}“{value}”是服务号码，不能用于回访，请填写来电人本人的号码",
        '{label}: "{value}" is a service number that cannot take a callback; '
        "enter the caller's own number",
    ),
    "district_unknown": (
        "{label}“{value}”不在区列表中（可选：{choices}）",
        '{label}: "{value}" is not one of the districts ({choices})',
    ),
    "datetime_invalid": (
        "{label}“{value}”不是有效的日期时间（如 2022-03-15 14:30）",
        '{label}: "{value}" is not a valid date and time (e.g. 2022-03-15 14:30)',
    ),
    "extra_too_deep": (
        "{label}：嵌套超过 {max} 层",
        "{label}: nested more than {max} levels deep",
    ),
    "extra_too_large": (
        "{label}过大：最多 {max} 字节（现有 {size} 字节）",
        "{label}: too large, at most {max} bytes (now {size})",
    ),
    "satisfaction_required": (
        "评价须记录{label}（满意、基本满意或不满意）",
        "{label}: an evaluation (评价) needs the caller's score "
        "(satisfied, basically satisfied or dissatisfied)",
    ),
    "satisfaction_unreached": (
        "{label}：未联系上来电人，不能记录评价",
        "{label}: the caller was not reached, so there is no score to record",
    ),
    "yes_no_invalid": ("{label}应选择“是”或“否”", "{label}: answer yes or no"),
    "street_unknown": (
        "{label}“{value}”不是{district}的街道/镇（可选：{choices}）",
        '{label}: "{value}" is not a street or town of {district} ({choices})',
    ),
    "topic_unknown": (
        "{label}“{value}”不在诉求分类中（可选：{choices}）",
        '{label}: "{value}" is not one of the topics ({choices})',
    ),
    "form_value_invalid": (
        "{label}：表单给出的值“{value}”不能用于工单（请管理员修正表单；草稿已保留）",
        '{label}: the form sets "{value}", which a ticket cannot take'
        " (an administrator must fix the form; the draft is kept)",
    ),
    "answer_required_on_spot": (
        "{label}为必填项：当场解答的工单须写明答复内容",
        "{label}: required when the call is answered on the spot",
    ),
    "answer_required_replied": (
        "{label}为必填项：标记为已答复前须写明答复内容",
        "{label}: required before the ticket is marked replied",
    ),
}


def field_label(field: str, lang: Lang = "zh", labels: Mapping[str, str] | None = None) -> str:
    """The field's name in ``lang``: the form's own label first, then the ticket field table."""
    if labels and labels.get(lang):
        return labels[lang]
    pair = FIELD_LABELS.get(field)
    if pair is None:
        return field
    return pair[1] if lang == "en" else pair[0]


def render(
    code: str,
    field: str,
    params: Mapping[str, Any],
    lang: Lang = "zh",
    labels: Mapping[str, str] | None = None,
) -> str:
    pair = MESSAGES.get(code)
    label = field_label(field, lang, labels)
    if pair is None:  # an unknown code still names the field
        return f"{label}: {code}"
    template = pair[1] if lang == "en" else pair[0]
    # A param may come in both languages as ``name_zh`` / ``name_en``: the reader's wins.
    suffix = "_en" if lang == "en" else "_zh"
    values = {k: _param_text(v, lang) for k, v in params.items()}
    for key, value in list(values.items()):
        if key.endswith(suffix):
            values[key[: -len(suffix)]] = value
    try:
        return template.format(label=label, **values)
    except (KeyError, IndexError):
        return f"{label}: {code}"


def _param_text(value: Any, lang: Lang) -> str:
    if isinstance(value, list | tuple):
        sep = "、" if lang != "en" else ", "
        return sep.join(str(v) for v in value)
    return str(value)
