package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// What notifies whom. A step that someone should hear about yields notices,
// decided here and written by the store in the step's own transaction (the
// outbox), so nothing is told about a step that rolled back and nothing is
// lost of one that committed. Inbox notices are the staff's inbox rows;
// the others are delivered afterwards, at least once, by notify.Dispatcher.
//
//	completed (approved or refused)  the resident: an SMS, unless declined at registration
//	                                 the intake agent: 待送达 in the inbox
//	returned for correction          the intake agent
//	forwarded                        the receiving organisation's queue
//	urged (催办)                      the holding organisation
//	every step                       webhooks subscribed to its type
//	due soon and overdue             a daily digest to the holders and the city (Digest)

// NoticeChannel is how a notice travels.
type NoticeChannel string

const (
	NoticeInbox   NoticeChannel = "inbox"
	NoticeSMS     NoticeChannel = "sms"
	NoticeWebhook NoticeChannel = "webhook" // to every endpoint subscribed to the type
)

// A Notice is one thing to tell someone about a step.
type Notice struct {
	ID      string // stable: receivers drop duplicates by it (webhook-id, CloudEvents id)
	Channel NoticeChannel
	UserID  string // inbox: a person, or
	OrgID   string // inbox: an organisation's queue
	Phone   string // sms
	CaseID  string // the errand; deliveries of one case go out in order
	CaseSeq int    // the step's place in its case
	Type    string // errand.<action>, or digest
	Text    string // inbox and SMS: the words; webhook: the CloudEvent
	At      time.Time
}

// EventTypes are the webhook event types, one per kind of step.
func EventTypes() []string {
	out := []string{"errand." + string(ActionRegister)}
	for _, a := range Actions {
		out = append(out, "errand."+string(a))
	}
	out = append(out, "report."+string(ReportRegister))
	for _, a := range ReportActions {
		out = append(out, "report."+string(a))
	}
	return out
}

// EventTypeLabel names an event type in Chinese: errand.complete → 办结.
func EventTypeLabel(t string) string {
	if t == "*" {
		return "全部"
	}
	if t == "digest" {
		return "每日提醒"
	}
	if a, ok := strings.CutPrefix(t, "report."); ok {
		return "民情" + ReportAction(a).Label()
	}
	return Action(strings.TrimPrefix(t, "errand.")).Label()
}

// SMSLimit is one SMS segment of Chinese text.
const SMSLimit = 70

// notices decides who hears of a step. before is the errand as the step
// found it (zero for a registration), after as it left it.
func (s *Service) notices(ctx context.Context, after Errand, ev Event) []Notice {
	var out []Notice
	base := Notice{CaseID: after.ID, CaseSeq: ev.Seq, Type: "errand." + string(ev.Action), At: ev.At}
	push := func(n Notice, suffix string) {
		n.ID = after.ID + "." + itoa(ev.Seq) + "." + suffix
		out = append(out, n)
	}
	intake := s.orgName(ctx, after.IntakeOrgID)
	switch ev.Action {
	case ActionComplete:
		if !after.NoSMS && after.Applicant.Phone != "" && mobileRE.MatchString(after.Applicant.Phone) {
			n := base
			n.Channel, n.Phone = NoticeSMS, after.Applicant.Phone
			n.Text = RenderSMS(s.completedSMS(ctx), intake, after.ItemName, s.statusLink(after.ReceiptNo))
			push(n, "sms")
		}
		n := base
		n.Channel, n.UserID = NoticeInbox, after.AgentID
		n.Text = "待送达：" + after.ReceiptNo + " " + after.ItemName + "（" + MaskName(after.Applicant.Name) + "）" + OutcomeWords(after.Outcome) + "，请通知申请人领取。"
		push(n, "inbox")
	case ActionReturn:
		if after.HolderLevel == LevelVillage {
			n := base
			n.Channel, n.UserID = NoticeInbox, after.AgentID
			n.Text = "退回补正：" + after.ReceiptNo + " " + after.ItemName + "（" + MaskName(after.Applicant.Name) + "）" + "，请联系申请人补齐材料。"
			push(n, "inbox")
		} else {
			n := base
			n.Channel, n.OrgID = NoticeInbox, after.HolderOrgID
			n.Text = "退回补正：" + after.ReceiptNo + " " + after.ItemName + "，由" + s.orgName(ctx, ev.OrgID) + "退回。"
			push(n, "inbox")
		}
	case ActionForward:
		n := base
		n.Channel, n.OrgID = NoticeInbox, after.HolderOrgID
		n.Text = "新转报：" + after.ReceiptNo + " " + after.ItemName + "，来自" + s.orgName(ctx, ev.OrgID) + "，" + DateOf(after.DueAt).Chinese() + "前办结。"
		push(n, "inbox")
	case ActionUrge:
		n := base
		n.Channel, n.OrgID = NoticeInbox, after.HolderOrgID
		n.Text = "催办：" + after.ReceiptNo + " " + after.ItemName + "，" + DateOf(after.DueAt).Chinese() + "到期，请抓紧办理。"
		if ev.Note != "" {
			n.Text += "（" + ev.Note + "）"
		}
		push(n, "inbox")
	}
	n := base
	n.Channel = NoticeWebhook
	n.Text = s.cloudEvent(ctx, after, ev, n.Type, after.ID+"."+itoa(ev.Seq)+".webhook")
	push(n, "webhook")
	return out
}

