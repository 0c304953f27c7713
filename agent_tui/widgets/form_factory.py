"""Build intake widgets from a form definition (``hotline.forms``), the JiraTUI way.

Two steps, so the first can be tested without a running UI: ``field_specs`` turns a form
into plain ``FieldSpec`` records (which widget, label, choices, limits, in the UI language);
``make_widget`` turns one spec into a Textual widget. ``read_value``/``write_value`` move
answers in and out of whichever widget a field got, so drafts restore into any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select, TextArea
from textual.widgets.select import InvalidSelectValueError

from agent_tui.widgets.desk_select import DeskSelect
from hotline.forms import FormDef, FormField, district_choices
from hotline.topics import TOPICS
from hotline.units import Unit, unit_choices

# field type -> widget kind
WIDGET_KINDS = {
    "text": "input",
    "phone": "input",
    "id_card": "input",
    "datetime": "input",
    "long_text": "textarea",
    "choice": "select",
    "district": "select",
    "yes_no": "checkbox",
    "street": "input",
    "topic": "select",
    "unit": "select",
}

PLACEHOLDERS = {
    "phone": ("13812345678 / 02162345678", "13812345678 / 02162345678"),
    "id_card": ("18 位", "18 characters"),
    "datetime": ("2026-03-15 14:30", "2026-03-15 14:30"),
}


@dataclass(frozen=True)
class FieldSpec:
    id: str
    type: str
    kind: str  # input | textarea | select | checkbox
    label: str
    required: bool
    help: str = ""
    placeholder: str = ""
    max_length: int | None = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    default: Any = None
    yes_label: str = ""

    @property
    def widget_id(self) -> str:
        return f"f-{self.id}"


def spec_for(f: FormField, lang: str, units: tuple[Unit, ...] | None = None) -> FieldSpec:
    if f.type == "choice":
        options = [(c.label(lang), c.value) for c in f.choices]
    elif f.type == "district":
        options = [(label, value) for value, label in district_choices(lang=lang)]
    elif f.type == "topic":
        options = [(t.label(lang), t.id) for t in TOPICS]
    elif f.type == "unit":
        options = [(label, value) for value, label in unit_choices(units, lang)]
    else:
        options = []
    placeholder = PLACEHOLDERS.get(f.type, ("", ""))[0 if lang == "zh" else 1]
    return FieldSpec(
        id=f.id,
        type=f.type,
        kind=WIDGET_KINDS[f.type],
        label=f.label.get(lang),
        required=f.required,
        help=f.help.get(lang) if f.help else "",
        placeholder=placeholder,
        max_length=f.text_limit(),
        options=options,
        default=f.default,
        yes_label="是" if lang == "zh" else "yes",
    )


def field_specs(
    form: FormDef, lang: str = "zh", units: tuple[Unit, ...] | None = None
) -> list[FieldSpec]:
    """Every field of ``form`` as a widget spec, in form order (hidden ones too: the screen
    toggles them with ``hotline.forms.visible_fields`` as answers change). ``units``: the
    handling-unit directory the desk has (default: the shipped one)."""
    return [spec_for(f, lang, units) for f in form.fields]


def typed_first(specs: list[FieldSpec]) -> int:
    """How many of a form's fields an agent types first: up to and including its first
    long text (the caller's account: every call has one). The intake screen makes their
    widgets before its first frame and the rest (the fields reached after them: answer,
    unit, street, reply, privacy, caller ID in the shipped forms) right after it. A form
    without a long text: all of them."""
    for index, spec in enumerate(specs):
        if spec.kind == "textarea":
            return index + 1
    return len(specs)


_DEFAULT = object()
W = TypeVar("W", bound=Widget)


def compact(widget: W) -> W:
    """``widget`` in Textual's compact look (no border), set the way a mounted widget would
    have it from the start. Textual's ``compact=True`` argument sets a class-toggling
    reactive in ``__init__``, and adding a class restyles the widget there and then, before
    it is even mounted (and its component classes: an Input has four): on the intake form
    ~75 of the ~265 ``Stylesheet.apply`` calls before the first frame, each redone when the
    widget mounts. Here the value and the class are set without that restyle."""
    descriptor = type(widget).compact  # the class's Reactive
    widget.set_reactive(descriptor, True)
    widget.set_class(True, "-textual-compact", update=False)
    return widget


class DeskInput(Input):
    """An Input whose typing does not lay out the whole screen.

    Textual's Input sets its ``virtual_size`` (the text's width, for scrolling it sideways)
    on every change, and on a Widget that is a layout reactive: each key reflowed every
    widget of the intake screen (~75% of a key's CPU). The Input's own size never depends on
    it (``width: 1fr``, one line); its horizontal scrolling reads ``virtual_size`` directly.
    So here it only repaints the Input."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)


def make_widget(spec: FieldSpec, value: Any = _DEFAULT) -> Widget:
    """The widget of one field, holding ``value`` (default: the field's default). Built
    with its answer, not written after mounting: no change event to tell apart from typing,
    no second render."""
    widget = _make(spec, spec.default if value is _DEFAULT else value)
    if spec.help:
        widget.tooltip = spec.help
    return widget


def input_placeholder(spec: FieldSpec) -> str:
    """What an empty one-line field shows: its example, then its help."""
    return " · ".join(p for p in (spec.placeholder, spec.help) if p)


def _make(spec: FieldSpec, value: Any) -> Widget:
    widget: Widget
    if spec.kind == "textarea":
        widget = TextArea(
            "" if value is None else str(value),
            id=spec.widget_id,
            soft_wrap=True,
            show_line_numbers=False,
        )
    elif spec.kind == "select":
        legal = value is not None and any(str(value) == v for _, v in spec.options)
        widget = DeskSelect(
            spec.options,
            id=spec.widget_id,
            prompt="—",
            value=str(value) if legal else Select.NULL,  # an old draft's lost choice: none
            allow_blank=True,
        )
    elif spec.kind == "checkbox":
        widget = Checkbox(spec.yes_label, value=bool(value), id=spec.widget_id)
    else:
        widget = DeskInput(
            "" if value is None else str(value),
            placeholder=input_placeholder(spec),
            max_length=spec.max_length or 0,
            id=spec.widget_id,
        )
    return compact(widget)  # every field: compact, without a restyle before mounting


def read_value(widget: Widget) -> Any:
    """The answer a widget holds, as ``hotline.forms`` expects it (str, bool or None)."""
    if isinstance(widget, TextArea):
        return widget.text
    if isinstance(widget, Select):
        return None if widget.value is Select.NULL else str(widget.value)
    if isinstance(widget, Checkbox):
        return bool(widget.value)
    if isinstance(widget, Input):
        return widget.value
    return None


def write_value(widget: Widget, value: Any) -> None:
    """Put a saved answer back (draft restore, call offer, knowledge-base insert)."""
    if isinstance(widget, TextArea):
        widget.text = "" if value is None else str(value)
    elif isinstance(widget, Select):
        try:
            widget.value = Select.NULL if value is None else str(value)
        except InvalidSelectValueError:  # an old draft's choice that the form no longer has
            widget.value = Select.NULL
    elif isinstance(widget, Checkbox):
        widget.value = bool(value)
    elif isinstance(widget, Input):
        widget.value = "" if value is None else str(value)
