"""The minimum strength of a password people choose (NIST SP 800-63B: length, no known ones)."""

from __future__ import annotations

from sst_backend.errors import APIError

MIN_LENGTH = 12

# Lower-cased; the most common passwords of at least MIN_LENGTH characters in public breach
# lists, plus the obvious words of this domain. Shorter ones are refused by length anyway.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678910",
        "123456123456",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "abcdefghijkl",
        "aaaaaaaaaaaa",
        "administrator",
        "changeme1234",
        "letmein12345",
        "iloveyou1234",
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "qwertyuiop12",
        "qwertyuiop123",
        "qwertyuiopasdfgh",
        "qwerty123456",
        "qwertyqwerty",
        "asdfghjkl123",
        "zxcvbnm12345",
        "welcome12345",
        "welcome123456",
        "football1234",
        "baseball1234",
        "superman1234",
        "sunshine1234",
        "princess1234",
        "trustno11234",
        "correcthorsebatterystaple",
        "correct horse battery staple",
        "careworker123",
        "nursenurse12",
        "caregiver123",
        "sst-demo-2026",
        "sstsstsstsst",
    }
)


def password_problem(password: str, *, email: str) -> str | None:
    """Why a password is too weak for this account, in words a person can act on; None if fine."""
    if len(password) < MIN_LENGTH:
        return f"Choose a password of at least {MIN_LENGTH} characters."
    lowered = password.strip().lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) <= 2:
        return "This password is too common; choose one that is not easy to guess."
    local_part = email.split("@", 1)[0].lower()
    if lowered in {email.strip().lower(), local_part}:
        return "The password must not be your e-mail address."
    return None


def require_strong_password(password: str, *, email: str) -> None:
    """Raise a 422 weak_password error when the password is too weak."""
    problem = password_problem(password, email=email)
    if problem is not None:
        raise APIError(422, "weak_password", problem)
