package web

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

// The administration pages: the organisation tree, the catalogue and the
// working-day calendar, for the admin only. They read and write through the
// same service methods as the API; what is here is only the forms.

// mountAdmin adds the administration pages.
func (w *console) mountAdmin(e *echo.Echo, page []echo.MiddlewareFunc) {
	admin := append(append([]echo.MiddlewareFunc{}, page...), adminOnly)
	e.GET("/admin/orgs", w.adminOrgs, admin...)
	e.POST("/admin/orgs", w.adminCreateOrg, admin...)
	e.GET("/admin/catalogue", w.adminCatalogue, admin...)
	e.GET("/admin/catalogue/new", w.adminNewItem, admin...)
	e.POST("/admin/catalogue/new", w.adminCreateItem, admin...)
	e.GET("/admin/catalogue/:code", w.adminItem, admin...)
	e.POST("/admin/catalogue/:code", w.adminUpdateItem, admin...)
	e.GET("/admin/calendar", w.adminCalendar, admin...)
	e.POST("/admin/calendar/:year", w.adminPutCalendar, admin...)
	w.mountNotify(e, admin)
}

// adminNav is the admin's 管理 menu, shown apart from the role's menu.
func adminNav(a service.Actor, u *url.URL) []navLink {
	if a.Role != service.RoleAdmin {
		return nil
	}
	links := []navLink{{"/users", "用户管理", false}, {"/admin/orgs", "组织机构", false}, {"/admin/catalogue", "事项目录", false}, {"/admin/calendar", "工作日历", false}, {"/admin/notify", "通知", false}}
	for i := range links {
		links[i].Active = u.Path == links[i].Href || strings.HasPrefix(u.Path, links[i].Href+"/")
	}
	return links
}

// adminOnly refuses every other role before the page is built; the service
// refuses their writes too.
func adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if actor(c).Role != service.RoleAdmin {
			return service.ErrForbidden
		}
		return next(c)
	}
}

// walk reads every page of a keyset-paged listing.
func walk[T any](list func(after string) ([]T, error), key func(T) string) ([]T, error) {
	var out []T
	after := ""
	for {
		got, err := list(after)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		if len(got) < walkPage {
			return out, nil
		}
		after = key(got[len(got)-1])
	}
}

const walkPage = 500

// ---- organisations

type orgNode struct {
	service.Org
	Children []orgNode
	Open     bool
}

type orgsData struct {
	Root    *orgNode
	Parents []service.Org // where an organisation may be added: the city and the townships
	Parent  string        // the parent chosen
	Total   int
}

func (w *console) adminOrgs(c echo.Context) error {
	p := w.newPage(c, "组织机构")
	return w.renderOrgs(c, p, http.StatusOK, c.QueryParam("parent"), c.QueryParam("added"))
}

// renderOrgs shows the tree with the township parent open and, after an
// addition, names the organisation added.
func (w *console) renderOrgs(c echo.Context, p *page, status int, parent, added string) error {
	a := actor(c)
	orgs, err := walk(func(after string) ([]service.Org, error) {
		return w.svc.Orgs(ctx(c), a, service.OrgFilter{After: after, Limit: walkPage})
	}, func(o service.Org) string { return o.Path })
	if err != nil {
		return err
	}
	d := orgsData{Parent: parent, Total: len(orgs)}
	// Paths sort parents before their children, so one pass builds the tree.
	byID := map[string]*orgNode{}
	var townships []*orgNode
	for _, o := range orgs {
		switch o.Level {
		case service.LevelCity:
			if d.Root == nil {
				d.Root = &orgNode{Org: o}
				byID[o.ID] = d.Root
			}
			d.Parents = append(d.Parents, o)
		case service.LevelTownship:
			d.Parents = append(d.Parents, o)
			if o.ID == parent && p.Form == "" {
				p.Form, p.Values = "org", url.Values{"code": {o.Code}}
			}
			townships = append(townships, &orgNode{Org: o, Open: o.ID == parent})
			byID[o.ID] = townships[len(townships)-1]
		}
	}
	for _, o := range orgs {
		if added != "" && o.Code == added {
			p.Flash = "已添加：" + o.Name + "（" + o.Code + "）。"
		}
		if o.Level == service.LevelVillage {
			if t := byID[o.ParentID]; t != nil {
				t.Children = append(t.Children, orgNode{Org: o})
			}
		}
	}
	if d.Root != nil {
		for _, t := range townships {
			d.Root.Children = append(d.Root.Children, *t)
		}
	}
	p.Data = d
	return w.render(c, status, "admin_orgs", p)
}

