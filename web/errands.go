package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"daiban/report"
	"daiban/service"
)

// tab is one listing of errands a role works from.
type tab struct {
	Key, Label, Hint string
	Statuses         []service.Status
	Holder           bool // only errands held by the actor's organisation
	Urgent           bool // a work queue: the soonest deadline first unless asked otherwise
}

func tabsFor(r service.Role) []tab {
	switch r {
	case service.RoleAgent:
		return []tab{
			{Key: "todo", Label: "待我处理", Hint: "已登记待转报、退回待补正、已办结待送达的办件。",
				Statuses: []service.Status{service.StatusRegistered, service.StatusCorrection, service.StatusCompleted}, Urgent: true},
			{Key: "progress", Label: "上级办理中", Hint: "已转报乡镇或市里、正在办理的办件。",
				Statuses: []service.Status{service.StatusForwarded, service.StatusProcessing}, Urgent: true},
			{Key: "done", Label: "已送达", Statuses: []service.Status{service.StatusDelivered}},
			{Key: "all", Label: "本村办件", Hint: "本代办点登记的全部办件。"},
		}
	case service.RoleTownshipOfficer, service.RoleCityOfficer:
		return []tab{
			{Key: "incoming", Label: "待接收", Hint: "下级转报到本中心、尚未接收的办件。", Statuses: []service.Status{service.StatusForwarded}, Holder: true, Urgent: true},
			{Key: "processing", Label: "办理中", Hint: "本中心已接收、正在办理的办件。", Statuses: []service.Status{service.StatusProcessing}, Holder: true, Urgent: true},
			{Key: "all", Label: "辖区办件", Hint: "辖区内登记的全部办件。"},
		}
	}
	return []tab{{Key: "all", Label: "全部办件", Hint: "管辖范围内登记的全部办件。"}}
}

type errandRow struct {
	E    service.Errand
	Warn string // "red", "yellow" or ""
}

type listData struct {
	Tabs     []tab
	Tab      tab
	Rows     []errandRow
	Next     template.URL // the next page, path and query
	Search   search
	More     string // what the second row of the form is set to, said in its summary
	MoreOpen bool   // a filter of the second row is wrong: show it open
	Items    []service.Item
	Statuses []service.Status // the statuses this tab may be narrowed to
	Clear    template.URL     // the tab without any filter
	CanAdd   bool
	ByDue    bool       // the soonest deadline first
	Sorts    []sortLink // the other orders this tab offers
}

// search is what the search form on a list of errands asks for, as typed;
// the service checks every value, in the same place as for the API.
type search struct {
	ReceiptNo, Name, IDNumber, Phone string
	Item, Status, From, To           string
	Overdue                          bool
}

func readSearch(c echo.Context) search {
	v := func(name string) string { return strings.TrimSpace(c.QueryParam(name)) }
	return search{ReceiptNo: v("receipt_no"), Name: v("name"), IDNumber: v("id_number"), Phone: v("phone"),
		Item: v("item"), Status: v("status"), From: v("from"), To: v("to"), Overdue: c.QueryParam("overdue") == "1"}
}

// values are the search's non-empty fields as a query, for the links that
// keep it: the next page and the other order.
func (s search) values() url.Values {
	v := url.Values{}
	for _, f := range []struct{ name, value string }{
		{"receipt_no", s.ReceiptNo}, {"name", s.Name}, {"id_number", s.IDNumber}, {"phone", s.Phone},
		{"item", s.Item}, {"status", s.Status}, {"from", s.From}, {"to", s.To},
	} {
		if f.value != "" {
			v.Set(f.name, f.value)
		}
	}
	if s.Overdue {
		v.Set("overdue", "1")
	}
	return v
}

// moreSummary says what the form's second row is set to, so it can stay
// folded (a phone has no room for it) and still show what narrows the list.
func moreSummary(s search, items []service.Item) string {
	var parts []string
	if s.Item != "" {
		name := s.Item
		for _, it := range items {
			if it.Code == s.Item {
				name = it.Name
			}
		}
		parts = append(parts, name)
	}
	if s.Status != "" {
		parts = append(parts, service.Status(s.Status).Label())
	}
	switch {
	case s.From != "" && s.To != "":
		parts = append(parts, s.From+" 至 "+s.To+" 登记")
	case s.From != "":
		parts = append(parts, s.From+" 起登记")
	case s.To != "":
		parts = append(parts, s.To+" 前登记")
	}
	if s.Overdue {
		parts = append(parts, "只看超期")
	}
	return strings.Join(parts, "，")
}

