"""Texts for a change the server refused: waiting for its word, its refusal, dismissing it
(kept on record) or fixing it from the ticket. Key -> (Chinese, English)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "act.ticket.attention": ("处理被拒的修改", "Deal with a refused change"),
    "history.refused": ("服务器拒绝（已知悉）", "refused by the server (seen)"),
    "ticket.escalate.queued": (
        "升级督办已保存，等待服务器确认",
        "Escalation saved, waiting for the server to confirm",
    ),
    "ticket.change.refused": (
        "{what}被服务器拒绝：{reason}",
        "{what} refused by the server: {reason}",
    ),
    "ticket.attention.none": ("本工单没有被拒的修改", "No refused change on this ticket"),
    "ticket.attention.hint": ("按 {key} 处理", "press {key} to deal with it"),
    "ticket.attention.choose": ("被拒：{what}（{reason}）", "Refused: {what} ({reason})"),
    "ticket.attention.fix": ("修改后重新提交", "Fix it and submit again"),
    "ticket.attention.dismiss": (
        "知悉，移出待处理（记录保留）",
        "Seen: off the list (kept on record)",
    ),
    "ticket.attention.dismissed": (
        "已移出待处理，记录保留在工单历史中",
        "Off the list; kept in the ticket's history",
    ),
    "ticket.attention.fix_note": (
        "备注已放回输入框，修改后按 {key} 提交",
        "The note is back in the box: edit it and press {key}",
    ),
}
