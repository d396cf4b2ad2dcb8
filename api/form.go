package api

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/skip2/go-qrcode"

	"daiban/service"
)

//go:embed templates/form.html
var formFS embed.FS

var formTemplate = template.Must(template.ParseFS(formFS, "templates/form.html"))

var channelLabels = map[service.Channel]string{
	service.ChannelWalkIn: "来访", service.ChannelHomeVisit: "上门", service.ChannelPhone: "电话",
	service.ChannelApp: "手机应用", service.ChannelWeb: "网站",
}

var levelLabels = map[service.Level]string{service.LevelTownship: "乡镇(街道)便民服务中心", service.LevelCity: "市行政服务中心"}

type formData struct {
	ReceiptNo, VerifyCode, Registered, ItemName, ItemCode, ItemLevel  string
	ApplicantName, ApplicantMasked, IDNumber, Phone, Address, Channel string
	Materials                                                         []string
	Fee, DueDate, TimeLimit, AgentName, AgentPhone, Note, IntakeName  string
	QR                                                                template.URL
	StatusURL                                                         string
}

// StatusURL is the public status page a receipt's QR code opens: under
// base, or else under the address the request's connection reached.
func StatusURL(base string, r *http.Request, receiptNo string) string {
	if base == "" {
		// Never the Host header, which the client chooses: the address the
		// connection reached, which it cannot.
		scheme, host := "http", "localhost"
		if r.TLS != nil {
			scheme = "https"
		}
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			host = a.String()
		}
		base = scheme + "://" + host
	}
	return strings.TrimSuffix(base, "/") + "/q/" + receiptNo
}

// errandForm serves the printable form to API clients.
func (s *Server) errandForm(c echo.Context) error {
	page, err := Form(c.Request().Context(), s.svc, actor(c), c.Param("id"), StatusURL(s.opts.PublicURL, c.Request(), ""))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, page)
}

// Form renders the two-part form (两单制) of an errand as an A4 page: the
// stub kept in the village ledger and the receipt the resident keeps, with a
// QR code of statusPrefix followed by the receipt number. Only the agent of
// the intake village sees the verification code and the full ID number.
func Form(ctx context.Context, svc *service.Service, a service.Actor, id, statusPrefix string) ([]byte, error) {
	e, err := svc.Errand(ctx, a, id)
	if err != nil {
		return nil, err
	}
	it, err := svc.Item(ctx, e.ItemCode)
	if err != nil {
		return nil, err
	}
	url := statusPrefix + e.ReceiptNo
	png, err := qrcode.Encode(url, qrcode.Medium, 256)
	if err != nil {
		return nil, err
	}
	d := formData{
		ReceiptNo: e.ReceiptNo, VerifyCode: "******", Registered: service.ChineseTime(e.RegisteredAt),
		ItemName: e.ItemName, ItemCode: e.ItemCode, ItemLevel: levelLabels[e.ItemLevel],
		ApplicantName: e.Applicant.Name, ApplicantMasked: service.MaskName(e.Applicant.Name),
		IDNumber: service.MaskIDNumber(e.Applicant.IDNumber), Phone: service.MaskPhone(e.Applicant.Phone),
		Address: e.Applicant.Address, Channel: channelLabels[e.Channel], Materials: e.Materials,
		Fee: feeLabel(it.FeeCents), DueDate: service.DateOf(e.DueAt).Chinese(), TimeLimit: strconv.Itoa(e.TimeLimitDays),
		AgentName: e.AgentName, AgentPhone: e.AgentPhone, Note: e.Note, IntakeName: e.IntakeName,
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), StatusURL: url,
	}
	if a.Role == service.RoleAgent && a.OrgID == e.IntakeOrgID {
		d.VerifyCode, d.IDNumber, d.Phone = e.VerifyCode, e.Applicant.IDNumber, e.Applicant.Phone
	}
	var buf bytes.Buffer
	if err := formTemplate.Execute(&buf, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func feeLabel(cents int64) string {
	if cents == 0 {
		return "免费"
	}
	return strconv.FormatInt(cents/100, 10) + "." + strconv.FormatInt(100+cents%100, 10)[1:] + " 元"
}
