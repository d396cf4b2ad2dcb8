package service

import (
	"strconv"
	"strings"
	"testing"
)

// fieldMessage is what one field error code says, in English for API
// clients and in Chinese for people at a service point. {0}, {1}… stand for
// the error's Args in order; the Chinese may leave some out.
type fieldMessage struct{ en, zh string }

// fieldMessages is the one catalogue of field errors, keyed by the stable
// codes that FieldError carries. NewFieldError writes the English from it,
// ZhField the Chinese. TestZhCatalogueIsComplete fails when a source
// file uses a code this catalogue lacks.
var fieldMessages = map[string]fieldMessage{
	// Text and shapes, shared by every form.
	"required":             {"required", "此项必填。"},
	"too_short":            {"at least {0} characters", "至少 {0} 个字。"},
	"too_long":             {"at most {0} characters", "最多 {0} 个字。"},
	"invalid_utf8":         {"must be valid UTF-8", "含有无法识别的字符。"},
	"control_characters":   {"must not contain control characters", "含有不可见的控制字符，请重新输入。"},
	"invisible_characters": {"must not contain invisible or direction-changing characters (such as U+200B, U+202E or U+FEFF)", "含有不可见或改变文字方向的字符，请重新输入。"},
	"not_plain_text":       {"must be valid UTF-8 without control characters", "含有无法识别或不可见的字符，请重新输入。"},
	"not_utf8_text":        {"the {0} {1} must be UTF-8 text without NUL characters", "含有无法识别的字符（须为 UTF-8 文本，不含 NUL 字符）。"},
	"nul_characters":       {"must not contain NUL characters", "含有无法识别的字符（NUL），请重新输入。"},
	"listed_twice":         {"listed twice", "重复勾选。"},
	"not_a_boolean":        {"true or false", "须为 true 或 false。"},
	"unreadable_form":      {"the form cannot be read", "表单内容无法读取，请刷新页面后重新填写。"},

	// The request's shape, as the API reads a JSON body.
	"too_many_entries": {"at most {0} entries", "最多 {0} 项。"},
	"at_most":          {"at most {0}", "不能大于 {0}。"},
	"at_least":         {"at least {0}", "不能小于 {0}。"},
	"one_of":           {"one of {0}", "须为以下之一：{0}。"},
	"exact_length":     {"exactly {0} characters", "须为 {0} 个字符。"},
	"not_valid":        {"not valid ({0})", "填写有误，请核对。"},
	"given_twice":      {"given twice", "重复填写。"},
	"unknown_field":    {"unknown field", "请求中有本操作不接受的字段。"},
	"wrong_type":       {"must be {0}", "类型有误。"},

	// Webhook endpoints.
	"webhook_url_invalid":   {"an absolute https:// address", "请填写完整的 https:// 地址。"},
	"webhook_url_not_https": {"must be https (plain http only to a loopback address, when the server allows it)", "地址须以 https:// 开头。"},
	"webhook_url_private":   {"must not point at a private, loopback or link-local address", "地址不能指向内网、本机或链路本地地址。"},
	"no_event_types":        {"name at least one event type", "请至少选择一种事件类型。"},
	"unknown_placeholder":   {"only intake, item and link may stand in braces", "花括号中只能写 intake、item 或 link（代办点、事项、查询链接）。"},
	"sms_too_long":          {"{0} characters with the longest names and link; the SMS gateway takes at most {1}", "按最长的单位名、事项名和链接计算共 {0} 字，超过短信网关允许的 {1} 字。"},
	"unknown_event_type":    {"not an event type: {0} or *", "没有这种事件类型。"},

	// Dates and periods.
	"not_a_date":             {"not a date of the form YYYY-MM-DD", "请按“年-月-日”填写日期，如 2026-03-02。"},
	"date_required":          {"required, as YYYY-MM-DD", "必填，格式为“年-月-日”，如 2026-03-02。"},
	"date_out_of_range":      {"a date from 2000 to 2100", "日期须在2000年至2100年之间。"},
	"year_out_of_range":      {"from 2000 to 2100", "年份须在2000年至2100年之间。"},
	"invalid_year":           {"a year from 2000 to 2100", "年份须在2000年至2100年之间。"},
	"from_after_to":          {"must not be after to", "开始日期不能晚于结束日期。"},
	"period_too_long":        {"a period covers at most five years", "统计期间最长为五年。"},
	"ledger_period_required": {"a month of the form YYYY-MM, or from and to as YYYY-MM-DD", "请选择起止日期。"},
	"ledger_period_too_long": {"a ledger covers at most one year (366 days)", "台账一次最多查看一年（366天），请缩短起止日期。"},
	"too_many_rows":          {"more than {0} registrations in this range; choose a shorter one", "这段时间登记超过 {0} 件，请缩短起止日期。"},

	// The working calendar.
	"too_many_days":          {"at most 366 days", "最多366天。"},
	"not_in_year":            {"must lie in {0}", "日期不在 {0} 年内。"},
	"makeup_day_not_weekend": {"a make-up working day falls on a weekend", "调休上班日须是周六或周日。"},
	"unknown_day_kind":       {"holiday or workday", "请填写“休”或“班”。"},

	// The applicant.
	"id_number_length":       {"a resident ID number has 18 characters", "身份证号码应为18位。"},
	"id_number_digits":       {"the first 17 characters of a resident ID number are digits", "身份证号码前17位应为数字。"},
	"id_number_province":     {"the ID number does not start with a province code", "身份证号码前两位不是有效的省份代码。"},
	"id_number_birth_date":   {"the birth date in the ID number is not a real date", "身份证号码中的出生日期不存在。"},
	"id_number_future_birth": {"the birth date in the ID number is in the future", "身份证号码中的出生日期晚于今天。"},
	"id_number_checksum":     {"the last character of the ID number does not match: check what you typed", "身份证号码校验位不符，请逐位核对。"},
	"invalid_phone":          {"an 11-digit mobile number or a landline such as 0591-28888888", "请填写11位手机号码，或带区号的固定电话（如 0591-28888888）。"},

	// Registering an errand.
	"unknown_channel":         {"one of walk_in, home_visit, phone, app, web", "请选择受理渠道。"},
	"no_such_item":            {"no such item in the catalogue", "目录中没有此事项。"},
	"item_inactive":           {"this item is no longer taken in", "此事项已停办，不再受理。"},
	"missing_material":        {"missing: {0}", "缺少材料：{0}。材料不齐全的，请一次性告知申请人补齐后再登记。"},
	"invalid_idempotency_key": {"at most 128 printable characters", "幂等键（Idempotency-Key）最多 128 个可打印字符。"},
	"idempotency_key_reused":  {"already used with a different request", "这个幂等键（Idempotency-Key）已用于另一个请求。"},

	// Steps of the lifecycle.
	"unknown_action":                {"unknown action", "没有这种操作。"},
	"version_required":              {"send the version you last read (or an If-Match header)", "页面信息不完整，请刷新后重试。"},
	"invalid_if_match":              {`the errand's ETag, such as "3"`, "If-Match 须为办件的 ETag，如 \"3\"。"},
	"version_differs_from_if_match": {"differs from If-Match", "与 If-Match 中的版本不一致。"},
	"no_material_named":             {"name at least one material", "请至少勾选一项需要补正的材料。"},
	"not_a_material":                {"not a material of this item", "不是本事项所需的材料。"},
	"refusal_needs_reason":          {"a refusal needs its reason", "不予办理的，必须填写理由。"},
	"unknown_outcome":               {"approved or refused", "请选择办理结果：准予或不予。"},
	"receipt_recovery_unstated":     {"say whether the receipt was recovered", "请选择回执是否收回。"},
	"lost_receipt_needs_id":         {"a lost receipt needs the applicant's ID number", "回执遗失的，须核验申请人身份证号码。"},
	"id_number_mismatch":            {"does not match the applicant's ID number", "与申请人的身份证号码不一致。"},
	"unknown_satisfaction":          {"a grade from 1 (非常不满意) to 5 (非常满意), or leave it out", "请选择评价等级。"},
	"not_after_due_date":            {"must be later than the current due date {0}", "须晚于当前承诺办结日期 {0}。"},
	"extension_too_long":            {"at most a year beyond the current due date", "最多只能延期一年。"},
	"not_working_day":               {"must be a working day", "须为工作日。"},
	"correction_required":           {"required: the name, phone and address as they should read", "请填写更正后的姓名、联系电话和住址。"},
	"nothing_to_correct":            {"nothing differs from the registration", "与登记内容相同，没有需要更正的地方。"},

	// Receipts and the public lookup.
	"receipt_no_too_long":       {"a receipt number has at most 16 characters", "回执编号最多16位。"},
	"receipt_no_characters":     {"a receipt number has only digits and capital letters; check what you typed", "回执编号只含数字和大写字母，请核对。"},
	"receipt_no_length":         {"a receipt number has 10 to 16 characters", "回执编号应为10至16位。"},
	"receipt_no_checksum":       {"this receipt number is not valid: a character is wrong or two are swapped", "回执编号有误：可能有字符输错或相邻两位颠倒，请对照回执核对。"},
	"invalid_verification_code": {"the verification code has 6 digits", "查询码为6位数字。"},

	// Listings, searches and reports.
	"limit_out_of_range":      {"from 1 to {0}", "每页条数须在 1 至 {0} 之间。"},
	"invalid_limit":           {"an integer from 1 to 500", "每页条数须为 1 至 500 之间的整数。"},
	"unknown_status":          {"unknown status {0}", "没有这种办理状态。"},
	"status_not_in_list":      {"not a status of this list", "本列表中没有这种状态的办件，请选择其他状态，或到“全部”中查找。"},
	"invalid_cursor":          {"not a cursor from a previous page", "翻页信息已失效，请从第一页重新查找。"},
	"cursor_other_order":      {"a cursor from a listing in another order", "翻页信息来自另一种排序，请从第一页重新查找。"},
	"org_out_of_scope":        {"no such organisation in your scope", "不在您的管辖范围内。"},
	"too_many_warnings":       {"more than {0} warnings; download one township at a time", "预警超过 {0} 条，请逐个乡镇分别下载。"},
	"unknown_stats_group":     {"one of township, village, category, item, agent, month", "请选择分组方式。"},
	"unknown_ledger_group":    {"one of item, category, month", "请选择分组方式：单位、事项、类别或月份。"},
	"unknown_download_format": {"csv or xlsx", "请选择 CSV 或 Excel 格式。"},
	"unknown_report_format":   {"json, csv or xlsx", "请选择 JSON、CSV 或 Excel 格式。"},
	"unknown_level_filter":    {"city, township, village, grid or department", "层级须为市、乡镇（街道）、村（社区）、网格或职能部门。"},

	// Organisations, the catalogue and accounts.
	"unknown_level":           {"must be city, township, village, grid or department", "层级须为市、乡镇（街道）、村（社区）、网格或职能部门。"},
	"division_code_digits":    {"a {0} division code has {1} digits", "区划代码须为 {1} 位数字。"},
	"city_has_no_parent":      {"a city has no parent", "市级单位没有上级单位。"},
	"parent_required":         {"required for a {0}", "请选择上级单位。"},
	"no_such_org":             {"no such organisation", "没有这个单位代码，请从列表中选择。"},
	"wrong_parent_level":      {"the parent of a {0} must be a {1}", "上级单位的层级不符：乡镇（街道）的上级须为市，村（社区）的上级须为乡镇（街道），网格的上级须为村（社区）。"},
	"photo_number":            {"a photo number from 1 to 6", "照片序号须为 1 至 6。"},
	"unknown_report_group":    {"one of org, category, channel, grid, month", "分组方式须为单位、类别、渠道、网格或月份。"},
	"unknown_report_category": {"an unknown category", "请选择问题类别。"},
	"unknown_urgency":         {"ordinary or urgent", "紧急程度须为一般或紧急。"},
	"coordinates_pair":        {"give both lat and lng, or neither", "经纬度须同时填写或都不填。"},
	"coordinates_range":       {"lat within ±90 and lng within ±180", "经纬度超出范围。"},
	"too_many_photos":         {"at most {0} photos", "照片最多 {0} 张。"},
	"photo_too_large":         {"a photo may have at most {0} MB", "每张照片不能超过 {0} MB。"},
	"not_an_image":            {"not a JPEG, PNG, WebP or GIF picture", "不是照片（须为 JPEG、PNG、WebP 或 GIF 图片）。"},
	"no_such_grid":            {"no such grid", "没有这个网格。"},
	"public_channel":          {"web or app", "渠道须为网站或APP。"},
	"not_your_grid":           {"a grid inspector reports from their own grid", "网格员只能上报本网格的民情。"},
	"grid_not_in_village":     {"the grid is not in your village", "该网格不属于本村（社区）。"},
	"grade_or_unreachable":    {"give the reporter's grade, or say they could not be reached", "请填写回访满意度，或注明联系不上。"},
	"grade_range":             {"a grade from 1 to 5", "满意度须为 1 至 5。"},
	"extension_days":          {"from 1 to 30 working days", "延期天数须为 1 至 30 个工作日。"},
	"no_such_report":          {"no such report in your scope", "没有这件民情件，或不在您的管辖范围内。"},
	"merge_target":            {"a report cannot be merged into itself or into a merged one", "不能并入自身或已被合并的民情件。"},
	"outside_reach":           {"outside the organisations you may dispatch to (your own city)", "只能分派给本市（县）的单位。"},
	"grid_cannot_handle":      {"a grid does not handle reports; dispatch to its village", "网格不办理民情件，请分派给所在村（社区）。"},
	"already_holds":           {"that organisation holds the report already", "该单位已持有此件。"},
	"department_parent":       {"a department belongs to a city or a township", "职能部门的上级须为市或乡镇（街道）。"},
	"department_code_digits":  {"a department's code is its parent's code and four digits: {0} digits", "职能部门代码须为上级代码加 4 位数字，共 {0} 位。"},
	"code_not_under_parent":   {"must start with the parent's code {0}", "须以上级单位的代码 {0} 开头。"},
	"org_code_taken":          {"an organisation with this code already exists", "已有单位使用这个代码。"},
	"invalid_category_code":   {"2 to 32 lower-case letters, digits or '_', starting with a letter", "须为2至32位小写字母、数字或下划线，以字母开头。"},
	"category_code_taken":     {"a category with this code already exists", "已有类别使用这个代码。"},
	"invalid_item_code":       {"2 to 20 capital letters, digits or '-'", "须为2至20位大写字母、数字或“-”。"},
	"item_code_taken":         {"an item with this code already exists", "已有事项使用这个代码。"},
	"unknown_decision_level":  {"township or city: the level that decides the item", "请选择办结层级：乡镇（街道）或市级。"},
	"no_such_category":        {"no such category", "没有这个事项类别。"},
	"too_many_materials":      {"at most 30 materials", "材料最多30项。"},
	"fee_out_of_range":        {"from 0 to 100000000", "收费须在0至100万元之间。"},
	"time_limit_out_of_range": {"from 1 to {0} working days", "承诺时限须为 1 至 {0} 个工作日。"},
	"nothing_to_change":       {"send at least one of name, materials, fee_cents, time_limit_days, active", "请至少修改一项：名称、材料、收费、承诺时限或是否受理。"},
	"invalid_username":        {"3 to 32 lower-case letters, digits, '.', '_' or '-'", "用户名须为 3 至 32 位小写字母、数字或 . _ -，以字母或数字开头。"},
	"username_taken":          {"this username is taken", "此用户名已被使用。"},
	"unknown_role":            {"one of agent, township_officer, city_officer, supervisor, admin, grid_inspector, hotline_operator, department_officer", "请选择岗位。"},
	"role_level_mismatch":     {"a {0} belongs to a {1}, not a {2}", "岗位与单位的层级不符：代办员属村（社区），乡镇办事员属乡镇（街道），其他岗位属市级单位。"},
	"password_length":         {"8 to 72 bytes", "密码须为 8 至 72 个字节：字母、数字、符号各占 1 个字节，一个汉字占 3 个字节。"},
	"wrong_password":          {"does not match your current password", "当前密码不正确。"},
	"same_password":           {"must differ from the current password", "新密码不能与当前密码相同。"},
}

