"""Rule thresholds and alarm-handling timers (DESIGN.md rule 6): city defaults as policy values; a household
may have its own value for a threshold (models.ElderThreshold, same key). Sources: DOMAIN.md §8 (blood
pressure 180/110; TEC Quality's 60 s / 180 s answer times)."""

from __future__ import annotations

from yanglao.core import policy

BP_SYSTOLIC = policy.define(
    "monitoring.bp_systolic", 180, "血压告警：收缩压阈值（mmHg）", minimum=120, maximum=260, unit="mmHg"
)
BP_DIASTOLIC = policy.define(
    "monitoring.bp_diastolic", 110, "血压告警：舒张压阈值（mmHg）", minimum=70, maximum=160, unit="mmHg"
)
NO_MOTION_HOURS = policy.define(
    "monitoring.no_motion_hours", 6, "独居老人白天无活动告警（小时）", minimum=1, maximum=24, unit="小时"
)
DAY_STARTS = policy.define(
    "monitoring.day_starts_hour", 7, "白天开始（时）", minimum=0, maximum=23, unit="时"
)
DAY_ENDS = policy.define("monitoring.day_ends_hour", 21, "白天结束（时）", minimum=1, maximum=24, unit="时")
NO_WATER_HOURS = policy.define(
    "monitoring.no_water_hours", 24, "未用水告警（小时）", minimum=6, maximum=96, unit="小时"
)
WATER_RUNNING_HOURS = policy.define(
    "monitoring.water_running_hours", 3, "持续用水告警（小时）", minimum=1, maximum=24, unit="小时"
)
ELECTRICITY_BASELINE_DAYS = policy.define(
    "monitoring.electricity_baseline_days", 14, "用电基线天数", minimum=7, maximum=60, unit="天"
)
ELECTRICITY_DEVIATION = policy.define(
    "monitoring.electricity_deviation", 3.0, "用电异常：偏离基线的标准差倍数", minimum=1.0, maximum=10.0
)
OFFLINE_HOURS = policy.define(
    "monitoring.offline_hours", 24, "设备离线告警（小时）", minimum=1, maximum=720, unit="小时"
)
BATTERY_LOW = policy.define(
    "monitoring.battery_low_percent", 20, "电量不足告警（%）", minimum=1, maximum=90, unit="%"
)
ACK_SECONDS = policy.define(
    "monitoring.ack_seconds", 60, "告警未响应即升级（秒）", minimum=10, maximum=3600, unit="秒"
)
ESCALATE_AGAIN_SECONDS = policy.define(
    "monitoring.escalate_again_seconds",
    180,
    "升级后仍未响应再次升级（秒）",
    minimum=30,
    maximum=3600,
    unit="秒",
)

# The thresholds a household may set for itself (ElderThreshold.key).
HOUSEHOLD_KEYS = {
    s.key: s
    for s in (
        BP_SYSTOLIC,
        BP_DIASTOLIC,
        NO_MOTION_HOURS,
        NO_WATER_HOURS,
        WATER_RUNNING_HOURS,
        ELECTRICITY_DEVIATION,
        OFFLINE_HOURS,
        BATTERY_LOW,
    )
}
