"""The password policy for every password set through the user form or `flask create-user`.

Existing hashes keep logging in; the policy only gates new passwords. Messages are Chinese (with
English in the catalog) because they are shown on the form field."""
from __future__ import annotations

import string

from flask_babel import gettext

MIN_LENGTH = 10
MIN_CLASSES = 3
MIN_USERNAME = 3
"""Shorter usernames ("li") are not searched for: they would forbid ordinary letter pairs."""

COMMON = frozenset({
    "password", "password1", "password123", "password123!", "passw0rd", "passw0rd!", "p@ssw0rd", "p@ssw0rd1",
    "p@ssw0rd123", "p@55w0rd", "p@55w0rd!", "qwerty123", "qwerty123!", "qwertyuiop", "qwer!234", "qwer1234!",
    "1qaz2wsx", "1qaz@wsx", "1qaz!qaz", "1qaz@wsx3edc", "1qaz2wsx3edc", "1q2w3e4r", "1q2w3e4r5t",
    "1q2w3e4r5t6y", "abc123456", "abcd1234", "abcd@1234", "abc@12345", "aa123456", "aa123456!", "a123456789",
    "admin123", "admin@123", "admin@1234", "admin@12345", "admin123!", "administrator", "root@123",
    "123456789", "1234567890", "12345678910", "0123456789", "iloveyou", "welcome1", "welcome@123",
    "letmein", "changeme", "changeme123", "woaini1314", "woaini520", "qq123456", "zxcvbnm123", "88888888",
    "11111111", "123qwe!@#", "test@12345", "test123456", "propdesk123",
})
"""Lower-cased passwords that guessing lists try first (including this project's former demo password)."""


def classes(password: str) -> int:
    """How many of lower case, upper case, digits and symbols the password uses."""
    return sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() or c in string.punctuation for c in password)))


def problems(password: str, username: str = "") -> list[str]:
    """Every way the password falls short of the policy; empty when it passes."""
    out = []
    if len(password) < MIN_LENGTH:
        out.append(gettext("密码至少%(n)s位", n=MIN_LENGTH))
    if classes(password) < MIN_CLASSES:
        out.append(gettext("密码须包含小写字母、大写字母、数字、符号中的至少3类"))
    name = (username or "").strip().lower()
    if len(name) >= MIN_USERNAME and name in password.lower():
        out.append(gettext("密码不能包含用户名"))
    if password.lower() in COMMON:
        out.append(gettext("密码过于常见,容易被猜中,请换一个"))
    return out
