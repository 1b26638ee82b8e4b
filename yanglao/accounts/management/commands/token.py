"""yanglao token create --user NAME [--days N] [--name TEXT] [--scope PERM …]  → prints the token
yanglao token list [--user NAME]
yanglao token revoke PREFIX"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from yanglao.accounts import services
from yanglao.accounts.models import ApiToken, User
from yanglao.core.errors import DomainError


class Command(BaseCommand):
    help = "管理 API 令牌 (create, list or revoke API tokens)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token and print it (shown only once)")
        create.add_argument("--user", required=True)
        create.add_argument(
            "--days", type=int, default=None, help="validity in days (default YANGLAO_API_TOKEN_DAYS)"
        )
        create.add_argument("--name", default="", help="what the token is for")
        create.add_argument(
            "--scope", action="append", default=None, help="a permission name; repeat for more"
        )
        listing = sub.add_parser("list", help="list tokens")
        listing.add_argument("--user", default=None)
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except DomainError as error:
            raise CommandError(f"{error.field or action}: {error.message}") from None

    def _create(self, *, user: str, days: int | None, name: str, scope: list[str] | None, **_):
        owner = User.objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"user: no user named {user!r}")
        token, raw = services.token_create(
            actor="token create", user=owner, name=name, days=days, scopes=scope
        )
        self.stderr.write(
            f"token {token.prefix}… for {owner.username}, expires {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}; "
            "store it now, it is not shown again"
        )
        self.stdout.write(raw)

    def _list(self, *, user: str | None, **_):
        tokens = ApiToken.objects.select_related("user").order_by("-created_at")
        if user:
            tokens = tokens.filter(user__username=user)
        for token in tokens:
            state = "revoked" if token.revoked_at else ("expired" if token.is_expired else "active")
            self.stdout.write(
                f"{token.prefix}…  {token.user.username:<14} {state:<8} "
                f"expires {timezone.localtime(token.expires_at):%Y-%m-%d}  {token.name}"
            )

    def _revoke(self, *, prefix: str, **_):
        matches = list(ApiToken.objects.filter(prefix__startswith=prefix.rstrip("…")))
        if len(matches) != 1:
            raise CommandError(f"prefix: {len(matches)} tokens match {prefix!r}; give a longer prefix")
        services.token_revoke(actor="token revoke", token=matches[0])
        self.stdout.write(f"revoked {matches[0].prefix}…")
