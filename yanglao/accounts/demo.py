"""The demonstration cast: one user per role (DOMAIN.md §0) in Tianjin, with one documented password.
Used by `yanglao seed_demo` and printed by `yanglao serve`. Never run in production."""

from __future__ import annotations

from dataclasses import dataclass

from yanglao.accounts.roles import Role

DEMO_PASSWORD = "Yanglao-Demo-2026"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    full_name: str
    region: str  # natural division code
    organisation: str | None = None  # key into DEMO_ORGANISATIONS


# (key, name, kind, region, the 17 characters before the GB 32100 check character)
DEMO_ORGANISATIONS = {
    "assessor": ("天津市和平区示范老年人能力评估中心", "assessor", "120101", "52120101MJ0000011"),
    "provider": ("和平区示范居家养老服务中心", "provider", "120101", "52120101MJ0000021"),
    "canteen": ("劝业场街道示范老人家食堂", "canteen", "120101001", "52120101MJ0000031"),
}

# The community a community worker, a volunteer and an elder share: the first community of 劝业场街道.
DEMO_COMMUNITY = "120101001001"

DEMO_USERS = [
    DemoUser("city", Role.CITY_ADMIN, "市民政局 王敏", "1201"),
    DemoUser("district", Role.DISTRICT_STAFF, "和平区民政局 李强", "120101"),
    DemoUser("community", Role.COMMUNITY_WORKER, "社区网格员 赵丽", DEMO_COMMUNITY),
    DemoUser("assessor", Role.ASSESSOR, "评估员 孙浩", "1201", "assessor"),
    # Two assessors attest every on-site assessment (DOMAIN.md §2).
    DemoUser("assessor2", Role.ASSESSOR, "评估员 钱红", "1201", "assessor"),
    DemoUser("provider", Role.PROVIDER_ADMIN, "服务商管理员 周静", "120101", "provider"),
    DemoUser("careworker", Role.CARE_WORKER, "护理员 吴芳", "120101", "provider"),
    DemoUser("operator", Role.OPERATOR, "呼叫中心坐席 郑伟", "1201"),
    DemoUser("canteen", Role.CANTEEN_STAFF, "食堂工作人员 冯梅", "120101001", "canteen"),
    DemoUser("inspector", Role.INSPECTOR, "监管人员 陈刚", "1201"),
    DemoUser("volunteer", Role.VOLUNTEER, "志愿者 褚红", DEMO_COMMUNITY),
    DemoUser("elder", Role.ELDER, "老年人 卫国庆", DEMO_COMMUNITY),
    DemoUser("auditor", Role.AUDITOR, "审计员 蒋涛", "1201"),
    DemoUser("integration", Role.INTEGRATION, "设备接入客户端", "1201"),
]


def logins_banner() -> str:
    """The demo logins, for `yanglao serve`; empty when the demo cast is not seeded."""
    from yanglao.accounts.models import User

    present = set(
        User.objects.filter(username__in=[u.username for u in DEMO_USERS]).values_list("username", flat=True)
    )
    if not present:
        return ""
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    for user in DEMO_USERS:
        if user.username in present:
            lines.append(f"  {user.username:<12} {Role(user.role).label}")
    return "\n".join(lines)