// NewFieldError is the field error with code, its English message filled
// in from the catalogue with args. Under test an unknown code, or args that
// do not fit the message, panic, so that no test passes over a message the
// catalogue cannot say; in production the code stands in for the message.
func NewFieldError(field, code string, args ...string) FieldError {
	m, ok := fieldMessages[code]
	if !ok || placeholders(m.en) != len(args) {
		if testing.Testing() {
			panic("service: field error code " + strconv.Quote(code) + " with " + strconv.Itoa(len(args)) + " args does not fit the catalogue (service/messages.go)")
		}
		if !ok {
			return FieldError{Field: field, Code: code, Args: args, Message: code}
		}
	}
	return FieldError{Field: field, Code: code, Args: args, Message: fill(m.en, args)}
}

// ZhField is a field error in Chinese, from the catalogue by its code.
func ZhField(fe FieldError) string {
	if m, ok := fieldMessages[fe.Code]; ok {
		return fill(m.zh, fe.Args)
	}
	return "填写有误，请核对。"
}

// fill puts args in place of {0}, {1}… in a message, in one pass, so an
// arg that itself reads like {1} stays as it is.
func fill(msg string, args []string) string {
	if len(args) == 0 {
		return msg
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(msg[i:], '}')
		if j < 0 {
			break
		}
		n, err := strconv.Atoi(msg[i+1 : i+j])
		if err != nil || n < 0 || n >= len(args) {
			b.WriteString(msg[:i+j+1])
		} else {
			b.WriteString(msg[:i])
			b.WriteString(args[n])
		}
		msg = msg[i+j+1:]
	}
	b.WriteString(msg)
	return b.String()
}

// placeholders counts the distinct args a message names: {0} to {n-1}.
func placeholders(msg string) int {
	n := 0
	for strings.Contains(msg, "{"+strconv.Itoa(n)+"}") {
		n++
	}
	return n
}
