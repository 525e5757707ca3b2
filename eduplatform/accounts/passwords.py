"""Password policy of the platform: at least 10 characters from at least 3 of 4 character classes."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

MIN_LENGTH = 10
CLASSES = (
    (re.compile(r"[a-z]"), "小写字母"),
    (re.compile(r"[A-Z]"), "大写字母"),
    (re.compile(r"[0-9]"), "数字"),
    (re.compile(r"[^a-zA-Z0-9]"), "特殊字符"),
)


class ComplexityPasswordValidator:
    def validate(self, password: str, user=None) -> None:
        problems = []
        if len(password) < MIN_LENGTH:
            problems.append(f"密码长度至少 {MIN_LENGTH} 位（当前 {len(password)} 位）")
        present = [name for pattern, name in CLASSES if pattern.search(password)]
        if len(present) < 3:
            missing = "、".join(name for pattern, name in CLASSES if not pattern.search(password))
            problems.append(f"密码须包含大写字母、小写字母、数字、特殊字符中的至少3类（缺少：{missing}）")
        if problems:
            raise ValidationError("；".join(problems), code="password_policy")

    def get_help_text(self) -> str:
        return f"密码至少 {MIN_LENGTH} 位，且包含大写字母、小写字母、数字、特殊字符中的至少3类。"
