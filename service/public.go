package service

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"
)

// PublicStep is one step of the timeline a resident sees: which level did
// what, never who.
type PublicStep struct {
	At       time.Time
	Action   Action
	Status   Status
	OrgName  string
	OrgLevel Level
	Outcome  Outcome // complete: approved or refused
	Detail   string  // the instruction of a return, the reason of a refusal or withdrawal, the new deadline
	Missing  []string
}

// PublicEvent is what a resident may ever see of an event: when, which
// step, the new status, which organisation (never which person), the
// missing materials with the instruction for them, the outcome, the reason
// of a refusal or withdrawal, a new deadline and which fields a correction
// put right. Notes, actors and hashes
// stay with the staff.
func PublicEvent(ev Event) Event {
	p := Event{At: ev.At, Action: ev.Action, To: ev.To, OrgID: ev.OrgID,
		MissingMaterials: ev.MissingMaterials, Outcome: ev.Outcome, Reason: ev.Reason, DueAt: ev.DueAt}
	// A correction shows which fields were put right, never their values,
	// nor its reason, which may quote them.
	for _, c := range ev.Changes {
		p.Changes = append(p.Changes, Change{Field: c.Field})
	}
	if ev.Action == ActionCorrect {
		p.Reason = ""
	}
	return p
}

// StatusWords is the status as a resident reads it: plain words, not the
// office's (已转报), and a refusal never reads as done.
func (p PublicReceipt) StatusWords() string {
	refused := p.Outcome == OutcomeRefused
	switch p.Status {
	case StatusRegistered:
		return "已登记，等待报送"
	case StatusForwarded:
		return "已报送办理单位"
	case StatusProcessing:
		return "正在办理"
	case StatusCorrection:
		return "需要补充材料"
	case StatusCompleted:
		if refused {
			return "不予办理"
		}
		return "已办好，等待送达"
	case StatusDelivered:
		if refused {
			return "不予办理，已告知"
		}
		return "已办好，结果已送达"
	}
	return p.Status.Label()
}

// PublicReceipt is what the holder of a receipt may read about it.
type PublicReceipt struct {
	ReceiptNo     string
	Status        Status
	ItemName      string
	ApplicantName string // masked
	IntakeName    string
	AgentName     string
	AgentPhone    string
	RegisteredAt  time.Time
	DueAt         time.Time
	CompletedAt   time.Time
	DeliveredAt   time.Time
	Outcome       Outcome
	OutcomeReason string
	Overdue       bool
	Timeline      []PublicStep
}

// Public lookup budgets. A wrong code never locks a receipt for everybody:
// it counts against the client that sent it, for that receipt and across
// all receipts. The holder, from any other address, is always answered;
// a guesser gets lookupReceipt.max codes per receipt and lookupClient.max
// across receipts per window from one address, on every instance. A
// budget is read before the code is compared, and a wrong code is claimed
// against it in one statement that never passes its max; a right code
// writes nothing. Guesses sent at the same moment are all compared before
// any is counted, so a burst can test a few more codes once: as many as
// the per-process rate limit lets through at once (--public-burst).
var (
	lookupReceipt = budget{max: 5, window: 15 * time.Minute}
	lookupClient  = budget{max: 20, window: time.Hour}
)

// ReceiptLookup is what a public lookup reads in one go: the errand, if the
// number exists.
// The errand carries only what a resident may see (status, item, dates,
// outcome, the applicant's name to mask, the intake village and agent ids);
// its private fields are not even read.
type ReceiptLookup struct {
	Errand   Errand
	Timeline []Event // only time, action, new status, organisation, missing materials, reason and due time
	Found    bool
}

// errNoReceipt is the one answer for an unknown number and a wrong code.
var errNoReceipt = &Error{Kind: KindNotFound, Code: "receipt_not_found", Detail: "no receipt with this number and code; check both against the paper receipt"}

