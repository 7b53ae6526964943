// Messages the field app's scripts build at runtime, Chinese first, English when the page
// was served in English (<html lang="en">). Static labels are in the page template, through
// the server's gettext catalogs.
//
//   t(key, params) -> text        "{name}" placeholders are filled from params.
//   extend(messages)              other screens add their keys: {key: {zh, en}}.
//   extendHints(hints)            other screens add hints for their codes: {code: {zh, en}}.
//   hint(code) -> text            what the sampler should do about a rejection code.

const MESSAGES = {
  "status.online": { zh: "在线", en: "Online" },
  "status.offline": { zh: "离线", en: "Offline" },
  "status.syncing": { zh: "正在上传…", en: "Sending…" },
  "status.retry": { zh: "{s} 秒后重试", en: "retry in {s} s" },
  "status.token": {
    zh: "设备令牌无效或已过期：请向指挥部重新领取令牌后登录。待发数据仍保存在本机。",
    en: "The device token is invalid or expired: get a new one and sign in again. Unsent data stays on this device.",
  },
  "device.name": { zh: "设备", en: "Device" },
  "device.round": { zh: "轮次", en: "Round" },
  "device.deadline": { zh: "截止时间", en: "Deadline" },
  "device.site": { zh: "采样点", en: "Site" },
  "device.residents": { zh: "本点居民", en: "Residents" },
  "device.batches": { zh: "管码批次", en: "Tube batches" },
  "device.updated": { zh: "名单更新于", en: "Updated" },
  "device.refreshed": { zh: "名单和管码已更新", en: "Lists updated" },
  "signin.offline": {
    zh: "首次登录需要联网，请连上网络后再试。",
    en: "The first sign-in needs a connection; connect and try again.",
  },
  "signin.refused": {
    zh: "令牌无效或已过期，请核对后重新输入。",
    en: "The token is invalid or expired; check it and enter it again.",
  },
  "signin.failed": { zh: "服务器暂时无法回答（{status}），请稍后再试。", en: "The server did not answer ({status}); try again later." },
  "signin.lab": {
    zh: "这是检测机构的令牌；采样页面需要采样点令牌。",
    en: "This is a lab token; the sampler screen needs a site token.",
  },
  "scan.unknown": { zh: "无法识别：{value}", en: "Not recognised: {value}" },
  "scan.bad_tube": { zh: "管码校验位不对：{value}，请重扫", en: "Tube barcode check digit wrong: {value}; scan again" },
  "scan.person_first": { zh: "请先扫描受检者，再扫描采样管", en: "Scan the person first, then the tube" },
  "scan.tube_now": { zh: "请扫描采样管", en: "Now scan the tube" },
  "scan.recorded": { zh: "已记录：{name} → {tube}（{fill}）", en: "Recorded: {name} → {tube} ({fill})" },
  "scan.tube_set": { zh: "当前采样管：{tube}", en: "Current tube: {tube}" },
  "scan.tube_full_closed": { zh: "{tube} 已满 {fill}，自动封管", en: "{tube} is full at {fill}; closed" },
  "person.not_listed": {
    zh: "居民码 {code} 不在本采样点名单中，由服务器核对",
    en: "Resident code {code} is not on this site's list; the server will check it",
  },
  "person.walk_in": { zh: "临时登记（证件号由服务器核对）", en: "Walk-in (the server checks the ID number)" },
  "person.sampled": {
    zh: "注意：此人本轮已采过样，再采会被标记为重复",
    en: "Note: already swabbed in this round; another swab is flagged as a duplicate",
  },
  "person.capacity": { zh: "{n}混1", en: "{n}:1" },
  "person.single": { zh: "单管单采", en: "single tube" },
  "person.household": { zh: "一户一管", en: "one household" },
  "tube.none": { zh: "未选采样管", en: "No tube yet" },
  "tube.closed": { zh: "已封管", en: "closed" },
  "tube.closed_short": { zh: "已封管（未满）：{tube}", en: "Closed short: {tube}" },
  "box.added": { zh: "已加入：{tube}", en: "Added: {tube}" },
  "box.sealed": { zh: "已封箱 {box}：{count} 管，封条 {seal}", en: "Box {box} sealed: {count} tubes, seal {seal}" },
  "rejected.new": {
    zh: "服务器拒收 {n} 条：{reason}。请到“被拒”查看处理办法",
    en: "The server rejected {n}: {reason}. See the Rejected tab for what to do",
  },
  "rejected.none": { zh: "没有被拒的数据", en: "No rejected events" },
  "rejected.dismissed": { zh: "已标记为已处理", en: "Marked as dealt with" },
  "type.swab_taken": { zh: "采样", en: "Swab" },
  "type.tube_closed": { zh: "封管", en: "Tube closed" },
  "type.box_sealed": { zh: "封箱", en: "Box sealed" },
  "refuse.tube_unknown": {
    zh: "{tube} 不是本轮发放的采样管，请换一支本轮的管",
    en: "{tube} was not issued for this round; use one of this round's tubes",
  },
  "refuse.tube_closed": { zh: "{tube} 已封管，不能再放入或封管", en: "{tube} is already closed" },
  "refuse.tube_full": {
    zh: "{tube} 已满（{capacity}/{capacity}），请换新管",
    en: "{tube} is full ({capacity}/{capacity}); take a new tube",
  },
  "refuse.tube_capacity_mismatch": {
    zh: "此人应使用{expected}混1的管，{tube} 是{capacity}混1，请换管",
    en: "This person needs a {expected}:1 tube; {tube} is {capacity}:1. Use another tube",
  },
  "refuse.tube_empty": { zh: "{tube} 还没有样本，不能封管", en: "{tube} holds no swab yet" },
  "refuse.tube_short_no_reason": {
    zh: "未满封管需要填写原因",
    en: "Closing a tube that is not full needs a reason",
  },
  "refuse.box_tube_listed": { zh: "{tube} 已在本箱清单中", en: "{tube} is already listed" },
  "refuse.box_tube_not_closed": {
    zh: "{tube} 未封管或已装箱，不能装入",
    en: "{tube} is not closed, or already in a box",
  },
  "refuse.box_code_missing": { zh: "请先扫描转运箱编号", en: "Scan the box code first" },
  "refuse.box_sealed": { zh: "转运箱 {box} 已封箱", en: "Box {box} is already sealed" },
  "refuse.box_empty": { zh: "箱内还没有采样管", en: "The box holds no tube yet" },
  "refuse.box_count_missing": {
    zh: "请填写箱上写的管数",
    en: "Enter the tube count written on the box",
  },
  "refuse.seal_missing": { zh: "请填写封条号", en: "Enter the seal number" },
  "refuse.box_count_mismatch": {
    zh: "箱上写的数量 {count} 与扫描的 {listed} 管不一致",
    en: "The count {count} differs from the {listed} tubes scanned",
  },
  "refuse.station_missing": { zh: "请先选择采样台", en: "Choose the station first" },
};

