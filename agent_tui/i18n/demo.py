"""Texts of `agent-tui demo` (printed to the terminal around the desk)."""

TEXTS: dict[str, tuple[str, str]] = {
    "demo.starting": (
        "正在启动演示：内置服务器、演示账号、知识库、工单和模拟来电（密钥只保存在内存中）……",
        "Starting the demo: embedded server, demo users, knowledge base, tickets and simulated "
        "calls (secrets are kept in memory only)...",
    ),
    "demo.account": (
        "演示账号 {user}（{role}）密码：{password}",
        "demo user {user} ({role}) password: {password}",
    ),
    "demo.kept": (
        "演示数据库已保留在 {path}",
        "The demo database is kept in {path}",
    ),
    "demo.failed": ("演示无法启动：{reason}", "The demo could not start: {reason}"),
    "demo.link_cut": (
        "已断开演示网络 {seconds} 秒：坐席继续离线工作，恢复后自动补传。",
        "Demo link cut for {seconds} s: the desk works offline and catches up afterwards.",
    ),
    "act.demo.cut_link": ("断开演示网络（仅演示）", "Cut the demo link (demo only)"),
    "demo.cut_link.no_world": ("只有演示中才能断开网络。", "Only the demo can cut its link."),
    "demo.cut_link.failed": ("无法断开演示网络：{reason}", "Cannot cut the demo link: {reason}"),
}
