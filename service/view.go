package service

import "strconv"

// What each reader sees of an errand is decided here once, for the API's
// JSON, the console's pages and the printed two-part form alike.

// ErrandView is an errand as one reader may see it.
type ErrandView struct {
	Errand            // Applicant's ID number and phone masked unless the reader may see them
	VerifyCode string // the 6-digit code: only the intake village's agent, who prints and hands it over
	Channel    string // 来访, 上门代办, …
	Level      string // who decides the item: 乡镇(街道)便民服务中心 or 市行政服务中心
}

// View is e as a reads it. detail is a page or document about this one
// errand; lists (detail false) mask the ID number and phone for everybody.
func (a Actor) View(e Errand, detail bool) ErrandView {
	v := ErrandView{Errand: e, Channel: ChannelLabel(e.Channel), Level: LevelLabel(e.ItemLevel)}
	v.Errand.VerifyCode = ""
	if !detail || !a.FullApplicant() {
		v.Applicant.IDNumber = MaskIDNumber(e.Applicant.IDNumber)
		v.Applicant.Phone = MaskPhone(e.Applicant.Phone)
	}
	if a.Role == RoleAgent && a.OrgID == e.IntakeOrgID {
		v.VerifyCode = e.VerifyCode
	}
	return v
}

var channelLabels = map[Channel]string{
	ChannelWalkIn: "来访", ChannelHomeVisit: "上门代办", ChannelPhone: "电话",
	ChannelApp: "手机应用", ChannelWeb: "网站",
}

// ChannelLabel names how an errand came in.
func ChannelLabel(c Channel) string {
	if l, ok := channelLabels[c]; ok {
		return l
	}
	return string(c)
}

// LevelLabel names the service centre of a level.
func LevelLabel(l Level) string {
	switch l {
	case LevelTownship:
		return "乡镇(街道)便民服务中心"
	case LevelCity:
		return "市行政服务中心"
	case LevelVillage:
		return "村(社区)代办点"
	}
	return string(l)
}

// FeeLabel writes a fee as a form does: 免费, or 12.50 元.
func FeeLabel(cents int64) string {
	if cents == 0 {
		return "免费"
	}
	return strconv.FormatInt(cents/100, 10) + "." + strconv.FormatInt(100+cents%100, 10)[1:] + " 元"
}
