package service

import (
	"strconv"
	"strings"
	"time"
)

// The service speaks English to API clients by default; people at a village
// service point read Chinese. This is the one Chinese catalogue of what the
// service can say: its errors by their stable codes, and its field
// messages. The console reads it, and so does the API for a client that
// prefers Chinese (Accept-Language: zh). TestZhCatalogueIsComplete fails
// when the service says something this catalogue lacks.

// zhCodes translate errors that are about the request as a whole.
var zhCodes = map[string]string{
	"version_conflict":         "该办件刚刚已被他人办理或更新，下面是最新状态，请核对后再操作。",
	"invalid_transition":       "该办件当前的状态不能进行此操作，下面是最新状态。",
	"decided_here":             "本事项由本级办结，无需转报。",
	"wrong_level":              "本事项不由本级办结，请转报上级。",
	"no_higher_level":          "已是最高层级，无法继续转报。",
	"role_not_allowed":         "您的岗位不能进行此操作。",
	"wrong_organisation":       "此办件目前不在本单位，不能进行此操作。",
	"forbidden":                "您的账号无权进行此操作。",
	"bad_credentials":          "用户名或密码错误。",
	"too_many_attempts":        "登录失败次数过多，请稍后再试。",
	"too_many_lookups":         "查询过于频繁，请稍后再试。",
	"rate_limited":             "查询过于频繁，请稍后再试。",
	"receipt_not_found":        "未找到：请对照回执核对回执编号和查询码。",
	"idempotency_key_reused":   "这张登记表已经提交过，请勿重复提交。请在“本村办件”中查看。",
	"idempotency_in_flight":    "正在提交，请勿重复点击。",
	"not_found":                "未找到，或不在您的管辖范围内。",
	"unauthenticated":          "会话已过期，请重新登录。",
	"invalid_token":            "会话已过期，请重新登录。",
	"duplicate":                "已存在，不能重复添加。",
	"account_disabled":         "此账号已停用，不能登录。请联系本县（市）系统管理员。",
	"password_change_required": "您的密码是管理员设置的，请先设置自己的新密码。",
	"validation_failed":        "有些内容需要修改，请按提示改正后重新提交。",
	"invalid_parameter":        "请求中的参数有误，请检查后重试。",
	"storage_full":             "服务器存储空间已满，暂时不能保存。请稍后再试，并告知系统管理员。",
	"ledger_check_running":     "台账校验正在进行，请等它结束后再试。",
	"cannot_disable_self":      "不能停用自己的账号。",
}

// zhFieldMessages translate the service's field messages word for word.
var zhFieldMessages = map[string]string{
	"a month of the form YYYY-MM, or from and to as YYYY-MM-DD":                  "请选择起止日期。",
	"a ledger covers at most one year (366 days)":                                "台账一次最多查看一年（366天），请缩短起止日期。",
	"one of item, category, month":                                               "请选择分组方式：单位、事项、类别或月份。",
	"a make-up working day falls on a weekend":                                   "调休上班日须是周六或周日。",
	"no such category":                                                           "没有这个事项类别。",
	"holiday or workday":                                                         "请填写“休”或“班”。",
	"a cursor from a listing in another order":                                   "翻页信息来自另一种排序，请从第一页重新查找。",
	"from 2000 to 2100":                                                          "年份须在2000年至2100年之间。",
	"must be city, township or village":                                          "层级须为市、乡镇（街道）或村（社区）。",
	"must be valid UTF-8 without control characters":                             "含有无法识别或不可见的字符，请重新输入。",
	"a city has no parent":                                                       "市级单位没有上级单位。",
	"2 to 20 capital letters, digits or '-'":                                     "须为2至20位大写字母、数字或“-”。",
	"at most 30 materials":                                                       "材料最多30项。",
	"required: the name, phone and address as they should read":                  "请填写更正后的姓名、联系电话和住址。",
	"from 0 to 100000000":                                                        "收费须在0至100万元之间。",
	"unknown action":                                                             "没有这种操作。",
	"2 to 32 lower-case letters, digits or '_', starting with a letter":          "须为2至32位小写字母、数字或下划线，以字母开头。",
	"township or city: the level that decides the item":                          "请选择办结层级：乡镇（街道）或市级。",
	"already used with a different request":                                      "这个幂等键（Idempotency-Key）已用于另一个请求。",
	"required, as YYYY-MM-DD":                                                    "必填，格式为“年-月-日”，如 2026-03-02。",
	"at most 366 days":                                                           "最多366天。",
	"required":                                                                   "此项必填。",
	"nothing differs from the registration":                                      "与登记内容相同，没有需要更正的地方。",
	"must be valid UTF-8":                                                        "含有无法识别的字符。",
	"must not contain control characters":                                        "含有不可见的控制字符，请重新输入。",
	"a resident ID number has 18 characters":                                     "身份证号码应为18位。",
	"the first 17 characters of a resident ID number are digits":                 "身份证号码前17位应为数字。",
	"the ID number does not start with a province code":                          "身份证号码前两位不是有效的省份代码。",
	"the birth date in the ID number is not a real date":                         "身份证号码中的出生日期不存在。",
	"the birth date in the ID number is in the future":                           "身份证号码中的出生日期晚于今天。",
	"the last character of the ID number does not match: check what you typed":   "身份证号码校验位不符，请逐位核对。",
	"an 11-digit mobile number or a landline such as 0591-28888888":              "请填写11位手机号码，或带区号的固定电话（如 0591-28888888）。",
	"one of walk_in, home_visit, phone, app, web":                                "请选择受理渠道。",
	"no such item in the catalogue":                                              "目录中没有此事项。",
	"this item is no longer taken in":                                            "此事项已停办，不再受理。",
	"not a material of this item":                                                "不是本事项所需的材料。",
	"listed twice":                                                               "重复勾选。",
	"name at least one material":                                                 "请至少勾选一项需要补正的材料。",
	"a refusal needs its reason":                                                 "不予办理的，必须填写理由。",
	"approved or refused":                                                        "请选择办理结果：准予或不予。",
	"say whether the receipt was recovered":                                      "请选择回执是否收回。",
	"a lost receipt needs the applicant's ID number":                             "回执遗失的，须核验申请人身份证号码。",
	"does not match the applicant's ID number":                                   "与申请人的身份证号码不一致。",
	"a grade from 1 (非常不满意) to 5 (非常满意), or leave it out":                        "请选择评价等级。",
	"at most a year beyond the current due date":                                 "最多只能延期一年。",
	"must be a working day":                                                      "须为工作日。",
	"send the version you last read (or an If-Match header)":                     "页面信息不完整，请刷新后重试。",
	"a receipt number has at most 16 characters":                                 "回执编号最多16位。",
	"a receipt number has only digits and capital letters; check what you typed": "回执编号只含数字和大写字母，请核对。",
	"a receipt number has 10 to 16 characters":                                   "回执编号应为10至16位。",
	"this receipt number is not valid: a character is wrong or two are swapped":  "回执编号有误：可能有字符输错或相邻两位颠倒，请对照回执核对。",
	"the verification code has 6 digits":                                         "查询码为6位数字。",
	"must not be after to":                                                       "开始日期不能晚于结束日期。",
	"a period covers at most five years":                                         "统计期间最长为五年。",
	"a date from 2000 to 2100":                                                   "日期须在2000年至2100年之间。",
	"a month of the form YYYY-MM":                                                "请选择月份。",
	"no such organisation in your scope":                                         "不在您的管辖范围内。",
	"one of township, village, category, item, agent, month":                     "请选择分组方式。",
	"csv or xlsx": "请选择 CSV 或 Excel 格式。",
	"must not contain invisible or direction-changing characters (such as U+200B, U+202E or U+FEFF)": "含有不可见或改变文字方向的字符，请重新输入。",
	"not a date of the form YYYY-MM-DD":                               "请按“年-月-日”填写日期，如 2026-03-02。",
	"not a status of this list":                                       "本列表中没有这种状态的办件，请选择其他状态，或到“全部”中查找。",
	"not a cursor from a previous page":                               "翻页信息已失效，请从第一页重新查找。",
	"8 to 72 bytes":                                                   "密码须为 8 至 72 个字节：字母、数字、符号各占 1 个字节，一个汉字占 3 个字节。",
	"does not match your current password":                            "当前密码不正确。",
	"must differ from the current password":                           "新密码不能与当前密码相同。",
	"3 to 32 lower-case letters, digits, '.', '_' or '-'":             "用户名须为 3 至 32 位小写字母、数字或 . _ -，以字母或数字开头。",
	"this username is taken":                                          "此用户名已被使用。",
	"no such organisation":                                            "没有这个单位代码，请从列表中选择。",
	"one of agent, township_officer, city_officer, supervisor, admin": "请选择岗位。",
}

// ZhFieldLabels name the fields in Chinese, by the last part of their path.
var ZhFieldLabels = map[string]string{
	"name": "申请人姓名", "id_number": "身份证号码", "phone": "联系电话", "address": "住址", "note": "备注",
	"channel": "受理渠道", "item_code": "代办事项", "materials": "收取材料", "missing_materials": "需补正材料",
	"reason": "理由", "outcome": "办理结果", "due_date": "延期至", "receipt_recovered": "回执", "satisfaction": "评价",
	"receipt_no": "回执编号", "code": "查询码", "username": "用户名", "password": "密码",
	"item": "代办事项", "status": "办理状态", "cursor": "翻页",
	"from": "开始日期", "to": "结束日期", "month": "月份", "org_id": "统计范围", "version": "版本",
	"current_password": "当前密码", "new_password": "新密码", "confirm_password": "确认新密码",
	"display_name": "姓名", "role": "岗位", "org": "所属单位", "applicant": "申请人信息",
}

// ZhFieldName is the last part of a field's path, without an index:
// applicant.phone → phone, materials[2] → materials.
func ZhFieldName(f string) string {
	if i := strings.IndexByte(f, '['); i >= 0 {
		f = f[:i]
	}
	if i := strings.LastIndexByte(f, '.'); i >= 0 {
		f = f[i+1:]
	}
	return f
}

// ZhField translates one field message; field is ZhFieldName's.
func ZhField(field, msg string) string {
	if m, ok := zhFieldMessages[msg]; ok {
		return m
	}
	switch {
	case strings.HasPrefix(msg, "missing: "):
		return "缺少材料：" + strings.TrimPrefix(msg, "missing: ") + "。材料不齐全的，请一次性告知申请人补齐后再登记。"
	case strings.HasPrefix(msg, "must be later than the current due date "):
		return "须晚于当前承诺办结日期 " + strings.TrimPrefix(msg, "must be later than the current due date ") + "。"
	case strings.HasPrefix(msg, "at most ") && strings.HasSuffix(msg, " characters"):
		return "最多 " + strings.TrimSuffix(strings.TrimPrefix(msg, "at most "), " characters") + " 个字。"
	case strings.HasPrefix(msg, "at least ") && strings.HasSuffix(msg, " characters"):
		return "至少 " + strings.TrimSuffix(strings.TrimPrefix(msg, "at least "), " characters") + " 个字。"
	case strings.HasPrefix(msg, "more than ") && strings.HasSuffix(msg, " registrations in this range; choose a shorter one"):
		return "这段时间登记超过 " + strings.TrimSuffix(strings.TrimPrefix(msg, "more than "), " registrations in this range; choose a shorter one") + " 件，请缩短起止日期。"
	case strings.Contains(msg, " belongs to a "):
		return "岗位与单位的层级不符：代办员属村（社区），乡镇办事员属乡镇（街道），其他岗位属市级单位。"
	}
	if l, ok := ZhFieldLabels[field]; ok {
		return l + "填写有误，请核对。"
	}
	return "填写有误，请核对。"
}

// Zh is an error as one Chinese sentence: each field's message after its
// name, or the code's message, or the kind's.
func Zh(se *Error) string {
	if len(se.Fields) > 0 {
		var parts []string
		for _, f := range se.Fields {
			name := ZhFieldName(f.Field)
			parts = append(parts, ZhFieldLabels[name]+"："+ZhField(name, f.Message))
		}
		return strings.Join(parts, " ")
	}
	if se.Code == "too_many_attempts" && se.RetryAfter > 0 {
		// The minutes left of the real window, as the service counts it.
		n := int((se.RetryAfter + time.Minute - 1) / time.Minute)
		return "密码输错次数过多，请 " + strconv.Itoa(n) + " 分钟后再试。"
	}
	if m, ok := zhCodes[se.Code]; ok {
		return m
	}
	switch se.Kind {
	case KindNotFound:
		return zhCodes["not_found"]
	case KindForbidden:
		return zhCodes["forbidden"]
	case KindConflict:
		return "当前状态不能进行此操作。"
	}
	return "请求有误，请检查后重试。"
}

// ZhCode is the catalogue's sentence for a code ("" if it has none).
func ZhCode(code string) string { return zhCodes[code] }