func (w *console) adminCreateOrg(c echo.Context) error {
	a := actor(c)
	in := service.OrgInput{Code: strings.TrimSpace(c.FormValue("code")), Name: c.FormValue("name"), ParentID: c.FormValue("parent_id")}
	p := w.newPage(c, "组织机构")
	p.Form = "org"
	p.Values = url.Values{"code": {in.Code}, "name": {in.Name}}
	parent, err := w.svc.Org(ctx(c), a, in.ParentID)
	switch {
	case in.ParentID == "" || errors.Is(err, service.ErrNotFound):
		p.Errors = map[string]string{"parent_id": "请选择上级单位。"}
		p.Alert = "有 1 处需要修改，请按红字提示改正后重新提交。"
		return w.renderOrgs(c, p, http.StatusUnprocessableEntity, "", "")
	case err != nil:
		return err
	}
	switch parent.Level {
	case service.LevelCity:
		in.Level = service.LevelTownship
	case service.LevelTownship:
		in.Level = service.LevelVillage
	default:
		p.Errors = map[string]string{"parent_id": "村(社区)之下不能再设组织机构，请选择市或乡镇(街道)。"}
		p.Alert = "有 1 处需要修改，请按红字提示改正后重新提交。"
		return w.renderOrgs(c, p, http.StatusUnprocessableEntity, in.ParentID, "")
	}
	o, err := w.svc.CreateOrg(ctx(c), a, in)
	if err != nil {
		status, ok := adminFormError(err, p, "已有编码相同的组织机构，编码不能重复。请核对统计用区划代码。")
		if !ok {
			return err
		}
		return w.renderOrgs(c, p, status, in.ParentID, "")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/orgs?"+url.Values{"parent": {o.ParentID}, "added": {o.Code}}.Encode()+"#org-"+o.ParentID)
}

// adminFormError is formError for the admin's forms: a duplicate code is
// said next to the code field, and a material by its line.
func adminFormError(err error, p *page, duplicate string) (int, bool) {
	var se *service.Error
	if !errors.As(err, &se) {
		return 0, false
	}
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	switch {
	case se.Code == "duplicate":
		p.Errors["code"] = duplicate
		p.Alert = duplicate
		return http.StatusConflict, true
	case se.Kind == service.KindInvalid && len(se.Fields) > 0:
		var lines []string
		for _, f := range se.Fields {
			if i, ok := listIndex(f.Field, "materials["); ok {
				lines = append(lines, "第 "+itoa(i+1)+" 项“"+lineAt(p.Values.Get("materials"), i)+"”："+adminMessage(f))
				continue
			}
			if name := formField(f.Field); p.Errors[name] == "" {
				p.Errors[name] = adminMessage(f)
			}
		}
		if len(lines) > 0 {
			p.Errors["materials"] = strings.Join(lines, " ")
		}
		p.Alert = "有 " + itoa(len(p.Errors)) + " 处需要修改，请按红字提示改正后重新提交。"
		return http.StatusUnprocessableEntity, true
	}
	return formError(err, p)
}

// lineAt is the i-th non-blank line of text, as the materials were read.
func lineAt(text string, i int) string {
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if i == 0 {
				return l
			}
			i--
		}
	}
	return ""
}

// adminMessages say some field error codes the way the admin's forms ask
// for them (a choice from a list, a line of a text box); every other code
// reads as the service's catalogue says it.
var adminMessages = map[string]string{
	"invalid_item_code":      "编码为2至20位大写字母、数字或“-”。",
	"unknown_decision_level": "请选择办结层级：乡镇(街道)或市。",
	"too_many_materials":     "材料最多 30 项。",
	"fee_out_of_range":       "收费须在 0 至 1,000,000 元之间。",
	"no_such_category":       "请选择类别。",
	"no_such_org":            "请选择上级单位。",
	"listed_twice":           "重复了，每项只写一次。",
	"invisible_characters":   "含有看不见或改变文字方向的字符，请删除后重新输入。",
}

// adminMessage translates one field error of the admin's forms.
func adminMessage(fe service.FieldError) string {
	if m, ok := adminMessages[fe.Code]; ok {
		return m
	}
	switch {
	case fe.Code == "division_code_digits" && len(fe.Args) == 2:
		return levelName(fe.Args[0]) + "的区划代码为 " + fe.Args[1] + " 位数字。"
	case fe.Code == "wrong_parent_level" && len(fe.Args) == 2:
		return levelName(fe.Args[0]) + "的上级须为" + levelName(fe.Args[1]) + "。"
	}
	return zhField(fe)
}

