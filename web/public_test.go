package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"daiban/internal/apitest"
	"daiban/service"
)

// chineseDate is how the resident's pages and the paper receipt write a day.
var chineseDate = regexp.MustCompile(`20\d\d年\d{1,2}月\d{1,2}日`)

// TestBrowserResidentWords follows a receipt the way its holder does on a
// phone: a return for correction shows the officer's instruction, a refusal
// reads 不予办理 with its reason (never 已办结), dates are written
// 2026年3月2日, and the status page survives a refresh without the code
// being typed again.
func TestBrowserResidentWords(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	ctx := context.Background()
	agent := env.F.Actor("ag1a")
	e, _, err := env.Svc.Register(ctx, agent, service.RegisterInput{ItemCode: "TWN", Channel: service.ChannelWalkIn,
		Applicant: service.Applicant{Name: "王五", IDNumber: apitest.ValidID, Phone: "13912345678"}, Materials: env.F.ItemTownship.Materials}, nil)
	if err != nil {
		t.Fatal(err)
	}
	step := func(user string, act service.Action, in service.StepInput) {
		t.Helper()
		if e, _, err = env.Svc.Transition(ctx, env.F.Actor(user), e.ID, act, e.Version, in, nil); err != nil {
			t.Fatal(err)
		}
	}
	step("ag1a", service.ActionForward, service.StepInput{})
	step("tw1", service.ActionAccept, service.StepInput{})

	// The officer returns it in the console with an instruction for the applicant.
	officer := newPerson(t, root, env, "officer", desktopW, desktopH)
	officer.login("tw1")
	officer.open("/errands/" + e.ID)
	const instruction = "户口簿需户主签字"
	officer.do(chromedp.Click(chromedp.CSS("#return-m0")), chromedp.SendKeys(chromedp.CSS("#return-reason"), instruction),
		chromedp.SendKeys(chromedp.CSS("#return-note"), "内部：已电话联系"))
	officer.shot("30-officer-return-with-instruction-1366x768")
	officer.submit(`form[action$="/return"] button`)
	officer.expectText(".flash", "已退回代办点补正")
	officer.expectText(".timeline", "给申请人的说明："+instruction, "内部：已电话联系")

	resident := newPerson(t, root, env, "resident", phoneW, phoneH)
	resident.lookUp(e.ReceiptNo, e.VerifyCode)
	resident.expectText("#status", "需要补充材料")
	resident.expectText(".timeline", "需要您补充材料", "办理单位的说明："+instruction)
	if body := resident.text("main"); strings.Contains(body, "内部：已电话联系") {
		t.Error("the resident sees the officer's internal note")
	}
	if !chineseDate.MatchString(resident.text(".facts")) || !chineseDate.MatchString(resident.text(".timeline")) {
		t.Errorf("dates are not written as 2026年3月2日: %q", resident.text(".facts"))
	}
	if path := resident.eval(`location.pathname`); path != "/q/"+e.ReceiptNo {
		t.Errorf("the status page's address is %s, want /q/%s to bookmark", path, e.ReceiptNo)
	}
	resident.shot("31-resident-correction-390x844")

	// Resubmitted, then refused with a reason; the resident refreshes.
	if e, err = env.Svc.Errand(ctx, agent, e.ID); err != nil {
		t.Fatal(err)
	}
	step("ag1a", service.ActionResubmit, service.StepInput{})
	step("tw1", service.ActionAccept, service.StepInput{})
	const reason = "不符合参保条件：已在外地参保"
	step("tw1", service.ActionComplete, service.StepInput{Outcome: service.OutcomeRefused, Reason: reason})
	resident.do(chromedp.Reload())
	resident.expectText("#status", "不予办理")
	resident.expectText("#outcome", "不予办理", "理由："+reason)
	resident.expectText(".timeline", "决定不予办理，理由："+reason)
	if st := resident.text("#status"); strings.Contains(st, "办结") || strings.Contains(st, "办好") {
		t.Errorf("a refusal reads %q", st)
	}
	if bg := resident.eval(`getComputedStyle(document.getElementById("status")).backgroundColor`); bg != "rgb(249, 217, 214)" {
		t.Errorf("a refusal is drawn in %s, not the refusal's colour (a green pill reads as success)", bg)
	}
	if w := resident.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the status page is %spx wide on a 390px phone", w)
	}
	resident.shot("32-resident-refused-390x844")
	wide := newPerson(t, root, env, "resident-desktop", desktopW, desktopH)
	wide.lookUp(e.ReceiptNo, e.VerifyCode)
	wide.expectText("#status", "不予办理")
	wide.shot("33-resident-refused-1366x768")

	// 不再记住: the form again, the status gone from this phone.
	resident.submit(`form.forget button`)
	resident.expectText("#lookup", "查询码")
	if n := resident.eval(`String(document.querySelectorAll("#status").length)`); n != "0" {
		t.Error("the status is still shown after 不再记住")
	}

	// The paper receipt writes its dates the same way.
	ag := newPerson(t, root, env, "agent", desktopW, desktopH)
	ag.login("ag1a")
	ag.open("/errands/" + e.ID + "/print")
	if part := ag.text(".receipt-part"); !chineseDate.MatchString(part) || strings.Contains(part, "-"+e.RegisteredAt.Format("01")+"-") {
		t.Errorf("the receipt's dates: %q", part)
	}
}
