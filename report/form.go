package report

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

	"github.com/skip2/go-qrcode"

	"daiban/service"
)

//go:embed templates/form.html
var formFS embed.FS

var formTemplate = template.Must(template.ParseFS(formFS, "templates/form.html"))

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
	// The reader's view decides what the form shows: the full ID number
	// and phone to those handling the case, the code to the intake agent.
	v := a.View(e, true)
	code := v.VerifyCode
	if code == "" {
		code = "******"
	}
	d := formData{
		ReceiptNo: e.ReceiptNo, VerifyCode: code, Registered: service.ChineseTime(e.RegisteredAt),
		ItemName: e.ItemName, ItemCode: e.ItemCode, ItemLevel: v.Level,
		ApplicantName: e.Applicant.Name, ApplicantMasked: service.MaskName(e.Applicant.Name),
		IDNumber: v.Applicant.IDNumber, Phone: v.Applicant.Phone,
		Address: e.Applicant.Address, Channel: v.Channel, Materials: e.Materials,
		Fee: service.FeeLabel(it.FeeCents), DueDate: service.DateOf(e.DueAt).Chinese(), TimeLimit: strconv.Itoa(e.TimeLimitDays),
		AgentName: e.AgentName, AgentPhone: e.AgentPhone, Note: e.Note, IntakeName: e.IntakeName,
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), StatusURL: url,
	}
	var buf bytes.Buffer
	if err := formTemplate.Execute(&buf, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
