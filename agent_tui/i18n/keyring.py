"""Texts of the keyring password dialog and of the stop when the cache cannot be opened."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "keyring.unlock.title": ("解锁钥匙串", "Unlock the keyring"),
    "keyring.unlock.why": (
        "离线缓存的加密密钥和登录令牌保存在受密码保护的钥匙串文件中：\n{where}\n"
        "请输入这个钥匙串的密码（每次启动输入一次）。",
        "The offline cache's key and the sign-in token are kept in a password-protected "
        "keyring file:\n{where}\nType the keyring's password (once per start).",
    ),
    "keyring.new.title": ("为新钥匙串设置密码", "Set a password for the new keyring"),
    "keyring.new.why": (
        "钥匙串文件还不存在（或是空的）：\n{where}\n"
        "请设置一个密码，它保护离线缓存的加密密钥和登录令牌，以后每次启动都要输入，请牢记。\n"
        "若您原来有这个钥匙串文件，请先按 Ctrl+Q 退出并从备份恢复它，否则原来的缓存无法读取。",
        "The keyring file does not exist yet (or is empty):\n{where}\n"
        "Choose a password: it protects the offline cache's key and the sign-in token, and "
        "is asked at every start. Remember it.\n"
        "If you had this keyring file before, press Ctrl+Q to quit and restore it from a "
        "backup first, or the existing cache cannot be read.",
    ),
    "keyring.password": ("钥匙串密码", "Keyring password"),
    "keyring.confirm": ("再输入一次", "Type it again"),
    "keyring.blank": ("密码不能为空。", "The password cannot be empty."),
    "keyring.differ": (
        "两次输入的密码不一致，请重新输入。",
        "The two passwords differ: type them again.",
    ),
    "keyring.working": ("正在打开钥匙串……", "Opening the keyring..."),
    "keyring.quit_hint": ("Enter 确定 · Ctrl+Q 退出", "Enter: OK · Ctrl+Q: quit"),
    "cache.stop.title": ("无法打开离线缓存", "The offline cache cannot be opened"),
    "cache.stop.hint": (
        "什么都没有删除或改动。请按上面的说明处理后重新启动。Ctrl+Q 退出。",
        "Nothing was deleted or changed. Do as said above, then start again. Ctrl+Q quits.",
    ),
}
