"""Every text the command page shows, Chinese first and English second, in one table.

The shared catalogue (services/i18n, gettext .po files) was being built when this page was
written; these texts move into it as they are (each key is its English msgid). `t(key)`
answers in the current request's language (services/i18n chooses it).
"""

from __future__ import annotations

from services import i18n

TEXTS: dict[str, str] = {
    "Command centre": "指挥中心",
    "Mass-casualty incidents": "群体伤事件",
    "No active mass-casualty incident.": "当前无群体伤事件。",
    "Immediate": "立即（红）",
    "Delayed": "延迟（黄）",
    "Minor": "轻伤（绿）",
    "Dead or expectant": "死亡/濒死（黑）",
    "registered {n} of about {estimated}": "已登记 {n} 人 / 预计 {estimated} 人",
    "Unassigned": "未分配",
    "By destination": "按去向",
    "Hospitals: capacity and assigned": "医院：容量与已分配",
    "Hospital": "医院",
    "ED": "急诊",
    "Beds (reported / assigned / left)": "床位（上报 / 已分配 / 剩余）",
    "Surgical teams": "手术团队",
    "Cath lab": "导管室",
    "open": "开放",
    "closed": "关闭",
    "normal": "正常",
    "advisory": "限流",
    "No hospital has reported capacity.": "尚无医院上报容量。",
    "Ambulances committed": "已出动救护车",
    "Escorts (traffic platform)": "一键护航（交管平台）",
    "Unit": "车辆",
    "Reason": "原因",
    "Incident": "事件",
    "Destination": "目的地",
    "Status": "状态",
    "ETA": "预计到达",
    "Signals cleared": "已放行路口",
    "No escort requested.": "尚无护航请求。",
    "requested": "已请求",
    "acknowledged": "已受理",
    "planned": "已规划",
    "active": "护航中",
    "completed": "已完成",
    "cancelled": "已取消",
    "Early warning": "监测预警",
    "No alert.": "无预警。",
    "Signal": "监测项",
    "Area": "区域",
    "Day": "日期",
    "Observed / baseline": "观察值 / 基线",
    "acknowledged by {who}": "{who} 已确认",
    "not acknowledged": "未确认",
    "Map": "地图",
    "Scene": "现场",
    "Home": "首页",
    "Your name": "您的姓名",
    "Apply the distribution plan": "应用分配方案",
    "Acknowledge": "确认",
    "updated {time}": "更新于 {time}",
    "Active incidents": "进行中事件",
    "Open alerts": "未确认预警",
    "Illustrative base map (fictitious county outline, not survey data)": "示意底图（虚构县界，非测绘数据）",
}
COLOUR_LABELS = {
    "RED": "Immediate",
    "YELLOW": "Delayed",
    "GREEN": "Minor",
    "BLACK": "Dead or expectant",
}


def t(key: str, **params: object) -> str:
    """`key` (English) in the request's language, placeholders filled."""
    text = TEXTS.get(key, key) if i18n.locale().startswith("zh") else key
    return text.format(**params) if params else text
