"""The policy values the orders app reads (DESIGN.md rule 6): a city changes them on the policy page, dated
and audited, never in code. Defaults follow DOMAIN.md §5 where it gives one (geofence 300 m)."""

from __future__ import annotations

from yanglao.core import policy

GEOFENCE_M = policy.define(
    "orders.geofence_m", 300, "签到、签退距老人住址的允许范围（米）", minimum=50, maximum=5000, unit="米"
)
ACCEPT_MINUTES = policy.define(
    "orders.accept_minutes", 30, "服务机构接单时限（分钟）", minimum=1, maximum=24 * 60, unit="分钟"
)
# Ranking of dispatch candidates: a weighted sum of three shares, each 0 (best) to 1 (worst).
WEIGHT_DISTANCE = policy.define("orders.weight_distance", 60, "派单排序权重：距离", minimum=0, maximum=100)
WEIGHT_RATING = policy.define("orders.weight_rating", 25, "派单排序权重：评分", minimum=0, maximum=100)
WEIGHT_LOAD = policy.define("orders.weight_load", 15, "派单排序权重：当日工单负荷", minimum=0, maximum=100)
CANDIDATES = policy.define(
    "orders.dispatch_candidates", 5, "自动派单时比较的最近机构数", minimum=1, maximum=50, unit="家"
)
EXPIRY_HOURS = policy.define(
    "orders.expiry_hours",
    24,
    "超过期望服务时间多久未上门即过期（小时）",
    minimum=1,
    maximum=24 * 30,
    unit="小时",
)
FOLLOW_UP_PERCENT = policy.define(
    "orders.follow_up_percent", 10, "服务回访抽样比例（%）", minimum=0, maximum=100, unit="%"
)
MIN_DURATION_PERCENT = policy.define(
    "orders.min_duration_percent",
    50,
    "服务时长低于标准时长的该比例即为疑点（%）",
    minimum=1,
    maximum=100,
    unit="%",
)
MAX_TRAVEL_KMH = policy.define(
    "orders.max_travel_kmh",
    60,
    "两次服务之间合理的最高移动速度（公里/小时）",
    minimum=5,
    maximum=300,
    unit="公里/小时",
)
