"""Turning field problems into one ValidationError that names every field and rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError

T = TypeVar("T")


class FieldErrors:
    """Collects errors per field; `raise_if_any()` raises them together (nothing is written)."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def check(self, field: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return func(*args, **kwargs)
        except ValueError as exc:
            self.add(field, str(exc))
            return None

    def merge(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, items in error.message_dict.items():
                for message in items:
                    self.add(field, message)
        else:
            for message in error.messages:
                self.add("__all__", message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def full_clean(instance: Any, errors: FieldErrors, *, exclude: list[str] | None = None) -> None:
    """Run the model's own field checks (choices, lengths, required) into `errors`."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.merge(exc)


def messages_of(exc: Exception) -> str:
    """A refusal's messages as one line for a flash message: "rule; rule"."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(m for ms in exc.message_dict.values() for m in ms)
        return "; ".join(exc.messages)
    return str(exc)


def messages_with_fields(exc: Exception) -> list[str]:
    """A refusal's messages, each led by the field it names ("line 4 charge: ...")."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return [
            message if name == "__all__" else f"{name.replace('_', ' ')}: {message}"
            for name, items in exc.message_dict.items()
            for message in items
        ]
    if isinstance(exc, ValidationError):
        return list(exc.messages)
    return [str(exc)]