// wake tells the dispatcher that deliveries were queued.
func (s *Service) wake() {
	if s.notified != nil {
		s.notified()
	}
}

// DefaultCompletedSMS is the resident's text when the result is ready, until
// an admin rewords it (a gateway often sends only the wording it approved):
// {intake}, {item} and {link} stand for the intake village, the item and the
// status link.
const DefaultCompletedSMS = "您在{intake}代办点申请的{item}已办结，请携回执到代办点领取。查询：{link}"

// smsTemplateSetting keeps an admin's wording of the completion text.
const smsTemplateSetting = "sms_completed_template"

// RenderSMS fills a completion template.
func RenderSMS(tpl, intake, item, link string) string {
	return strings.NewReplacer("{intake}", intake, "{item}", item, "{link}", link).Replace(tpl)
}

// completedSMS is the completion template, read again at most every 30 s
// so an admin's change reaches every instance soon.
func (s *Service) completedSMS(ctx context.Context) string {
	s.smsMu.Lock()
	defer s.smsMu.Unlock()
	if now := s.clock(); s.smsTpl == "" || now.Sub(s.smsRead) > 30*time.Second {
		tpl, err := s.notify.Setting(ctx, smsTemplateSetting)
		if err != nil && s.smsTpl != "" {
			return s.smsTpl // keep the last one read
		}
		if tpl == "" {
			tpl = DefaultCompletedSMS
		}
		s.smsTpl, s.smsRead = tpl, now
	}
	return s.smsTpl
}

// SMSTemplate is the completion text's template now in use.
func (s *Service) SMSTemplate(ctx context.Context, a Actor) (string, error) {
	if a.Role != RoleAdmin {
		return "", Forbidden("role_not_allowed", "only an admin words the text messages")
	}
	tpl, err := s.notify.Setting(ctx, smsTemplateSetting)
	if tpl == "" {
		tpl = DefaultCompletedSMS
	}
	return tpl, err
}

// SetSMSTemplate rewords the completion text. It is refused when it names
// an unknown placeholder or, filled with the longest names the directory
// allows and this server's link, is longer than the gateway takes.
func (s *Service) SetSMSTemplate(ctx context.Context, a Actor, tpl string) error {
	if a.Role != RoleAdmin {
		return Forbidden("role_not_allowed", "only an admin words the text messages")
	}
	tpl = strings.TrimSpace(tpl)
	var f fields
	checkText(&f, "completed", tpl, 1, 500)
	if rest := strings.NewReplacer("{intake}", "", "{item}", "", "{link}", "").Replace(tpl); strings.ContainsAny(rest, "{}") {
		f.add("completed", "unknown_placeholder")
	}
	if err := f.err(); err != nil {
		return err
	}
	longest := RenderSMS(tpl, strings.Repeat("村", 60), strings.Repeat("项", 60), s.statusLink(strings.Repeat("0", 16)))
	if n := utf8.RuneCountInString(longest); n > s.smsMax {
		return InvalidField("completed", "sms_too_long", itoa(n), itoa(s.smsMax))
	}
	return s.notify.SetSetting(ctx, smsTemplateSetting, tpl)
}

