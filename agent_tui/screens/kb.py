"""Knowledge base over the screen of a call: search (offline, from the cache), read, insert.

It is a modal dialog so the call's form stays underneath untouched; ``kb.insert`` closes it
with the article's words for the caller (答复口径) only -- the notes for the agent (内部提示)
are shown apart and never inserted (``hotline.scripts``) -- and the screen below puts them
into its answer field.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from agent_tui.i18n import t
from agent_tui.screens.base import install_bindings, when_composed
from hotline.scripts import split_script


class KnowledgeBaseScreen(ModalScreen[str | None]):
    SCOPE = "kb"

    def __init__(self, query: str = "") -> None:
        super().__init__()
        install_bindings(self, self.SCOPE)
        self._query = query
        self._text: str = ""
        self._hits: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="kb"):
            yield Label(t("kb.title"), classes="dialog-title")
            yield Input(self._query, placeholder=t("kb.search.placeholder"), id="kb-search")
            with Horizontal():
                yield OptionList(id="kb-hits")
                with VerticalScroll(id="kb-article"):
                    yield Static("", id="kb-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#kb-search", Input).focus()
        self.search(self._query)

    @on(Input.Changed, "#kb-search")
    def _changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    @on(Input.Submitted, "#kb-search")
    def _submitted(self) -> None:
        self.query_one("#kb-hits", OptionList).focus()

    @work(thread=True, exclusive=True, group="kb-search", exit_on_error=False)
    def search(self, text: str) -> None:
        hits = self.app.desk.kb_search(text.strip())  # type: ignore[attr-defined]
        self.app.call_from_thread(self._show_hits, hits)

    @when_composed
    def _show_hits(self, hits: list[Any]) -> None:
        self._hits = hits
        options = self.query_one("#kb-hits", OptionList)
        options.clear_options()
        if not hits:
            options.add_option(Option(t("kb.none"), disabled=True))
            self._text = ""
            self.query_one("#kb-text", Static).update("")
            return
        options.add_options(Option(Text(hit.title), id=hit.id) for hit in hits)
        options.highlighted = 0
        self.read(hits[0].id)

    @on(OptionList.OptionHighlighted, "#kb-hits")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.read(event.option.id)

    @on(OptionList.OptionSelected, "#kb-hits")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.read(event.option.id)

    @work(thread=True, exclusive=True, group="kb-read", exit_on_error=False)
    def read(self, article_id: str) -> None:
        article = self.app.desk.kb_article(article_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._show_article, article)

    @when_composed
    def _show_article(self, article: dict[str, Any] | None) -> None:
        if article is None:
            return
        script = split_script(str(article.get("body", "")))
        self._text = script.caller
        shown = Text(str(article.get("title", "")), style="bold")  # no markup: text is data
        if script.caller:
            shown.append("\n\n" + t("kb.part.caller") + "\n", style="bold")
            shown.append(script.caller)
        if script.notes:
            shown.append("\n\n" + t("kb.part.notes") + "\n", style="bold")
            shown.append(script.notes, style="italic")
        self.query_one("#kb-text", Static).update(shown)

    def action_insert(self) -> None:
        if self._text:
            self.dismiss(self._text)
        elif self._hits:
            self.notify(t("kb.no_script"), severity="warning")

    def action_close(self) -> None:
        self.dismiss(None)