// levelName is a level as the admin's forms write it.
func levelName(l string) string {
	switch service.Level(l) {
	case service.LevelCity:
		return "市"
	case service.LevelTownship:
		return "乡镇(街道)"
	case service.LevelVillage:
		return "村(社区)"
	}
	return l
}

// listIndex reads i from a field such as "materials[i]" or "days[i].date".
func listIndex(field, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(field, prefix)
	if !ok {
		return 0, false
	}
	n, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil
}

// ---- catalogue

func (w *console) adminCatalogue(c echo.Context) error {
	p := w.newPage(c, "事项目录")
	if code := c.QueryParam("saved"); code != "" {
		if it, err := w.svc.Item(ctx(c), code); err == nil {
			p.Flash = "已保存：" + it.Name + "（" + it.Code + "）。已登记的办件仍按登记时的承诺时限办理。"
		}
	}
	cats, err := w.svc.Categories(ctx(c))
	if err != nil {
		return err
	}
	items, err := walk(func(after string) ([]service.Item, error) {
		return w.svc.Items(ctx(c), service.ItemFilter{After: after, Limit: walkPage})
	}, func(it service.Item) string { return it.Code })
	if err != nil {
		return err
	}
	d := groupCatalogue(cats, items, strings.TrimSpace(c.QueryParam("q")))
	d.Admin = true
	p.Data = d
	return w.render(c, http.StatusOK, "catalogue", p)
}

type itemForm struct {
	New        bool
	Item       service.Item // what is edited; the code, category and level shown
	Categories []service.Category
	Levels     []service.Level
}

func (w *console) adminNewItem(c echo.Context) error {
	p := w.newPage(c, "新增代办事项")
	p.Form = "item"
	p.Values = url.Values{"time_limit_days": {"5"}, "fee": {"0"}, "level": {string(service.LevelTownship)}}
	return w.renderItemForm(c, p, http.StatusOK, service.Item{}, true)
}

func (w *console) renderItemForm(c echo.Context, p *page, status int, it service.Item, isNew bool) error {
	cats, err := w.svc.Categories(ctx(c))
	if err != nil {
		return err
	}
	p.Data = itemForm{New: isNew, Item: it, Categories: cats, Levels: []service.Level{service.LevelTownship, service.LevelCity}}
	return w.render(c, status, "admin_item", p)
}

// itemTerms reads the terms shared by the new and the edit form; bad
// numbers are put on p.
func itemTerms(c echo.Context, p *page) (name string, materials []string, fee int64, days int) {
	name = c.FormValue("name")
	for _, line := range strings.Split(strings.ReplaceAll(c.FormValue("materials"), "\r\n", "\n"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			materials = append(materials, line)
		}
	}
	if materials == nil {
		materials = []string{}
	}
	p.Values = url.Values{"name": {name}, "materials": {c.FormValue("materials")}, "fee": {c.FormValue("fee")},
		"time_limit_days": {c.FormValue("time_limit_days")}, "code": {c.FormValue("code")}, "category": {c.FormValue("category")},
		"level": {c.FormValue("level")}, "active": {c.FormValue("active")}}
	p.Errors = map[string]string{}
	var ok bool
	if fee, ok = parseYuan(c.FormValue("fee")); !ok {
		p.Errors["fee_cents"] = "请填写金额（元），如 0 或 12.50，最多两位小数。"
	}
	d, err := strconv.Atoi(strings.TrimSpace(c.FormValue("time_limit_days")))
	if err != nil {
		p.Errors["time_limit_days"] = "请填写工作日数，1 至 " + itoa(service.MaxTimeLimitDays) + " 之间的整数。"
	}
	return name, materials, fee, d
}

// parseYuan reads an amount in yuan with at most two decimals as cents.
func parseYuan(s string) (int64, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "元"))
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 9 || len(frac) > 2 || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	return n, err == nil
}

