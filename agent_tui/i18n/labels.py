"""Names of the codes the server and the forms use: ticket categories, urgent-medical
sub-categories and call queues: ``key -> (zh, en)``. A code not listed here is shown as it
is (a new category from a new form is still readable, if in its code)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # ticket categories (forms' [ticket] category, the call simulator's mix)
    "category.general": ("一般诉求", "general"),
    "category.urgent_medical": ("紧急求医", "urgent medical"),
    "category.medical": ("医疗", "medical"),
    "category.epidemic": ("疫情防控", "epidemic"),
    "category.housing": ("住房", "housing"),
    "category.transport": ("交通", "transport"),
    "category.utilities": ("水电气", "utilities"),
    "category.social_security": ("社会保障", "social security"),
    "category.market_regulation": ("市场监管", "market regulation"),
    "category.environment": ("环境", "environment"),
    "category.public_security": ("治安", "public security"),
    "category.community": ("社区", "community"),
    "category.supplies": ("生活物资", "supplies"),
    "category.other": ("其他", "other"),
    # urgent medical sub-categories (hotline.model.UrgentSubcategory)
    "subcategory.dialysis": ("血透", "dialysis"),
    "subcategory.cancer_therapy": ("肿瘤放化疗", "cancer therapy"),
    "subcategory.maternity": ("孕产妇", "maternity"),
    "subcategory.rabies_vaccine": ("狂犬疫苗", "rabies vaccine"),
    "subcategory.fever": ("发烧", "fever"),
    "subcategory.other_medical": ("其他求医", "other medical"),
    # call queues (telephony)
    "callqueue.desk": ("坐席直拨", "desk"),
    "callqueue.default": ("默认队列", "default"),
    "callqueue.general": ("综合", "general"),
    "callqueue.medical": ("医疗", "medical"),
    "callqueue.urgent_medical": ("紧急求医", "urgent medical"),
    "callqueue.epidemic": ("疫情防控", "epidemic"),
}

TEXTS |= {
    # history reasons the server writes (agent_tui.reasons)
    "reason.overdue": ("已超时：红色工单未在时限内首次响应", "overdue: no first response in time"),
    "reason.overdue_no_response": (
        "已超时：红色工单至 {at} 仍未首次响应",
        "overdue: no first response by {at}",
    ),
    "reason.overdue_handling": (
        "已超时：已首次响应，但至 {at}（紧急办理时限）仍未办结",
        "overdue: responded, but still unresolved at {at} (end of the urgent handling window)",
    ),
    "reason.overdue_unit": (
        "已超时：承办单位未在办理时限内答复",
        "overdue: the handling unit has not replied by the handling deadline",
    ),
    "refusal.evaluate_needs_score": (
        "评价须记录满意度（满意、基本满意或不满意）：请用回访记录评价",
        "an evaluation needs the caller's score (satisfied, basically satisfied or "
        "dissatisfied): record it with the callback",
    ),
    "refusal.score_unreached": (
        "满意度：未联系上来电人，不能记录评价",
        "satisfaction: the caller was not reached, so there is no score to record",
    ),
    "refusal.merge_finished": (
        "工单 {number} 状态为“{status}”，不能并入已结束的工单：请另建新单（或先重新办理该单）",
        "ticket {number} is already {status}: a repeated request is not merged into a "
        "finished ticket; save it as a new ticket (or reopen that one first)",
    ),
    "reason.aggregation": (
        "升级为汇总：{at} 前未首次响应，转区工单组",
        "escalated to aggregation: no first response by {at}; handed to the district group",
    ),
    "reason.special_supervision": (
        "升级为专人督办：{start} 仍未办结，承办单位须于 {report} 前报告",
        "escalated to special supervision: unresolved at {start}; the unit reports by {report}",
    ),
    "reason.city_supervision": (
        "提级至市级督办：报告时限 {report} 仍未办结，须于 {submit} 前报送市督办室",
        "escalated to city supervision: unresolved at {report}; submitted by {submit}",
    ),
    "reason.escalated_clock": ("升级时钟升级为{level}", "escalated to {level} by the clock"),
    "reason.level.normal": ("一般", "normal"),
    "reason.level.aggregation": ("汇总", "aggregation"),
    "reason.level.special_supervision": ("专人督办", "special supervision"),
    "reason.level.city_supervision": ("市级督办", "city supervision"),
    "reason.merged_into": ("已并入 {number}", "merged into {number}"),
    "reason.merged_here": ("工单 {number} 已并入本单", "ticket {number} merged into this one"),
    "refusal.top_of_ladder": (
        "已是最高督办级别（市级督办），不能再升级",
        "the ticket is already at the top of the escalation ladder",
    ),
    "refusal.cannot_escalate": (
        "{status}的工单不能升级督办",
        "a {status} ticket cannot be escalated",
    ),
    "refusal.no_ticket": ("没有工单 {id}（或无权修改）", "no ticket {id} (or not yours to change)"),
    "refusal.merge_itself": ("工单不能并入自身", "a ticket cannot be merged into itself"),
    "refusal.lead_only": ("只有班长可以改派工单", "only a shift lead can reassign a ticket"),
}

TEXTS |= {
    # a history entry the server wrote itself (the escalation clock)
    "history.srv.system": ("系统自动", "by the system"),
    "history.srv.merged_from": ("并入来单", "merged in"),
}

TEXTS |= {
    # network and server failures (agent_tui.neterrors): never a Python class name
    "net.connect": ("无法连接服务器", "cannot reach the server"),
    "net.bad_address": ("服务器地址有误", "the server address is wrong"),
    "net.timeout": ("连接超时", "the connection timed out"),
    "net.dropped": ("网络中断", "the network dropped"),
    "net.reset": ("连接被重置", "the connection was reset"),
    "net.proxy": ("代理服务器出错", "the proxy failed"),
    "net.http": ("服务器出错（{code}）：{message}", "server error ({code}): {message}"),
    "net.bad_answer": ("服务器的回答无法读取", "the server's answer could not be read"),
    "net.other": ("网络错误", "network error"),
}

TEXTS |= {
    # the command palette (agent_tui.palette): Textual's own commands in the desk's words
    "palette.key": ("命令", "commands"),
    "palette.tooltip": ("打开命令面板", "Open the command palette"),
    "palette.placeholder": ("搜索命令或动作 ID…", "Search commands or binding ids…"),
    "palette.theme": ("主题", "Theme"),
    "palette.theme.help": ("更换界面配色", "Change the current theme"),
    "palette.quit": ("退出程序", "Quit"),
    "palette.quit.help": ("立即退出程序", "Quit the application as soon as possible"),
    "palette.keys": ("按键帮助", "Keys"),
    "palette.keys.show": (
        "显示当前控件的帮助和可用按键",
        "Show help for the focused widget and a summary of available keys",
    ),
    "palette.keys.hide": ("隐藏按键帮助", "Hide the keys and widget help panel"),
    "palette.maximize": ("最大化", "Maximize"),
    "palette.maximize.help": ("最大化当前控件", "Maximize the focused widget"),
    "palette.minimize": ("还原", "Minimize"),
    "palette.minimize.help": (
        "还原控件到正常大小",
        "Minimize the widget and restore to normal size",
    ),
    "palette.screenshot": ("截图", "Screenshot"),
    "palette.screenshot.help": (
        "把当前画面保存为 SVG 图片",
        "Save an SVG 'screenshot' of the current screen",
    ),
}
