"""Errors the offline cache raises, each with a message a person can act on.

The TUI shows ``str(error)`` (Chinese first) or ``error.message("en")``; it never needs to
look at a traceback. Every class carries a stable ``code`` scripts and tests can check.
"""

from __future__ import annotations


class CacheError(Exception):
    """Base of every offline-cache error. ``code`` is stable; messages are zh and en."""

    code = "cache_error"

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(zh)
        self.zh = zh
        self.en = en

    def message(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def __str__(self) -> str:
        return self.zh


# The documented choices for a machine without a usable keyring, shown word for word.
KEYRING_CHOICES_EN = (
    "No usable keyring backend was found, so the encrypted offline cache cannot keep its key "
    "and sign-in tokens safely. Choose one:\n"
    "  1. Install and unlock a Secret Service (e.g. gnome-keyring; on a headless machine run "
    "`dbus-run-session -- sh -c 'echo -n PASSWORD | gnome-keyring-daemon --unlock; agent-tui'`), "
    "or use KWallet;\n"
    "  2. Install keyrings.cryptfile (an encrypted file protected by a password you type) and "
    "set PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring;\n"
    "  3. For a throw-away session only: `agent-tui demo` keeps its key in memory and forgets "
    "the cache when it exits.\n"
    "agent-tui never falls back to a plain-text file."
)
KEYRING_CHOICES_ZH = (
    "找不到可用的系统钥匙串（keyring），离线缓存的加密密钥和登录令牌无法安全保存。请选择：\n"
    "  1. 安装并解锁 Secret Service（如 gnome-keyring；无图形界面时可用 "
    "`dbus-run-session -- sh -c 'echo -n 密码 | gnome-keyring-daemon --unlock; agent-tui'`），"
    "或使用 KWallet；\n"
    "  2. 安装 keyrings.cryptfile（由您输入的密码保护的加密文件），并设置 "
    "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring；\n"
    "  3. 仅用于临时演示：`agent-tui demo` 把密钥放在内存中，退出即丢弃缓存。\n"
    "agent-tui 绝不会改用明文文件保存。"
)


class KeyringUnavailable(CacheError):
    """No usable keyring backend (fail/null backend, locked or missing Secret Service)."""

    code = "keyring_unavailable"

    def __init__(self, detail: str = "") -> None:
        suffix_zh = f"\n（详情：{detail}）" if detail else ""
        suffix_en = f"\n(detail: {detail})" if detail else ""
        super().__init__(KEYRING_CHOICES_ZH + suffix_zh, KEYRING_CHOICES_EN + suffix_en)
        self.detail = detail


class SaveFailed(CacheError):
    """A write did not commit (disk full, read-only file system, I/O error, locked).

    Nothing was saved; the caller keeps what the agent typed and may retry. ``reason`` is one
    of ``disk_full``, ``read_only``, ``io_error``, ``busy``, ``other``.
    """

    code = "save_failed"

    def __init__(self, reason: str, detail: str) -> None:
        zh = {
            "disk_full": "磁盘已满，未能保存。请清理磁盘空间后重试，表单内容仍保留。",
            "read_only": "缓存文件或磁盘为只读，未能保存。请检查磁盘权限后重试，表单内容仍保留。",
            "io_error": "磁盘读写错误，未能保存。表单内容仍保留，请重试。",
            "busy": "缓存正被另一个程序占用，未能保存。请稍后重试，表单内容仍保留。",
        }.get(reason, "未能保存到本地缓存，表单内容仍保留。")
        en = {
            "disk_full": "The disk is full: nothing was saved. Free some space and retry; "
            "the form keeps its content.",
            "read_only": "The cache file or disk is read-only: nothing was saved. Check the "
            "permissions and retry; the form keeps its content.",
            "io_error": "A disk I/O error stopped the save. The form keeps its content; retry.",
            "busy": "Another program holds the cache: nothing was saved. Retry in a moment; "
            "the form keeps its content.",
        }.get(reason, "The save to the local cache failed; the form keeps its content.")
        super().__init__(f"{zh}（{detail}）", f"{en} ({detail})")
        self.reason = reason
        self.detail = detail


class UnknownTicket(CacheError):
    """A change names a ticket the cache does not hold."""

    code = "unknown_ticket"

    def __init__(self, ticket_id: str) -> None:
        super().__init__(
            f"本地缓存中没有工单 {ticket_id}。", f"No ticket {ticket_id} in the cache."
        )
        self.ticket_id = ticket_id


class CacheClosed(CacheError):
    code = "cache_closed"

    def __init__(self) -> None:
        super().__init__("本地缓存已关闭。", "The local cache is closed.")


class InvalidChange(CacheError):
    """A change the cache refuses before writing: names the field, like the server would."""

    code = "invalid_change"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"字段 {field} 无效：{detail}", f"Field {field} is invalid: {detail}")
        self.field = field
        self.detail = detail