func (w *console) adminCreateItem(c echo.Context) error {
	p := w.newPage(c, "新增代办事项")
	p.Form = "item"
	name, materials, fee, days := itemTerms(c, p)
	if len(p.Errors) > 0 {
		p.Alert = "有 " + itoa(len(p.Errors)) + " 处需要修改，请按红字提示改正后重新提交。"
		return w.renderItemForm(c, p, http.StatusUnprocessableEntity, service.Item{}, true)
	}
	it, err := w.svc.CreateItem(ctx(c), actor(c), service.ItemInput{
		Code: c.FormValue("code"), Name: name, Category: c.FormValue("category"), Level: service.Level(c.FormValue("level")),
		Materials: materials, FeeCents: fee, TimeLimitDays: days,
	})
	if err != nil {
		status, ok := adminFormError(err, p, "目录中已有编码相同的事项，编码不能重复。")
		if !ok {
			return err
		}
		return w.renderItemForm(c, p, status, service.Item{}, true)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/catalogue?saved="+url.QueryEscape(it.Code)+"#item-"+url.QueryEscape(it.Code))
}

func (w *console) adminItem(c echo.Context) error {
	it, err := w.svc.Item(ctx(c), c.Param("code"))
	if err != nil {
		return err
	}
	p := w.newPage(c, "修改事项："+it.Name)
	p.Form = "item"
	p.Values = url.Values{"name": {it.Name}, "materials": {strings.Join(it.Materials, "\n")}, "fee": {yuan(it.FeeCents)},
		"time_limit_days": {itoa(it.TimeLimitDays)}}
	if it.Active {
		p.Values.Set("active", "1")
	}
	return w.renderItemForm(c, p, http.StatusOK, it, false)
}

// yuan writes cents as the fee field shows them: "0", "12.50".
func yuan(cents int64) string {
	if cents%100 == 0 {
		return strconv.FormatInt(cents/100, 10)
	}
	return strconv.FormatInt(cents/100, 10) + "." + strconv.FormatInt(100+cents%100, 10)[1:]
}

func (w *console) adminUpdateItem(c echo.Context) error {
	it, err := w.svc.Item(ctx(c), c.Param("code"))
	if err != nil {
		return err
	}
	p := w.newPage(c, "修改事项："+it.Name)
	p.Form = "item"
	name, materials, fee, days := itemTerms(c, p)
	if len(p.Errors) > 0 {
		p.Alert = "有 " + itoa(len(p.Errors)) + " 处需要修改，请按红字提示改正后重新提交。"
		return w.renderItemForm(c, p, http.StatusUnprocessableEntity, it, false)
	}
	active := c.FormValue("active") == "1"
	if _, err := w.svc.UpdateItem(ctx(c), actor(c), it.Code, service.ItemChange{
		Name: &name, Materials: materials, FeeCents: &fee, TimeLimitDays: &days, Active: &active,
	}); err != nil {
		status, ok := adminFormError(err, p, "")
		if !ok {
			return err
		}
		return w.renderItemForm(c, p, status, it, false)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/catalogue?saved="+url.QueryEscape(it.Code)+"#item-"+url.QueryEscape(it.Code))
}

// ---- working-day calendar

type calendarData struct {
	Year       int
	Prev, Next int
	Known      bool // the year has been entered
	Days       []calendarRow
	Note       string
	UpdatedAt  time.Time
	LineErrors []string
}

type calendarRow struct {
	Date    string
	Weekday string
	Holiday bool
	Name    string
}

var weekdays = [...]string{"日", "一", "二", "三", "四", "五", "六"}

const (
	lineHoliday = "休"
	lineWorkday = "班"
)

// calendarLines writes a year's days one a line, as the textarea edits them.
func calendarLines(days []service.CalendarDay) string {
	var b strings.Builder
	for _, d := range days {
		kind := lineHoliday
		if d.Kind == service.DayWorkday {
			kind = lineWorkday
		}
		b.WriteString(d.Date.String() + " " + kind)
		if d.Name != "" {
			b.WriteString(" " + d.Name)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// lineError is what is wrong with one line of the calendar text.
type lineError struct {
	Line int
	Text string
}

// parseCalendarLines reads "2027-01-01 休 元旦" lines; blank lines are
// skipped. lineOf maps each day to its line number for later messages.
func parseCalendarLines(year int, text string) (days []service.CalendarDay, lineOf []int, errs []lineError) {
	for n, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		bad := func(msg string) { errs = append(errs, lineError{n + 1, msg}) }
		if len(f) < 2 {
			bad("缺少“休”或“班”，应写作 " + itoa(year) + "-01-01 休 元旦。")
			continue
		}
		date, err := service.ParseDate(f[0])
		if err != nil {
			bad("“" + f[0] + "”不是日期，日期应写作 " + itoa(year) + "-01-01。")
			continue
		}
		var kind service.DayKind
		switch f[1] {
		case lineHoliday, "假", "休息", "放假":
			kind = service.DayHoliday
		case lineWorkday, "上班", "调休上班":
			kind = service.DayWorkday
		default:
			bad("第二项应为“休”（放假）或“班”（调休上班），不是“" + f[1] + "”。")
			continue
		}
		days = append(days, service.CalendarDay{Date: date, Kind: kind, Name: strings.Join(f[2:], " ")})
		lineOf = append(lineOf, n+1)
	}
	return days, lineOf, errs
}

func (w *console) adminCalendar(c echo.Context) error {
	year := service.DateOf(w.svc.Now()).Year()
	if s := c.QueryParam("year"); s != "" {
		y, err := strconv.Atoi(s)
		if err != nil || y < 2000 || y > 2100 {
			return service.BadParam("year", "date_out_of_range")
		}
		year = y
	}
	p := w.newPage(c, itoa(year)+" 年工作日历")
	if c.QueryParam("saved") == "1" {
		p.Flash = "已保存。新登记的办件按新的日历计算承诺办结日期；已登记的办件不变。"
	}
	return w.renderCalendar(c, p, http.StatusOK, year, true)
}

// renderCalendar shows the stored year; fill puts it in the form too
// (false keeps what was typed).
func (w *console) renderCalendar(c echo.Context, p *page, status, year int, fill bool) error {
	d := calendarData{Year: year, Prev: year - 1, Next: year + 1}
	y, err := w.svc.CalendarYear(ctx(c), year)
	switch {
	case err == nil:
		d.Known, d.Note, d.UpdatedAt = true, y.Note, y.UpdatedAt
		for _, day := range y.Days {
			d.Days = append(d.Days, calendarRow{Date: day.Date.String(), Weekday: "星期" + weekdays[day.Date.Weekday()],
				Holiday: day.Kind == service.DayHoliday, Name: day.Name})
		}
	case !errors.Is(err, service.ErrNotFound):
		return err
	}
	if year <= 2000 {
		d.Prev = 0
	}
	if year >= 2100 {
		d.Next = 0
	}
	p.Form = "calendar"
	if fill {
		p.Values = url.Values{"days": {calendarLines(y.Days)}, "note": {y.Note}}
	}
	if lines, ok := p.Data.([]string); ok {
		d.LineErrors = lines
	}
	p.Data = d
	return w.render(c, status, "admin_calendar", p)
}

func (w *console) adminPutCalendar(c echo.Context) error {
	year, err := strconv.Atoi(c.Param("year"))
	if err != nil || year < 2000 || year > 2100 {
		return errNotFound
	}
	p := w.newPage(c, itoa(year)+" 年工作日历")
	text, note := c.FormValue("days"), c.FormValue("note")
	p.Form = "calendar"
	p.Values = url.Values{"days": {text}, "note": {note}}
	p.Errors = map[string]string{}
	days, lineOf, errs := parseCalendarLines(year, text)
	y := service.CalendarYear{Year: year, Note: note, Days: days}
	// The lines that read as days are checked even when others did not, so
	// every bad line is named at once; nothing is saved while any is bad.
	err = service.CheckCalendarYear(y)
	if err == nil && len(errs) == 0 {
		_, err = w.svc.PutCalendarYear(ctx(c), actor(c), y)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/admin/calendar?year="+itoa(year)+"&saved=1")
		}
	}
	if err != nil {
		var se *service.Error
		if !errors.As(err, &se) || se.Kind != service.KindInvalid {
			return err
		}
		for _, f := range se.Fields {
			if i, ok := listIndex(f.Field, "days["); ok && i < len(lineOf) {
				errs = append(errs, lineError{lineOf[i], calendarMessage(f)})
				continue
			}
			p.Errors[formField(f.Field)] = adminMessage(f)
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	var lines []string
	for _, e := range errs {
		lines = append(lines, "第 "+itoa(e.Line)+" 行："+e.Text)
	}
	n := len(errs) + len(p.Errors)
	if len(errs) > 0 {
		p.Errors["days"] = "有 " + itoa(len(errs)) + " 处需要修改，见下方逐行说明。"
	}
	p.Alert = "日历未保存，原有日历没有改动：有 " + itoa(n) + " 处需要修改，请按红字提示改正后重新提交。"
	p.Data = lines
	return w.renderCalendar(c, p, http.StatusUnprocessableEntity, year, false)
}

// calendarMessage says what is wrong with one day.
func calendarMessage(fe service.FieldError) string {
	switch fe.Code {
	case "listed_twice":
		return "这一天已在前面写过，每天只写一行。"
	case "makeup_day_not_weekend":
		return "调休上班日（班）只能是星期六或星期日。"
	}
	return adminMessage(fe)
}