// What to do about each rejection code the server may send for a sampler's events.
const HINTS = {
  tube_unknown: { zh: "核对管码；若管码确为本轮发放，请联系指挥部。样本需用本轮的管重采。", en: "Check the barcode; if it was issued for this round, call the command centre. Resample into a tube of this round." },
  tube_other_round: { zh: "此管属于其他轮次：请用本轮的管为此人重采。", en: "The tube belongs to another round: resample this person into a tube of this round." },
  tube_closed: { zh: "管已封：请用新管为此人重采。", en: "The tube was closed: resample this person into a new tube." },
  tube_full: { zh: "管已满：请用新管为此人重采。", en: "The tube was full: resample this person into a new tube." },
  tube_capacity_mismatch: { zh: "此人所属区域或人群的混采比例不同：请按正确比例换管重采，重采前此人仍计为未检。", en: "This person's pooling differs: resample into a tube of the right size; until then they count as untested." },
  tube_other_household: { zh: "一户一管中已有其他户的样本：请为此户换新管重采。", en: "The household tube holds another household: resample into a new tube." },
  person_unknown: { zh: "居民码未登记：请改用证件号临时登记后重采。", en: "Unknown resident code: register the person by ID document and resample." },
  station_unknown: { zh: "采样台不属于本采样点：请在设备页选择正确的采样台。", en: "The station is not at this site: choose the right station on the device tab." },
  scope_denied: { zh: "此操作超出本设备的权限（轮次或采样点）：请联系指挥部。", en: "Outside this device's round or site: call the command centre." },
  box_sealed: { zh: "箱号已被使用：请换一个新箱号重新封箱。", en: "The box code is used: seal again under a new box code." },
  box_count_mismatch: { zh: "数量不符：请清点后重新封箱。", en: "Count mismatch: count again and reseal." },
  box_tube_not_closed: { zh: "箱内有未封或已装箱的管：请核对后重新封箱。", en: "A tube is not closed or already boxed: check and reseal." },
  malformed: { zh: "数据格式错误：请截图并联系技术支持。", en: "Malformed event: take a screenshot and call support." },
};

const lang = () => (document.documentElement.lang || "zh").toLowerCase().startsWith("en") ? "en" : "zh";

export function extend(messages) {
  Object.assign(MESSAGES, messages);
}

export function extendHints(hints) {
  Object.assign(HINTS, hints);
}

export function t(key, params = {}) {
  const entry = MESSAGES[key];
  const text = entry ? entry[lang()] || entry.zh : key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

export function hint(code) {
  const entry = HINTS[code];
  if (!entry) return lang() === "en" ? "Call the command centre about it." : "请联系指挥部处理。";
  return entry[lang()] || entry.zh;
}