// OutcomeWords says a completed errand's outcome plainly.
func OutcomeWords(o Outcome) string {
	if o == OutcomeRefused {
		return "不予办理"
	}
	return "已办好"
}

func (s *Service) statusLink(receiptNo string) string {
	if s.publicURL == "" {
		return "回执编号" + receiptNo // no address to link to: the resident looks it up by number
	}
	return strings.TrimRight(s.publicURL, "/") + "/q/" + receiptNo
}

func (s *Service) orgName(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	o, err := s.org(ctx, id)
	if err != nil {
		return ""
	}
	return o.Name
}

// A cloudEvent is a step as CloudEvents 1.0 JSON: what other systems may
// know of it, never the applicant's ID number or phone.
func (s *Service) cloudEvent(ctx context.Context, e Errand, ev Event, typ, id string) string {
	type data struct {
		ErrandID  string    `json:"errand_id"`
		ReceiptNo string    `json:"receipt_no"`
		Action    Action    `json:"action"`
		Status    Status    `json:"status"`
		Outcome   Outcome   `json:"outcome,omitempty"`
		ItemCode  string    `json:"item_code"`
		ItemName  string    `json:"item_name"`
		Applicant string    `json:"applicant"` // masked
		Intake    string    `json:"intake_org"`
		Holder    string    `json:"holder_org"`
		Version   int       `json:"version"`
		DueAt     time.Time `json:"due_at"`
	}
	return cloudEventJSON(id, "/daiban/errands", typ, e.ReceiptNo, ev.At,
		data{e.ID, e.ReceiptNo, ev.Action, e.Status, e.Outcome, e.ItemCode, e.ItemName,
			MaskName(e.Applicant.Name), s.orgName(ctx, e.IntakeOrgID), s.orgName(ctx, e.HolderOrgID), e.Version, e.DueAt})
}

// cloudEventJSON wraps data in a CloudEvents 1.0 JSON envelope.
func cloudEventJSON(id, source, typ, subject string, at time.Time, data any) string {
	b, err := json.Marshal(struct {
		SpecVersion     string    `json:"specversion"`
		ID              string    `json:"id"`
		Source          string    `json:"source"`
		Type            string    `json:"type"`
		Subject         string    `json:"subject"`
		Time            time.Time `json:"time"`
		DataContentType string    `json:"datacontenttype"`
		Data            any       `json:"data"`
	}{"1.0", id, source, typ, subject, at, "application/json", data})
	if err != nil {
		panic(err) // only strings, ints and times
	}
	return string(b)
}

// Webhook endpoints.

// Webhook is an endpoint that receives signed CloudEvents of the types it
// asked for.
type Webhook struct {
	ID        string
	URL       string
	Types     []string
	Secret    string // whsec_…; shown once, when created
	CreatedAt time.Time
	CreatedBy string
}

// newWebhookSecret is a Standard Webhooks secret: whsec_ and 24 random
// bytes in base64.
func newWebhookSecret() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// NewWebhook is what an admin registers.
type NewWebhook struct {
	URL   string
	Types []string
}

