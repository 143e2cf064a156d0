"""The sign-in backend: Django's, with two savings on every request: the user's organization
is loaded with the user, and the user's permissions (their own and their roles') come in one
query instead of two (a UNION of the role and the personal grants)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission


class OrganizationModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        from .models import User

        user = User.objects.select_related("organization").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            columns = ("content_type__app_label", "codename")
            if user_obj.is_superuser:
                rows = Permission.objects.values_list(*columns)
            else:
                # a UNION of the two paths, each through its indexes: half the time of one
                # query joining both with OR (every request asks)
                rows = (
                    Permission.objects.filter(group__user=user_obj)
                    .order_by()
                    .values_list(*columns)
                    .union(
                        Permission.objects.filter(user=user_obj).order_by().values_list(*columns)
                    )
                )
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in rows}
        return user_obj._perm_cache
