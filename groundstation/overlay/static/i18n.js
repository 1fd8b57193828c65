// dronepatrol officers' page: every UI string in English and Chinese, in one table.
// Language: ?lang=en|zh, then the switch (remembered), then the browser's language.
"use strict";

const STRINGS = {
  en: {
    mode: "mode", phase: "phase", battery: "battery", link: "link", alt: "alt", speed: "speed",
    sortie: "sortie", item: "item", time: "time", armed: "ARMED", disarmed: "disarmed",
    connecting: "connecting…", connected: "connected", reconnecting: "reconnecting…",
    waiting_gs: "waiting for the ground station…", link_ok: "OK", link_lost: "LOST",
    alerts: "Alerts", log: "Log", log_all: "show all", new_alert: "NEW ALERT",
    arm: "Tap to turn on alert sound", armed_sound: "Sound on", lang_switch: "中文",
    your_name: "your name", name_needed: "Type your name first, then answer.",
    seen: "Seen", on_my_way: "On my way", resolved: "Resolved", false_alarm: "False alarm",
    unanswered: "no answer yet", by: "by", you_are_here: "you are here",
    away: "{d} {dir} of you", locating: "locating you…", no_location: "location unavailable",
    waiting_video: "waiting for video…", video_reconnecting: "video: reconnecting…", no_video_now: "no video at this time",
    fps_shown: "fps shown", behind: "behind", frame: "frame", snapshot: "snapshot",
    district: "district", nofly: "no-fly", fence: "fence", route: "route", flown: "flown",
    risk: "risk map", risk_of: "risk", r_red: "red", r_orange: "orange", r_yellow: "yellow", r_green: "green", r_white: "white",
    alert: "alert", drone: "drone", replay: "replay", play: "play", pause: "pause",
    conf: "conf", officers: "officers",
    k_gathering: "gathering", k_unmasked: "no mask", k_mask_incorrect: "mask worn wrong",
    k_link_lost: "link lost", k_link_recovered: "link back", k_battery_low: "battery low",
    k_geofence: "geofence", k_failsafe: "failsafe",
    gathering: "{n} people gathered", within: " (within {r} m)",
    unmasked: "person{c} without a mask", mask_incorrect: "person{c} with the mask below the nose",
    in_colour: " in {c}",
  },
  zh: {
    mode: "模式", phase: "阶段", battery: "电量", link: "链路", alt: "高度", speed: "速度",
    sortie: "架次", item: "航点", time: "时间", armed: "已解锁", disarmed: "未解锁",
    connecting: "连接中…", connected: "已连接", reconnecting: "重新连接中…",
    waiting_gs: "等待地面站…", link_ok: "正常", link_lost: "中断",
    alerts: "警情", log: "日志", log_all: "显示全部", new_alert: "新警情",
    arm: "点击开启警报声音", armed_sound: "声音已开启", lang_switch: "English",
    your_name: "您的姓名", name_needed: "请先输入您的姓名，再回复。",
    seen: "已看到", on_my_way: "正在前往", resolved: "已处置", false_alarm: "误报",
    unanswered: "尚无人回复", by: "", you_are_here: "您的位置",
    away: "距您{d}，{dir}方向", locating: "正在定位…", no_location: "无法获取位置",
    waiting_video: "等待视频…", video_reconnecting: "视频：重新连接中…", no_video_now: "此时无视频",
    fps_shown: "帧/秒", behind: "延迟", frame: "帧", snapshot: "截图",
    district: "巡逻区", nofly: "禁飞区", fence: "围栏", route: "航线", flown: "已飞",
    risk: "五色图", risk_of: "风险", r_red: "红", r_orange: "橙", r_yellow: "黄", r_green: "绿", r_white: "白",
    alert: "警情", drone: "无人机", replay: "回放", play: "播放", pause: "暂停",
    conf: "置信度", officers: "警员",
    k_gathering: "人员聚集", k_unmasked: "未戴口罩", k_mask_incorrect: "口罩未戴好",
    k_link_lost: "链路中断", k_link_recovered: "链路恢复", k_battery_low: "电量低",
    k_geofence: "电子围栏", k_failsafe: "失效保护",
    gathering: "{n}人聚集", within: "（{r}米范围内）",
    unmasked: "{c}人员未戴口罩", mask_incorrect: "{c}人员口罩未遮住鼻子",
    in_colour: "穿{c}衣服的",
  },
};

const COMPASS = {
  en: ["N", "NE", "E", "SE", "S", "SW", "W", "NW"],
  zh: ["北", "东北", "东", "东南", "南", "西南", "西", "西北"],
};

function pickLang() {
  const q = new URLSearchParams(location.search).get("lang");
  if (q && STRINGS[q]) return q;
  const saved = localStorage.getItem("dp_lang");
  if (saved && STRINGS[saved]) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

let LANG = pickLang();

function t(key, vars) {
  let s = (STRINGS[LANG] && STRINGS[LANG][key]) ?? STRINGS.en[key] ?? key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
  return s;
}

function applyStrings() {
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((e) => { e.placeholder = t(e.dataset.i18nPlaceholder); });
}