// NotifyStore keeps the endpoints, the outbox and the inbox.
type NotifyStore interface {
	CreateWebhook(ctx context.Context, w Webhook) error
	Webhooks(ctx context.Context) ([]Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	Outbox(ctx context.Context, f OutboxFilter) ([]Delivery, error)
	ReplayDelivery(ctx context.Context, id string, at time.Time) error
	Inbox(ctx context.Context, userID, orgID string, limit int) ([]InboxItem, error)
	UnreadCount(ctx context.Context, userID, orgID string) (int, error)
	MarkRead(ctx context.Context, userID, orgID, id string, at time.Time) (errandID string, err error)
	AddNotices(ctx context.Context, ns []Notice) error
	Setting(ctx context.Context, name string) (string, error)
	SetSetting(ctx context.Context, name, value string) error
	// WarningsByHolder counts the open errands due by dueBy (yellow) and
	// overdue at now (red) by holding organisation, the ones with any.
	WarningsByHolder(ctx context.Context, dueBy, now time.Time) ([]HolderWarnings, error)
}

// A Delivery is one message of the outbox on its way to one receiver.
type Delivery struct {
	ID        string // the row: the message for one endpoint
	MsgID     string // the message's stable id
	Channel   NoticeChannel
	Target    string // the phone number, or the webhook's id
	CaseID    string
	Type      string
	Body      string
	Status    DeliveryStatus
	Attempts  int
	NextAt    time.Time
	LastError string
	CreatedAt time.Time
	SentAt    time.Time
}

// FailedDelivery is a try that failed: due again at Next, or dead.
type FailedDelivery struct {
	ID   string
	Next time.Time
	Dead bool
	Why  string
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

const (
	DeliveryPending DeliveryStatus = "pending"
	DeliverySent    DeliveryStatus = "sent"
	DeliveryDead    DeliveryStatus = "dead" // gave up after the last try; an admin may replay it
)

// OutboxFilter picks deliveries for the admin's view, newest first.
type OutboxFilter struct {
	Status DeliveryStatus // "" for all
	Limit  int
}

// InboxItem is one message in a person's inbox (theirs or their
// organisation's).
type InboxItem struct {
	ID       string
	ErrandID string
	Type     string
	Text     string
	At       time.Time
	ReadAt   time.Time
}

// checkWebhookURL returns the code of what is wrong with an endpoint's
// address, or "": https to a public address, or http to a loopback one
// when the server allows it (for a receiver on the same machine).
func (s *Service) checkWebhookURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return "webhook_url_invalid"
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	switch u.Scheme {
	case "https":
	case "http":
		if !s.loopbackHooks || ip == nil || !ip.IsLoopback() {
			return "webhook_url_not_https"
		}
		return ""
	default:
		return "webhook_url_invalid"
	}
	if ip != nil && PrivateIP(ip) || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "webhook_url_private"
	}
	return ""
}

// PrivateIP reports addresses a webhook may not reach: loopback, private,
// link-local, unspecified and multicast ones.
func PrivateIP(ip net.IP) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast()
}

// CreateWebhook registers an endpoint; the secret is in the answer only.
func (s *Service) CreateWebhook(ctx context.Context, a Actor, in NewWebhook) (Webhook, error) {
	if a.Role != RoleAdmin {
		return Webhook{}, Forbidden("role_not_allowed", "only an admin manages webhooks")
	}
	var f fields
	in.URL = strings.TrimSpace(in.URL)
	if in.URL == "" {
		f.add("url", "required")
	} else if len(in.URL) > 500 {
		f.add("url", "too_long", "500")
	} else if code := s.checkWebhookURL(in.URL); code != "" {
		f.add("url", code)
	}
	known := EventTypes()
	if len(in.Types) == 0 {
		f.add("types", "no_event_types")
	}
	for i, t := range in.Types {
		if t != "*" && !slices.Contains(known, t) {
			f.add("types["+itoa(i)+"]", "unknown_event_type", strings.Join(known, ", "))
		}
	}
	if err := f.err(); err != nil {
		return Webhook{}, err
	}
	w := Webhook{ID: s.newID(), URL: in.URL, Types: in.Types, Secret: newWebhookSecret(), CreatedAt: s.now(), CreatedBy: a.UserID}
	if err := s.notify.CreateWebhook(ctx, w); err != nil {
		return Webhook{}, err
	}
	return w, nil
}

// Webhooks lists the endpoints, their secrets left out.
func (s *Service) Webhooks(ctx context.Context, a Actor) ([]Webhook, error) {
	if a.Role != RoleAdmin {
		return nil, Forbidden("role_not_allowed", "only an admin manages webhooks")
	}
	ws, err := s.notify.Webhooks(ctx)
	for i := range ws {
		ws[i].Secret = ""
	}
	return ws, err
}

// DeleteWebhook removes an endpoint; what is queued for it is dropped.
func (s *Service) DeleteWebhook(ctx context.Context, a Actor, id string) error {
	if a.Role != RoleAdmin {
		return Forbidden("role_not_allowed", "only an admin manages webhooks")
	}
	return s.notify.DeleteWebhook(ctx, id)
}

