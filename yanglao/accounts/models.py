from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yanglao.accounts.roles import ROLE_PERMISSIONS, Role
from yanglao.core import pii
from yanglao.core.fields import EncryptedTextField, LookupHashField
from yanglao.core.models import TimeStampedModel


class Organisation(TimeStampedModel):
    """An organisation whose staff log in: a service provider, an assessment organisation, a canteen
    operator. Apps higher up (providers, facilities) keep their own details and point here."""

    class Kind(models.TextChoices):
        PROVIDER = "provider", _("服务机构")
        ASSESSOR = "assessor", _("评估机构")
        CANTEEN = "canteen", _("助餐机构")
        GOVERNMENT = "government", _("政府部门")
        OTHER = "other", _("其他")

    name = models.CharField(_("机构名称"), max_length=200)
    kind = models.CharField(_("机构类别"), max_length=20, choices=Kind.choices)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True, null=True, blank=True)
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("所在区域"), on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person or a client that signs in, with one role and a scope (region, and organisation for
    the organisation-bound roles)."""

    full_name = models.CharField(_("姓名"), max_length=100, blank=True)
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices, db_index=True)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("管辖区域"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("所属机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    phone = EncryptedTextField(_("手机号码"), blank=True, normalize=pii.normalize_phone)
    phone_hash = LookupHashField(source="phone")

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    def has_perm(self, perm: str, obj: models.Model | None = None) -> bool:
        # A request signed with an API token carries the token's scopes: a token can narrow what its
        # user may do (superusers included), never widen it.
        scopes = getattr(self, "token_scopes", None)
        if scopes is not None and perm not in scopes:
            return False
        return super().has_perm(perm, obj)

    @property
    def permissions(self) -> frozenset[str]:
        """The named permissions this user holds through their role."""
        return ROLE_PERMISSIONS.get(self.role, frozenset())

    @property
    def masked_phone(self) -> str:
        return pii.mask_phone(self.phone)


class LoginAttempt(models.Model):
    """Every sign-in attempt, by the name typed (whether or not such a user exists, so lockout cannot
    be used to find out which names exist)."""

    username = models.CharField(max_length=150, db_index=True)
    succeeded = models.BooleanField(default=False)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("登录记录")
        verbose_name_plural = _("登录记录")
        ordering = ["-at"]
        indexes = [models.Index(fields=["username", "at"])]

    def __str__(self) -> str:
        return f"{self.username} {'成功' if self.succeeded else '失败'} {self.at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the token is shown once, when made."""

    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("用途"), max_length=100, blank=True)
    prefix = models.CharField(_("令牌前缀"), max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("权限范围"), default=list, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"))
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired
