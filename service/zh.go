package service

import (
	"strconv"
	"strings"
	"time"
)

// The service speaks English to API clients by default; people at a village
// service point read Chinese. This file and messages.go are the one
// catalogue of what the service can say, keyed by stable codes: here its
// errors as a whole, there its field errors in both languages. The console
// reads it, and so does the API for a client that prefers Chinese
// (Accept-Language: zh). TestZhCatalogueIsComplete fails when a source file
// uses a code this catalogue lacks.

// zhCodes translate errors that are about the request as a whole.
var zhCodes = map[string]string{
	"too_many_reports":         "本网络提交的民情过多，请稍后再试，或拨打12319热线。",
	"extension_pending":        "已有延期申请在等待审批。",
	"no_extension_requested":   "没有待审批的延期申请。",
	"not_dispatcher":           "只有分派此件的单位才能审核、回访或合并。",
	"report_not_found":         "未找到：请核对编号和查询码。",
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
	"already_sent":             "这条消息已被接收方收下，无需重发。",
	"cannot_disable_self":      "不能停用自己的账号。",

	// The HTTP layer's own: a request it cannot read, a route it lacks.
	"bad_request":            "请求有误，请检查后重试。",
	"unreadable_body":        "请求内容无法读取，请重试。",
	"invalid_utf8":           "请求内容不是有效的 UTF-8 文本。",
	"malformed_json":         "请求内容不是有效的 JSON 对象。",
	"duplicate_field":        "请求中有字段重复出现。",
	"unknown_field":          "请求中有本操作不接受的字段。",
	"invalid_type":           "请求中有字段的类型不对。",
	"unsupported_media_type": "请以 application/json 格式发送请求内容。",
	"body_too_large":         "请求内容过大。",
	"route_not_found":        "没有这个地址。",
	"method_not_allowed":     "此地址不接受这种请求方法。",
	"unavailable":            "服务暂时不可用，请稍后再试。",
	"database_unreachable":   "数据库暂时无法连接，请稍后再试，并告知系统管理员。",
	"database_unwritable":    "数据库暂时不能写入，请稍后再试，并告知系统管理员。",
	"shutting_down":          "本服务实例正在停止，请稍后再试。",
	"internal":               "服务器出错了。请稍后再试；如仍有问题，请把请求编号告知系统管理员。",
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

// Zh is an error as one Chinese sentence: each field's message after its
// name, or the code's message, or the kind's.
func Zh(se *Error) string {
	if len(se.Fields) > 0 {
		var parts []string
		for _, f := range se.Fields {
			name := ZhFieldName(f.Field)
			parts = append(parts, ZhFieldLabels[name]+"："+ZhField(f))
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
