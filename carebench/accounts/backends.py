"""The sign-in backend: Django's, loading the user's organization with the user (one query
less on every request, since every page needs the organization)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class OrganizationModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        from .models import User

        user = User.objects.select_related("organization").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