// sortLink switches a listing's order.
type sortLink struct {
	Label   string
	URL     template.URL
	Current bool
}

func (w *console) errandList(c echo.Context) error {
	a := actor(c)
	tabs := tabsFor(a.Role)
	cur := tabs[0]
	for _, t := range tabs {
		if t.Key == c.QueryParam("tab") {
			cur = t
		}
	}
	p := w.newPage(c, cur.Label)
	if c.Request().URL.Path == "/" {
		p.Nav[0].Active = true
	}
	d := listData{Tabs: tabs, Tab: cur, Search: readSearch(c), CanAdd: a.Role == service.RoleAgent, Statuses: cur.Statuses}
	if d.Statuses == nil {
		d.Statuses = service.Statuses
	}
	sr := d.Search
	// Work queues list the most urgent first: overdue, then due soon, by
	// deadline; every listing can be sorted either way.
	sortKey := c.QueryParam("sort")
	if sortKey != "due" && sortKey != "new" {
		sortKey = "new"
		if cur.Urgent {
			sortKey = "due"
		}
	}
	d.ByDue = sortKey == "due"
	link := func(extra url.Values) template.URL {
		v := sr.values()
		v.Set("tab", cur.Key)
		v.Set("sort", sortKey)
		for k, x := range extra {
			v[k] = x
		}
		return template.URL("/errands?" + v.Encode())
	}
	d.Clear = template.URL("/errands?" + url.Values{"tab": {cur.Key}, "sort": {sortKey}}.Encode())
	for _, s := range []struct{ key, label string }{{"due", "承诺办结最早在前"}, {"new", "最新登记在前"}} {
		d.Sorts = append(d.Sorts, sortLink{Label: s.label, URL: link(url.Values{"sort": {s.key}}), Current: s.key == sortKey})
	}
	items, err := w.svc.Items(ctx(c), service.ItemFilter{Limit: 500}) // retired items too: their errands remain
	if err != nil {
		return err
	}
	d.Items = items
	d.More = moreSummary(sr, items)
	q := service.ErrandQuery{Statuses: cur.Statuses, ReceiptNo: sr.ReceiptNo, Name: sr.Name, IDNumber: sr.IDNumber, Phone: sr.Phone,
		ItemCode: sr.Item, From: sr.From, To: sr.To, Overdue: sr.Overdue, Cursor: c.QueryParam("cursor"), Limit: 50}
	if d.ByDue {
		q.Order = service.ByDue
	}
	if cur.Holder {
		q.HolderOrgID = a.OrgID
	}
	var list []service.Errand
	var next string
	if st := service.Status(sr.Status); st != "" && cur.Statuses != nil && !slices.Contains(cur.Statuses, st) {
		// A queue narrowed to a status outside it would show nothing
		// without saying why.
		err = service.BadParam("status", "status_not_in_list")
	} else {
		if st != "" {
			q.Statuses = []service.Status{st}
		}
		list, next, err = w.svc.Errands(ctx(c), a, q)
	}
	if err != nil {
		p.Form = "search"
		p.Values = c.QueryParams()
		status, ok := formError(err, p)
		if !ok {
			return err
		}
		d.MoreOpen = p.Errors["item"] != "" || p.Errors["status"] != "" || p.Errors["from"] != "" || p.Errors["to"] != ""
		p.Data = d
		return w.render(c, status, "errands", p)
	}
	// The colours come from the warnings of the same search.
	wq := q
	wq.Cursor, wq.Overdue, wq.Order = "", false, service.ByNewest
	warn, err := w.warnLevels(c, a, wq)
	if err != nil {
		return err
	}
	for _, e := range list {
		d.Rows = append(d.Rows, errandRow{E: e, Warn: warn[e.ID]})
	}
	if next != "" {
		d.Next = link(url.Values{"cursor": {next}})
	}
	p.Data = d
	return w.render(c, http.StatusOK, "errands", p)
}