class CacheKeyMissing(CacheError):
    """The cache file exists but the keyring holds no key for it (emptied, restored from an
    old backup, another keyring chosen). Nothing is moved or made: a new key could never read
    the file, and moving it aside would hide the unsynced work it holds."""

    code = "cache_key_missing"

    def __init__(self, path: str, profile: str) -> None:
        super().__init__(
            f"本机的离线缓存 {path}（配置 {profile}）已存在，但钥匙串中找不到它的加密密钥。"
            "缓存文件未被改动，也没有生成新密钥。\n"
            "请恢复或解锁原来的钥匙串（例如从备份还原钥匙串文件、解锁 gnome-keyring，"
            "或设置原来的 PYTHON_KEYRING_BACKEND），然后重新启动 agent-tui。\n"
            "若密钥确已丢失，该文件中未同步的修改无法再读取：可把该文件移到别处后再启动，"
            "工单会从服务器重新下载。",
            f"The offline cache {path} (profile {profile}) exists, but the keyring holds no "
            "key for it. The cache file was not changed and no new key was made.\n"
            "Restore or unlock the original keyring (e.g. put its file back from a backup, "
            "unlock gnome-keyring, or set the PYTHON_KEYRING_BACKEND you used), then start "
            "agent-tui again.\n"
            "If the key is truly lost, the unsynced changes in that file cannot be read: move "
            "the file somewhere else and start again; tickets are downloaded from the server.",
        )
        self.path = path
        self.profile = profile


class CacheKeyMismatch(CacheError):
    """The keyring holds a key, but it is not the key of the cache file (another keyring,
    another laptop's file). Not corruption: the file is left where it is, untouched."""

    code = "cache_key_mismatch"

    def __init__(self, path: str, profile: str) -> None:
        super().__init__(
            f"钥匙串中的密钥打不开本机的离线缓存 {path}（配置 {profile}）：它不是这个文件的密钥"
            "（钥匙串可能被替换，或文件来自另一台电脑）。缓存文件未被改动。\n"
            "请恢复原来的钥匙串后重新启动 agent-tui。若原来的密钥确已丢失，"
            "可把该文件移到别处后再启动，工单会从服务器重新下载。",
            f"The key in the keyring does not open the offline cache {path} (profile "
            f"{profile}): it is not this file's key (the keyring was replaced, or the file "
            "comes from another laptop). The cache file was not changed.\n"
            "Restore the original keyring, then start agent-tui again. If the original key is "
            "truly lost, move the file somewhere else and start again; tickets are downloaded "
            "from the server.",
        )
        self.path = path
        self.profile = profile


class KeyringPasswordWrong(CacheError):
    """The password typed for a password-protected keyring (keyrings.cryptfile) does not open
    it. Nothing was read or written; ask again."""

    code = "keyring_password_wrong"

    def __init__(self) -> None:
        super().__init__(
            "钥匙串密码不正确，请重新输入。钥匙串和缓存都未被改动。",
            "Wrong keyring password: type it again. The keyring and the cache were not changed.",
        )