// Outbox lists deliveries for an admin.
func (s *Service) Outbox(ctx context.Context, a Actor, f OutboxFilter) ([]Delivery, error) {
	if a.Role != RoleAdmin {
		return nil, Forbidden("role_not_allowed", "only an admin sees the outbox")
	}
	switch f.Status {
	case "", DeliveryPending, DeliverySent, DeliveryDead:
	default:
		return nil, BadParam("status", "one_of", "pending, sent, dead")
	}
	f.Limit = clampLimit(f.Limit)
	return s.notify.Outbox(ctx, f)
}

// ReplayDelivery sends a dead (or pending) delivery again now, as a fresh
// series of tries under the same message id.
func (s *Service) ReplayDelivery(ctx context.Context, a Actor, id string) error {
	if a.Role != RoleAdmin {
		return Forbidden("role_not_allowed", "only an admin replays deliveries")
	}
	return s.notify.ReplayDelivery(ctx, id, s.now())
}

// Inbox is the caller's inbox, newest first: their own messages and their
// organisation's.
func (s *Service) Inbox(ctx context.Context, a Actor, limit int) ([]InboxItem, error) {
	if !a.Role.Staff() {
		return nil, ErrForbidden
	}
	return s.notify.Inbox(ctx, a.UserID, a.OrgID, clampLimit(limit))
}

// Unread counts the caller's unread inbox messages.
func (s *Service) Unread(ctx context.Context, a Actor) (int, error) {
	if !a.Role.Staff() {
		return 0, nil
	}
	return s.notify.UnreadCount(ctx, a.UserID, a.OrgID)
}

// MarkRead marks one of the caller's messages read and returns the errand
// it is about ("" for none); an organisation's message is read for everyone
// in it (one of them has taken it up).
func (s *Service) MarkRead(ctx context.Context, a Actor, id string) (string, error) {
	if !a.Role.Staff() {
		return "", ErrForbidden
	}
	return s.notify.MarkRead(ctx, a.UserID, a.OrgID, id, s.now())
}

// HolderWarnings counts one holding organisation's warnings.
type HolderWarnings struct {
	OrgID string
	WarningCounts
}

// Digest writes the day's digest of due-soon and overdue errands: one
// message to each holding organisation with any, and one to each city
// with its totals. Each has a stable id per day and receiver, so instances
// that both run it write it once. It does nothing on a day off.
func (s *Service) Digest(ctx context.Context, day Date) (int, error) {
	cal, err := s.calendar(ctx)
	if err != nil {
		return 0, err
	}
	if !cal.Working(day) {
		return 0, nil
	}
	now := s.now()
	by, err := s.notify.WarningsByHolder(ctx, cal.AddWorkingDays(day, 1).End(), now)
	if err != nil {
		return 0, err
	}
	cities, err := s.directory.Orgs(ctx, OrgFilter{Level: LevelCity, Limit: maxLimit})
	if err != nil {
		return 0, err
	}
	text := func(c WarningCounts) string {
		return "今日提醒：超期未办结 " + thousands(c.Red) + " 件，即将到期 " + thousands(c.Yellow) + " 件，请到“预警督办”查看。"
	}
	totals := make([]WarningCounts, len(cities))
	var ns []Notice
	for _, h := range by {
		ns = append(ns, Notice{ID: "digest." + day.String() + "." + h.OrgID, Channel: NoticeInbox, OrgID: h.OrgID, Type: "digest", Text: text(h.WarningCounts), At: now})
		o, err := s.org(ctx, h.OrgID)
		if err != nil {
			return 0, err
		}
		for i, c := range cities {
			if InSubtree(o.Path, c.Path) {
				totals[i].Red += h.Red
				totals[i].Yellow += h.Yellow
			}
		}
	}
	for i, c := range cities {
		if totals[i].Red+totals[i].Yellow > 0 {
			ns = append(ns, Notice{ID: "digest." + day.String() + ".city." + c.ID, Channel: NoticeInbox, OrgID: c.ID, Type: "digest", Text: "全市" + text(totals[i]), At: now})
		}
	}
	return len(ns), s.notify.AddNotices(ctx, ns)
}

var zhNumbers = message.NewPrinter(language.Chinese)

func thousands(n int64) string { return zhNumbers.Sprintf("%d", n) }