// LookupReceipt answers a resident's status query from the client address.
func (s *Service) LookupReceipt(ctx context.Context, receiptNo, code, client string) (PublicReceipt, error) {
	no, err := ParseReceiptNo(receiptNo)
	if err != nil {
		return PublicReceipt{}, err
	}
	var look ReceiptLookup
	if err := s.checkPublicCode(ctx, no, code, client, "receipt", func() (string, bool, error) {
		var err error
		look, err = s.errands.LookupReceipt(ctx, no)
		return look.Errand.VerifyCode, look.Found, err
	}, errNoReceipt); err != nil {
		return PublicReceipt{}, err
	}
	e := look.Errand
	now := s.now()
	p := PublicReceipt{
		ReceiptNo: e.ReceiptNo, Status: e.Status, ItemName: e.ItemName,
		ApplicantName: MaskName(e.Applicant.Name),
		RegisteredAt:  e.RegisteredAt, DueAt: e.DueAt, CompletedAt: e.CompletedAt, DeliveredAt: e.DeliveredAt,
		Outcome: e.Outcome, OutcomeReason: e.OutcomeReason, Overdue: e.Overdue(now),
	}
	if o, err := s.org(ctx, e.IntakeOrgID); err == nil {
		p.IntakeName = o.Name
	}
	if u, err := s.user(ctx, e.AgentID); err == nil {
		p.AgentName, p.AgentPhone = u.DisplayName, u.Phone
	}
	for _, ev := range look.Timeline {
		st := PublicStep{At: ev.At, Action: ev.Action, Status: ev.To, Missing: ev.MissingMaterials}
		if o, err := s.org(ctx, ev.OrgID); err == nil {
			st.OrgName, st.OrgLevel = o.Name, o.Level
		}
		switch ev.Action {
		case ActionComplete:
			// Timelines stored before the outcome was kept in them have
			// the errand's, which a completion decides for good.
			st.Outcome, st.Detail = ev.Outcome, ev.Reason
			if st.Outcome == "" {
				st.Outcome = e.Outcome
			}
		case ActionReturn, ActionWithdraw:
			st.Detail = ev.Reason
		case ActionExtend:
			st.Detail = "办理期限延至" + DateOf(ev.DueAt).Chinese()
		case ActionCorrect:
			var names []string
			for _, c := range ev.Changes {
				names = append(names, ChangeLabels[c.Field])
			}
			st.Detail = strings.Join(names, "、")
		}
		p.Timeline = append(p.Timeline, st)
	}
	return p, nil
}

// checkPublicCode answers whether code is the 6-digit code of the receipt
// or report numbered no (what names which), with the lookup budgets: read
// returns its code and whether it exists; miss is the one answer for an
// unknown number and a wrong code.
func (s *Service) checkPublicCode(ctx context.Context, no, code, client, what string, read func() (string, bool, error), miss error) error {
	if len(code) != 6 || atoiOK(code) < 0 {
		return BadParam("code", "invalid_verification_code")
	}
	now := s.now()
	budgets := []struct {
		key    string
		b      budget
		detail string
	}{
		{"client " + clientKey(client), lookupClient, "too many wrong codes from this address; try again later"},
		{no + " " + clientKey(client), lookupReceipt, "too many wrong codes for this " + what + " from this address; try again later"},
	}
	for _, x := range budgets {
		if err := s.spent(ctx, ThrottleLookup, x.key, x.b, now, "too_many_lookups", x.detail); err != nil {
			return err
		}
	}
	want, found, err := read()
	if err != nil {
		return err
	}
	// Compare even when the number is unknown so both paths take the same time.
	if !found {
		want = "------"
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 || !found {
		for _, x := range budgets {
			if err := s.claim(ctx, ThrottleLookup, x.key, x.b, now, "too_many_lookups", x.detail); err != nil {
				return err
			}
		}
		return miss
	}
	return nil
}

func atoiOK(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
	}
	return atoi(s)
}
