"""Enumerations of devices, telemetry, rules and alarms (DOMAIN.md §8). Stable codes in the database, the
message format and the API; Chinese labels on screens."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceKind(models.TextChoices):
    SOS_BUTTON = "sos_button", _("一键呼叫按钮")
    WRISTBAND = "wristband", _("智能手环")
    MOTION_SENSOR = "motion_sensor", _("红外人体感应器")
    DOOR_SENSOR = "door_sensor", _("门磁传感器")
    BP_MONITOR = "bp_monitor", _("智能血压计")
    MATTRESS = "mattress", _("智能床垫")
    SMOKE_DETECTOR = "smoke_detector", _("烟雾报警器")
    GAS_DETECTOR = "gas_detector", _("燃气报警器")
    WATER_METER = "water_meter", _("智能水表")
    ELECTRICITY_METER = "electricity_meter", _("智能电表")
    GAS_METER = "gas_meter", _("智能燃气表")
    SMART_CANE = "smart_cane", _("智能拐杖")
    CALL_BOX = "call_box", _("呼叫终端")


class DeviceStatus(models.TextChoices):
    ACTIVE = "active", _("在用")
    INACTIVE = "inactive", _("停用")
    REMOVED = "removed", _("已拆除")


class EventType(models.TextChoices):
    """The `type` of a message in the platform's own format (docs/devices.md). The values a type
    carries are in its `data`: see messages.FIELDS."""

    SOS = "sos", _("一键呼叫")
    FALL = "fall", _("跌倒")
    SMOKE = "smoke", _("烟雾")
    GAS = "gas", _("燃气泄漏")
    MOTION = "motion", _("活动")
    DOOR = "door", _("开关门")
    BED = "bed", _("离床/在床")
    BLOOD_PRESSURE = "blood_pressure", _("血压")
    HEART_RATE = "heart_rate", _("心率")
    WATER = "water", _("用水")
    ELECTRICITY = "electricity", _("用电")
    GAS_USAGE = "gas_usage", _("用气")
    HEARTBEAT = "heartbeat", _("设备心跳")


class Severity(models.TextChoices):
    CRITICAL = "critical", _("紧急")
    URGENT = "urgent", _("较急")
    MAINTENANCE = "maintenance", _("设备运维")


# Sort order on the console: critical first.
SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.URGENT: 1, Severity.MAINTENANCE: 2}


class Rule(models.TextChoices):
    SOS = "sos", _("一键呼叫")
    FALL = "fall", _("跌倒")
    SMOKE = "smoke", _("烟雾报警")
    GAS = "gas", _("燃气泄漏")
    BLOOD_PRESSURE = "blood_pressure", _("血压过高")
    NO_MOTION = "no_motion", _("长时间无活动")
    NO_WATER = "no_water", _("长时间未用水")
    WATER_RUNNING = "water_running", _("持续用水")
    ELECTRICITY = "electricity", _("用电异常")
    OFFLINE = "offline", _("设备离线")
    BATTERY_LOW = "battery_low", _("电量不足")


RULE_SEVERITY = {
    Rule.SOS: Severity.CRITICAL,
    Rule.FALL: Severity.CRITICAL,
    Rule.SMOKE: Severity.CRITICAL,
    Rule.GAS: Severity.CRITICAL,
    Rule.BLOOD_PRESSURE: Severity.URGENT,
    Rule.NO_MOTION: Severity.URGENT,
    Rule.NO_WATER: Severity.URGENT,
    Rule.WATER_RUNNING: Severity.URGENT,
    Rule.ELECTRICITY: Severity.URGENT,
    Rule.OFFLINE: Severity.MAINTENANCE,
    Rule.BATTERY_LOW: Severity.MAINTENANCE,
}


class AlarmStatus(models.TextChoices):
    NEW = "new", _("待响应")
    ACKNOWLEDGED = "acknowledged", _("已响应")
    DISPATCHED = "dispatched", _("已派遣")
    RESOLVED = "resolved", _("已处置")


OPEN_ALARM_STATUSES = (AlarmStatus.NEW, AlarmStatus.ACKNOWLEDGED, AlarmStatus.DISPATCHED)


class DispatchTarget(models.TextChoices):
    FAMILY = "family", _("通知家属")
    COMMUNITY_WORKER = "community_worker", _("社区工作人员上门")
    PROVIDER = "provider", _("服务机构上门")
    AMBULANCE = "ambulance", _("呼叫 120")


class Outcome(models.TextChoices):
    FALSE_ALARM = "false_alarm", _("误报")
    HANDLED_AT_HOME = "handled_at_home", _("上门处置")
    SENT_TO_HOSPITAL = "sent_to_hospital", _("送医")
    FAMILY_HANDLED = "family_handled", _("家属已处置")
    DEVICE_FIXED = "device_fixed", _("设备已检修")
    OTHER = "other", _("其他")
