from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from yanglao.accounts import services


class LoginForm(AuthenticationForm):
    """One message for every failure, so the page never tells whether a user name exists."""

    error_messages = {
        "invalid_login": _("用户名或密码不正确。连续失败%(max)s次后，该用户名将被锁定%(minutes)s分钟。"),
        "locked": _("登录失败次数过多，请%(minutes)s分钟后再试。"),
        "inactive": _("用户名或密码不正确。连续失败%(max)s次后，该用户名将被锁定%(minutes)s分钟。"),
    }

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            params = {"max": settings.LOGIN_MAX_FAILURES, "minutes": settings.LOGIN_LOCK_MINUTES}
            username = self.cleaned_data.get("username") or ""
            if username and services.login_is_locked(username):
                raise forms.ValidationError(
                    self.error_messages["locked"], code="locked", params=params
                ) from None
            raise forms.ValidationError(
                self.error_messages["invalid_login"], code="invalid_login", params=params
            ) from None


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """The admin's sign-in with the same lockout messages; non-staff users are refused the same way."""
