"""A ticket's ``extra`` is bounded in depth and size, with the same rule on desk and server."""

from __future__ import annotations

from hotline.validators import MAX_EXTRA_BYTES, MAX_EXTRA_DEPTH, clean_ticket_fields


def nested(depth: int) -> dict[str, object]:
    top: dict[str, object] = {}
    inner = top
    for _ in range(depth):
        inner["b"] = {}
        inner = inner["b"]  # type: ignore[assignment]
    return top


def test_too_deep_names_the_path_in_both_languages() -> None:
    _, errors = clean_ticket_fields({"extra": {"a": nested(MAX_EXTRA_DEPTH)}}, partial=True)
    assert [e.field for e in errors] == ["extra.a" + ".b" * MAX_EXTRA_DEPTH]
    assert "nested more than 8 levels" in errors[0].message("en")
    assert "嵌套超过 8 层" in errors[0].message("zh")


def test_as_deep_as_allowed_is_kept() -> None:
    cleaned, errors = clean_ticket_fields(
        {"extra": {"a": nested(MAX_EXTRA_DEPTH - 1)}}, partial=True
    )
    assert errors == []
    assert cleaned["extra"]["a"]["b"]


def test_too_large_counts_utf8_bytes() -> None:
    fits = {"answer": "答" * ((MAX_EXTRA_BYTES - 20) // 3)}
    assert clean_ticket_fields({"extra": fits}, partial=True)[1] == []
    big = {"answer": "答" * (MAX_EXTRA_BYTES // 3 + 1)}
    errors = clean_ticket_fields({"extra": big}, partial=True)[1]
    assert [(e.field, e.code) for e in errors] == [("extra", "extra_too_large")]


def test_an_empty_extra_is_kept_as_an_empty_dict_of_its_own() -> None:
    given: dict[str, object] = {}
    cleaned, errors = clean_ticket_fields({"extra": given}, partial=True)
    assert errors == [] and cleaned["extra"] == {} and cleaned["extra"] is not given
