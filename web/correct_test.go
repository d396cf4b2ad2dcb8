package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"daiban/internal/apitest"
	"daiban/service"
)

// TestBrowserCorrectRegistration: the intake agent puts a mistyped name
// and phone right before completion; the receipt number stays, the
// timeline shows old and new (masked for the supervisor), the resident
// reads only which fields changed, and a correction that changes nothing
// is refused beside its fields.
func TestBrowserCorrectRegistration(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()
	e, _, err := env.Svc.Register(ctx, env.F.Actor("ag1a"), service.RegisterInput{ItemCode: "TWN", Channel: service.ChannelWalkIn,
		Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}, Materials: env.F.ItemTownship.Materials}, nil)
	if err != nil {
		t.Fatal(err)
	}

	agent := newPerson(t, root, env, "agent", desktopW, desktopH)
	agent.login("ag1a")
	agent.open("/errands/" + e.ID)
	agent.do(chromedp.Click(chromedp.CSS("details.action summary")))
	// Nothing changed yet: refused, said beside the form.
	agent.do(chromedp.SendKeys(chromedp.CSS("#correct-reason"), "核对身份证"))
	agent.submit(`form[action$="/correct"] button`)
	agent.expectText(`form[action$="/correct"]`, "与登记内容相同")

	agent.do(chromedp.Clear(chromedp.CSS("#correct-name")), chromedp.SendKeys(chromedp.CSS("#correct-name"), "王武"),
		chromedp.Clear(chromedp.CSS("#correct-phone")), chromedp.SendKeys(chromedp.CSS("#correct-phone"), "13912345679"))
	agent.shot("60-agent-correct-1366x768")
	agent.submit(`form[action$="/correct"] button`)
	agent.expectText(".flash", "登记信息已更正")
	agent.expectText(".timeline", "更正登记信息", "姓名：王五 → 王武", "联系电话：13912345678 → 13912345679", "核对身份证")
	agent.expectText("h1", e.ReceiptNo)
	agent.shot("61-agent-corrected-1366x768")

	super := newPerson(t, root, env, "supervisor", phoneW, phoneH)
	super.login("super")
	super.open("/errands/" + e.ID)
	super.expectText(".timeline", "姓名：王* → 王*")
	if tl := super.text(".timeline"); strings.Contains(tl, "王武") || strings.Contains(tl, "13912345679") {
		t.Errorf("the supervisor reads the corrected values unmasked: %q", tl)
	}
	super.shot("62-supervisor-corrected-390x844")

	resident := newPerson(t, root, env, "resident", phoneW, phoneH)
	resident.lookUp(e.ReceiptNo, e.VerifyCode)
	resident.expectText(".timeline", "更正了登记信息（姓名、联系电话），回执编号不变")
	resident.expectText(".facts", "王*")
	if tl := resident.text("main"); strings.Contains(tl, "王五") || strings.Contains(tl, "王武") || strings.Contains(tl, "核对身份证") {
		t.Errorf("the resident's page shows a value or reason of the correction: %q", tl)
	}
	resident.shot("63-resident-corrected-390x844")
}