// warnLevels marks the errands of a listing that are overdue (red) or due
// within a working day (yellow), as the supervision warnings judge them.
func (w *console) warnLevels(c echo.Context, a service.Actor, q service.ErrandQuery) (map[string]string, error) {
	out := map[string]string{}
	q.Limit = 500
	for range 20 { // at most 10,000 warnings: far beyond one screen
		ws, next, err := w.svc.Warnings(ctx(c), a, q)
		if err != nil {
			return nil, err
		}
		for _, x := range ws {
			out[x.Errand.ID] = x.Level
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	return out, nil
}

// ---- the errand's page and its steps

type errandData struct {
	E            service.Errand
	Events       []service.Event
	Materials    []string // the item's list, for returns
	Warn         string
	Can          map[string]bool // steps the actor may take now, and "print"
	IDNumber     string
	Phone        string
	MinDue       string
	Grades       []int
	Code         string // the verification code, for the intake agent only
	RecoveredSet bool
}

// allowed asks the lifecycle table which steps the actor may take now: a
// dry run of service.Apply, where a missing input is fine and a refusal of
// the role, the organisation or the status is not.
func allowed(e service.Errand, a service.Actor, now time.Time) map[string]bool {
	out := map[string]bool{"print": a.Role.Staff()}
	sc := service.StepContext{Now: now, Calendar: service.NewCalendar(nil), Parent: &service.Org{}}
	for _, act := range service.Actions {
		_, _, err := service.Apply(e, a, act, service.StepInput{}, sc)
		var se *service.Error
		if err == nil || (errors.As(err, &se) && se.Kind == service.KindInvalid) {
			out[string(act)] = true
		}
	}
	return out
}

var doneLabels = map[service.Action]string{
	service.ActionForward:  "已转报上级。",
	service.ActionAccept:   "已接收，请在承诺期限内办结。",
	service.ActionReturn:   "已退回代办点补正，办理时限暂停计算。",
	service.ActionResubmit: "补正材料已重新报送。",
	service.ActionComplete: "已办结，结果已退回代办点送达。",
	service.ActionDeliver:  "已送达，本件办结归档。",
	service.ActionWithdraw: "已撤回。",
	service.ActionExtend:   "已延期。",
	service.ActionUrge:     "已催办，经办单位的待办列表中会标出。",
	service.ActionCorrect:  "登记信息已更正，回执编号不变；更正记入办件过程。",
}

func (w *console) errandPage(c echo.Context) error {
	p := w.newPage(c, "办件详情")
	if act := service.Action(c.QueryParam("done")); doneLabels[act] != "" {
		p.Flash = doneLabels[act]
	}
	return w.showErrand(c, p, http.StatusOK)
}

// showErrand renders the errand's page as it is now.
func (w *console) showErrand(c echo.Context, p *page, status int) error {
	a := actor(c)
	e, err := w.svc.Errand(ctx(c), a, c.Param("id"))
	if err != nil {
		return err
	}
	evs, err := w.svc.Events(ctx(c), a, e.ID)
	if err != nil {
		return err
	}
	now := w.svc.Now()
	v := a.View(e, true)
	d := errandData{E: e, Events: evs, Can: allowed(e, a, now), Grades: []int{5, 4, 3, 2, 1},
		IDNumber: v.Applicant.IDNumber, Phone: v.Applicant.Phone, Code: v.VerifyCode,
		MinDue: service.DateOf(e.DueAt).String()}
	if d.Can[string(service.ActionReturn)] {
		if it, err := w.svc.Item(ctx(c), e.ItemCode); err == nil {
			d.Materials = it.Materials
		} else {
			d.Materials = e.Materials
		}
	}
	if e.Overdue(now) {
		d.Warn = "red"
	} else if e.Status.Open() {
		warn, err := w.warnLevels(c, a, service.ErrandQuery{ReceiptNo: e.ReceiptNo})
		if err != nil {
			return err
		}
		d.Warn = warn[e.ID]
	}
	p.Title = "办件 " + e.ReceiptNo
	p.Data = d
	return w.render(c, status, "errand", p)
}

// transition takes one lifecycle step from a plain form post. The version
// travels in a hidden field: a stale page gets the fresh state and a
// message, never a lost update.
func (w *console) transition(c echo.Context) error {
	act := service.Action(c.Param("action"))
	if !slices.Contains(service.Actions, act) {
		return errNotFound
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	version, _ := strconv.Atoi(form.Get("version"))
	in := service.StepInput{
		Note: form.Get("note"), MissingMaterials: form["missing_materials"], Outcome: service.Outcome(form.Get("outcome")),
		Reason: form.Get("reason"), IDNumber: form.Get("id_number"),
	}
	var fieldErrs []service.FieldError
	if v := form.Get("due_date"); v != "" {
		d, err := service.ParseDate(v)
		if err != nil {
			fieldErrs = append(fieldErrs, service.NewFieldError("due_date", "not_working_day"))
		}
		in.DueDate = d
	} else if act == service.ActionExtend {
		fieldErrs = append(fieldErrs, service.NewFieldError("due_date", "required"))
	}
	switch form.Get("receipt_recovered") {
	case "1":
		t := true
		in.ReceiptRecovered = &t
	case "0":
		f := false
		in.ReceiptRecovered = &f
	}
	if act == service.ActionCorrect {
		in.Applicant = &service.Applicant{Name: form.Get("name"), Phone: form.Get("phone"), Address: form.Get("address")}
	}
	if s := form.Get("satisfaction"); s != "" {
		in.Satisfaction, _ = strconv.Atoi(s)
	}
	if len(fieldErrs) == 0 {
		_, _, err = w.svc.Transition(ctx(c), actor(c), c.Param("id"), act, version, in, nil)
	} else {
		err = service.Invalid(fieldErrs...)
	}
	if err == nil {
		// 催办 from the warnings list goes back to that list, where it was.
		if back := safeNext(form.Get("back")); act == service.ActionUrge && strings.HasPrefix(back, "/warnings") {
			return c.Redirect(http.StatusSeeOther, back)
		}
		return c.Redirect(http.StatusSeeOther, "/errands/"+url.PathEscape(c.Param("id"))+"?done="+string(act))
	}
	return w.stepFailed(c, "办件详情", string(act), form, err, w.showErrand)
}

// stepFailed shows a case's page again after a refused step, with what was
// typed and the field errors; a case that is gone (or hidden) is a plain 404.
func (w *console) stepFailed(c echo.Context, title, act string, form url.Values, err error, show func(echo.Context, *page, int) error) error {
	p := w.newPage(c, title)
	p.Form = act
	delete(form, csrfField)
	p.Values = form
	status, ok := formError(err, p)
	if !ok {
		return err
	}
	var se *service.Error
	if errors.As(err, &se) && se.Kind == service.KindNotFound && len(se.Fields) == 0 {
		return err
	}
	return show(c, p, status)
}

// ---- registration

type category struct {
	Name  string
	Items []service.Item
}

type registerData struct {
	Admin      bool   // the admin's catalogue: every item, to edit
	Find       string // what the agent searched the catalogue for
	Categories []category
	Item       service.Item
	Channels   []service.Channel
	Idem       string
}

func (w *console) registerPage(c echo.Context) error {
	if actor(c).Role != service.RoleAgent {
		return service.ErrForbidden
	}
	code := strings.TrimSpace(c.QueryParam("item"))
	if code == "" {
		return w.catalogue(c, "")
	}
	it, err := w.svc.Item(ctx(c), code)
	if err != nil || !it.Active {
		if err != nil && !errors.Is(err, service.ErrNotFound) {
			return err
		}
		return w.catalogue(c, "目录中没有这个事项，或者它已停办。请从下面的目录中选择。")
	}
	p := w.newPage(c, "登记："+it.Name)
	p.Values = url.Values{"channel": {string(service.ChannelWalkIn)}}
	p.Form = "register"
	p.Data = registerData{Item: it, Channels: service.Channels, Idem: newIdem()}
	return w.render(c, http.StatusOK, "register", p)
}

func (w *console) catalogue(c echo.Context, alert string) error {
	p := w.newPage(c, "登记新事项：选择代办事项")
	p.Alert = alert
	cats, err := w.svc.Categories(ctx(c))
	if err != nil {
		return err
	}
	items, err := w.svc.Items(ctx(c), service.ItemFilter{ActiveOnly: true, Limit: 500})
	if err != nil {
		return err
	}
	p.Data = groupCatalogue(cats, items, strings.TrimSpace(c.QueryParam("q")))
	status := http.StatusOK
	if alert != "" {
		status = http.StatusNotFound
	}
	return w.render(c, status, "catalogue", p)
}

// groupCatalogue sorts the items that match find into their categories.
func groupCatalogue(cats []service.Category, items []service.Item, find string) registerData {
	names := map[string]string{}
	for _, ct := range cats {
		names[ct.Code] = ct.Name
	}
	byCat := map[string][]service.Item{}
	var order []string
	for _, it := range items {
		if find != "" && !strings.Contains(it.Name, find) && !strings.EqualFold(it.Code, find) {
			continue
		}
		if _, seen := byCat[it.Category]; !seen {
			order = append(order, it.Category)
		}
		byCat[it.Category] = append(byCat[it.Category], it)
	}
	sort.Strings(order)
	d := registerData{Find: find}
	for _, code := range order {
		name := names[code]
		if name == "" {
			name = code
		}
		d.Categories = append(d.Categories, category{Name: name, Items: byCat[code]})
	}
	return d
}

func (w *console) register(c echo.Context) error {
	a := actor(c)
	if a.Role != service.RoleAgent {
		return service.ErrForbidden
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	delete(form, csrfField)
	in := service.RegisterInput{
		ItemCode:  form.Get("item_code"),
		Applicant: service.Applicant{Name: form.Get("name"), IDNumber: form.Get("id_number"), Phone: form.Get("phone"), Address: form.Get("address")},
		Materials: form["materials"], Channel: service.Channel(form.Get("channel")), Note: form.Get("note"),
		NoSMS: form.Get("no_sms") == "on",
	}
	if in.Materials == nil {
		in.Materials = []string{}
	}
	// The key is drawn when the form is shown, so a double click or a
	// reload of the answer registers the errand once.
	idem, err := service.NewIdemKey(a, "web:"+form.Get("idem"), formHash(form))
	if err != nil || form.Get("idem") == "" {
		idem = nil
	}
	e, _, err := w.svc.Register(ctx(c), a, in, idem)
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/errands/"+url.PathEscape(e.ID)+"/print?new=1")
	}
	it, ierr := w.svc.Item(ctx(c), strings.TrimSpace(in.ItemCode))
	if ierr != nil {
		return w.catalogue(c, "目录中没有这个事项，或者它已停办。请从下面的目录中选择。")
	}
	p := w.newPage(c, "登记："+it.Name)
	p.Form = "register"
	p.Values = form
	status, ok := formError(err, p)
	if !ok {
		return err
	}
	idemKey := form.Get("idem")
	if idemKey == "" {
		idemKey = newIdem()
	}
	p.Data = registerData{Item: it, Channels: service.Channels, Idem: idemKey}
	return w.render(c, status, "register", p)
}

func newIdem() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// formHash identifies what a form sent, whatever the order of its fields.
func formHash(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		if k != "idem" && k != csrfField {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		for _, x := range v[k] {
			h.Write([]byte(k + "\x00" + x + "\x00"))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ---- printing

// printPage serves the API's two-part form with a toolbar on top, so the
// receipt printed here is the same document the API prints; its QR code
// opens this console's /q/ page.
func (w *console) printPage(c echo.Context) error {
	id := c.Param("id")
	body, err := report.Form(ctx(c), w.svc, actor(c), id, report.StatusURL(w.opts.PublicURL, c.Request(), ""))
	if err != nil {
		return err
	}
	var bar strings.Builder
	bar.WriteString(`<nav class="toolbar" aria-label="打印操作">`)
	if c.QueryParam("new") == "1" {
		bar.WriteString(`<p role="status"><strong>登记成功。</strong>请打印本表：存根联留存台账，回执联剪下交给申请人。</p>`)
	}
	bar.WriteString(`<button type="button" data-print>打印登记表</button>　<a href="/errands/` + url.PathEscape(id) + `">查看办件</a>　<a href="/register">继续登记</a>　<a href="/">返回待办</a></nav>`)
	body = bytes.Replace(body, []byte("<body>"), []byte("<body>\n"+bar.String()), 1)
	body = bytes.Replace(body, []byte("</head>"), []byte(`<script src="`+assets["app.js"]+`" defer></script>`+"\n</head>"), 1)
	return c.HTMLBlob(http.StatusOK, body)
}

// ---- formatting helpers shared by the templates

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(service.Shanghai).Format("2006-01-02")
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(service.Shanghai).Format("2006-01-02 15:04")
}

func itoa(n int) string { return strconv.Itoa(n) }
