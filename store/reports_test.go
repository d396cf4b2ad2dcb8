package store_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"daiban/internal/testdb"
	"daiban/service"
	"daiban/store"
)

// The organisations the report fixtures pass through, by path only: the
// reports table names organisations without foreign keys.
const (
	pCity  = "/350182/"
	pT1    = "/350182/350182100/"
	pT2    = "/350182/350182200/"
	pV1    = "/350182/350182100/350182100001/"
	pG1    = "/350182/350182100/350182100001/350182100001001/"
	pDept  = "/350182/3501820001/"
	pDept2 = "/350182/350182200/3501822000001/"
)

func sh(month time.Month, day, hour, min int) time.Time {
	return time.Date(2026, month, day, hour, min, 0, 0, service.Shanghai)
}

func fp(f float64) *float64     { return &f }
func tp(t time.Time) *time.Time { u := t.UTC(); return &u }

// baseReport is a registered report with every required field set.
func baseReport(id string, reg time.Time) service.Report {
	return service.Report{
		ID: id, No: "M" + id, VerifyCode: "123456", Channel: service.ReportByGrid, Category: "environment",
		Urgency: service.UrgencyOrdinary, Text: "路灯不亮", Address: "长乐区吴航街道",
		Reporter:    service.Reporter{Name: "李四", Phone: "13900000001"},
		IntakeOrgID: "v1", IntakePath: pV1, CreatedBy: "u1", HolderOrgID: "v1", HolderPath: pV1,
		Status: service.ReportRegistered, Version: 1, RegisteredAt: reg.UTC(), DueAt: reg.Add(7 * 24 * time.Hour).UTC(),
		UpdatedAt: reg.UTC(),
	}
}

// registration is the first event of r, hashed.
func registration(r service.Report) service.ReportEvent {
	ev := service.ReportEvent{ReportID: r.ID, Seq: 1, Action: service.ReportRegister, To: service.ReportRegistered,
		ActorID: r.CreatedBy, ActorName: "网格员", ActorRole: service.RoleGridInspector, OrgID: r.IntakeOrgID, At: r.RegisteredAt}
	ev.Hash = ev.ComputeHash()
	return ev
}

func mustCreate(t *testing.T, st *store.Store, r service.Report) {
	t.Helper()
	ev := registration(r)
	r.HeadHash = ev.Hash
	if err := st.CreateReport(context.Background(), r, ev, nil, nil); err != nil {
		t.Fatalf("create %s: %v", r.ID, err)
	}
}

func kindOf(err error) service.Kind {
	var se *service.Error
	if errors.As(err, &se) {
		return se.Kind
	}
	return 0
}

func countRows(t *testing.T, st *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.DB().Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReportRoundTrip saves two reports, one with every optional field set
// and one with none, and reads back every field, the first event and the
// photos.
func TestReportRoundTrip(t *testing.T) {
	st := testdb.Open(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	// A grid's code has 15 digits, a department's 10 or 13: the widened orgs.code keeps them.
	for _, o := range []struct{ id, code, name, level, path string }{
		{"v1", "350182100001", "首占村", "village", pV1},
		{"g1", "350182100001001", "首占村第一网格", "grid", pG1},
		{"t1", "350182100", "首占镇", "township", pT1},
		{"dept2", "3501822000001", "城管办", "department", pDept2},
	} {
		if err := st.DB().Exec(`INSERT INTO orgs (id, code, name, level, path, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			o.id, o.code, o.name, o.level, o.path, now).Error; err != nil {
			t.Fatalf("org %s: %v", o.code, err)
		}
	}

	full := baseReport("r-full", now.Add(-48*time.Hour))
	full.Channel, full.Category, full.Urgency = service.ReportByHotline, "safety", service.UrgencyUrgent
	full.GridID, full.GridPath = "g1", pG1
	full.Lat, full.Lng = fp(25.9629), fp(119.5231)
	full.Reporter = service.Reporter{Phone: "13900000002", Anonymous: true}
	full.Photos = 2
	full.HolderOrgID, full.HolderPath = "dept2", pDept2
	full.DispatcherID, full.DispatcherPath = "t1", pT1
	full.HandlerOrgID, full.HandlerPath = "dept2", pDept2
	full.Status, full.Version = service.ReportClosed, 7
	full.DispatchedAt, full.ResponseDueAt = tp(now.Add(-47*time.Hour)), tp(now.Add(-46*time.Hour))
	full.Answer, full.AnsweredAt = "已修复", tp(now.Add(-24*time.Hour))
	full.ExtensionDays, full.Satisfaction, full.Unreachable = 2, 4, true
	full.ClosedAt, full.MergedInto = tp(now.Add(-time.Hour)), "M000"
	full.UpdatedAt = now.Add(-time.Hour)
	full.Responses, full.ResponsesOnTime, full.AnsweredOnTime = 3, 2, true

	bare := baseReport("r-bare", now)
	bare.CreatedBy = ""

	photos := []service.ReportPhoto{
		{ReportID: full.ID, N: 1, ContentType: "image/jpeg", Data: []byte{0xff, 0xd8, 0xff, 0x00, 0x01}},
		{ReportID: full.ID, N: 2, ContentType: "image/png", Data: []byte("\x89PNG\r\n")},
	}
	for _, r := range []service.Report{full, bare} {
		ev := registration(r)
		ev.DueAt, ev.Note, ev.ToOrgID = r.DueAt, "登记", "t1"
		ev.Hash = ev.ComputeHash()
		r.HeadHash = ev.Hash
		var ps []service.ReportPhoto
		if r.ID == full.ID {
			ps = photos
		}
		ns := []service.Notice{{ID: "report.register." + r.ID, Channel: service.NoticeInbox, OrgID: r.HolderOrgID,
			CaseID: r.ID, CaseSeq: 1, Type: "report.register", Text: "新民情件", At: r.RegisteredAt}}
		if err := st.CreateReport(ctx, r, ev, ps, ns); err != nil {
			t.Fatalf("create %s: %v", r.ID, err)
		}

		want := r
		if r.ID == full.ID {
			want.IntakeName, want.HolderName, want.GridName, want.DispatcherName, want.HandlerName = "首占村", "城管办", "首占村第一网格", "首占镇", "城管办"
		} else {
			want.IntakeName, want.HolderName = "首占村", "首占村"
		}
		for _, read := range []func() (service.Report, error){
			func() (service.Report, error) { return st.Report(ctx, r.ID) },
			func() (service.Report, error) { return st.ReportByNo(ctx, r.No) },
		} {
			got, err := read()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s reads back as\n%+v\nwant\n%+v", r.ID, got, want)
			}
		}

		evs, err := st.ReportEvents(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEv := ev
		wantEv.OrgName, wantEv.ToOrgName = "首占村", "首占镇"
		if len(evs) != 1 || !reflect.DeepEqual(evs[0], wantEv) {
			t.Errorf("%s events = %+v\nwant [%+v]", r.ID, evs, wantEv)
		} else if evs[0].ComputeHash() != evs[0].Hash {
			t.Errorf("%s: the event read back no longer matches its hash", r.ID)
		}
		if n := countRows(t, st, `SELECT COUNT(*) FROM inbox WHERE errand_id = ?`, r.ID); n != 1 {
			t.Errorf("%s: %d inbox messages, want 1", r.ID, n)
		}
	}
	if full.Lat == nil || bare.Lat != nil {
		t.Fatal("the fixtures lost their coordinates")
	}

	for _, p := range photos {
		got, err := st.ReportPhoto(ctx, full.ID, p.N)
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("photo %d = %+v, %v; want %+v", p.N, got, err, p)
		}
	}
	if _, err := st.ReportPhoto(ctx, full.ID, 3); kindOf(err) != service.KindNotFound {
		t.Errorf("a missing photo: %v, want not found", err)
	}
	if _, err := st.ReportPhoto(ctx, bare.ID, 1); kindOf(err) != service.KindNotFound {
		t.Errorf("a photo of a report without photos: %v, want not found", err)
	}
	if _, err := st.Report(ctx, "nope"); kindOf(err) != service.KindNotFound {
		t.Errorf("Report of a missing id: %v, want not found", err)
	}
	if _, err := st.ReportByNo(ctx, "M404"); kindOf(err) != service.KindNotFound {
		t.Errorf("ReportByNo of a missing number: %v, want not found", err)
	}
	if evs, err := st.ReportEvents(ctx, "nope"); err != nil || len(evs) != 0 {
		t.Errorf("events of a missing report: %v, %v", evs, err)
	}

	dup := baseReport("r-dup", now)
	dup.No = bare.No
	ev := registration(dup)
	if err := st.CreateReport(ctx, dup, ev, nil, nil); kindOf(err) != service.KindConflict {
		t.Errorf("a second report with number %s: %v, want a conflict", dup.No, err)
	}
	if n := countRows(t, st, `SELECT COUNT(*) FROM report_events WHERE report_id = ?`, dup.ID); n != 0 {
		t.Errorf("the refused registration left %d events", n)
	}
}

// dispatch is a step fn for UpdateReport: it dispatches the report to the
// township's department and names its event and a notice.
func dispatch(at time.Time) func(*service.Report) (service.ReportEvent, []service.Notice, error) {
	return func(r *service.Report) (service.ReportEvent, []service.Notice, error) {
		ev := service.ReportEvent{ReportID: r.ID, Seq: r.Version + 1, Action: service.ReportDispatch, From: r.Status,
			To: service.ReportDispatched, ActorID: "u9", ActorName: "镇办事员", ActorRole: service.RoleTownshipOfficer,
			OrgID: r.HolderOrgID, ToOrgID: "dept2", At: at, PrevHash: r.HeadHash}
		ev.Hash = ev.ComputeHash()
		r.Status, r.Version, r.HeadHash, r.UpdatedAt = service.ReportDispatched, r.Version+1, ev.Hash, at
		r.DispatcherID, r.DispatcherPath, r.HolderOrgID, r.HolderPath = r.HolderOrgID, r.HolderPath, "dept2", pDept2
		r.DispatchedAt, r.ResponseDueAt = tp(at), tp(at.Add(4*time.Hour))
		n := service.Notice{ID: "report.dispatch." + r.ID + "." + at.Format(time.RFC3339Nano), Channel: service.NoticeInbox, OrgID: "dept2",
			CaseID: r.ID, CaseSeq: ev.Seq, Type: "report.dispatch", Text: "请签收", At: at}
		return ev, []service.Notice{n}, nil
	}
}

func TestUpdateReport(t *testing.T) {
	st := testdb.Open(t)
	ctx := context.Background()
	reg := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
	r := baseReport("r1", reg)
	r.HolderOrgID, r.HolderPath = "t1", pT1
	mustCreate(t, st, r)

	state := func() (service.Report, int, int) {
		t.Helper()
		got, err := st.Report(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got, countRows(t, st, `SELECT COUNT(*) FROM report_events WHERE report_id = ?`, r.ID),
			countRows(t, st, `SELECT COUNT(*) FROM inbox WHERE errand_id = ?`, r.ID)
	}

	at := reg.Add(time.Hour)
	if err := st.UpdateReport(ctx, r.ID, dispatch(at)); err != nil {
		t.Fatal(err)
	}
	got, events, notices := state()
	if got.Status != service.ReportDispatched || got.Version != 2 || got.HolderOrgID != "dept2" || got.DispatcherPath != pT1 ||
		got.DispatchedAt == nil || !got.DispatchedAt.Equal(at) || !got.UpdatedAt.Equal(at) || events != 2 || notices != 1 {
		t.Fatalf("after a dispatch: %+v with %d events, %d notices", got, events, notices)
	}
	evs, err := st.ReportEvents(ctx, r.ID)
	if err != nil || len(evs) != 2 || evs[1].Seq != 2 || evs[1].PrevHash != evs[0].Hash || evs[1].Hash != got.HeadHash {
		t.Fatalf("events after a dispatch: %+v, %v", evs, err)
	}

	t.Run("an error of fn writes nothing", func(t *testing.T) {
		refused := errors.New("refused by the lifecycle")
		err := st.UpdateReport(ctx, r.ID, func(cur *service.Report) (service.ReportEvent, []service.Notice, error) {
			ev, ns, _ := dispatch(at.Add(time.Hour))(cur)
			cur.Answer = "changed"
			return ev, ns, refused
		})
		if err != refused {
			t.Errorf("UpdateReport returned %v, want fn's error unchanged", err)
		}
		typed := &service.Error{Kind: service.KindConflict, Code: "invalid_transition"}
		if err := st.UpdateReport(ctx, r.ID, func(*service.Report) (service.ReportEvent, []service.Notice, error) {
			return service.ReportEvent{}, nil, typed
		}); err != typed {
			t.Errorf("UpdateReport returned %v, want fn's service error unchanged", err)
		}
		after, ev2, n2 := state()
		if !reflect.DeepEqual(after, got) || ev2 != events || n2 != notices {
			t.Errorf("a refused step wrote: %+v with %d events, %d notices", after, ev2, n2)
		}
	})

	t.Run("a caller that read an older version", func(t *testing.T) {
		// Two people opened the report at version 2; the service refuses
		// the second inside fn, with the version the store loaded.
		step := func(cur *service.Report) (service.ReportEvent, []service.Notice, error) {
			if cur.Version != 2 {
				return service.ReportEvent{}, nil, service.VersionConflict(cur.Version)
			}
			return dispatch(at.Add(2 * time.Hour))(cur)
		}
		if err := st.UpdateReport(ctx, r.ID, step); err != nil {
			t.Fatal(err)
		}
		first, ev1, n1 := state()
		err := st.UpdateReport(ctx, r.ID, step)
		var se *service.Error
		if !errors.As(err, &se) || se.Code != "version_conflict" || se.Version != 3 {
			t.Errorf("the second step: %v, want a version conflict at 3", err)
		}
		after, ev2, n2 := state()
		if !reflect.DeepEqual(after, first) || ev2 != ev1 || n2 != n1 {
			t.Errorf("the refused step wrote: %+v with %d events, %d notices", after, ev2, n2)
		}
	})

	// SQLite's writes run one at a time in the store's single writer: no
	// other write can come between the load and the UPDATE of one step,
	// so only PostgreSQL can have a row move in between.
	racy := "a row that moved between the read and the write"
	if !st.Postgres() {
		racy = ""
	}
	moved := func(t *testing.T) {
		before, ev1, n1 := state()
		loaded, proceed := make(chan struct{}), make(chan struct{})
		var slowErr error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			slowErr = st.UpdateReport(ctx, r.ID, func(cur *service.Report) (service.ReportEvent, []service.Notice, error) {
				close(loaded)
				<-proceed
				return dispatch(at.Add(3 * time.Hour))(cur)
			})
		}()
		<-loaded // the slow step has read the report at before.Version
		if err := st.UpdateReport(ctx, r.ID, dispatch(at.Add(4*time.Hour))); err != nil {
			close(proceed)
			wg.Wait()
			t.Fatal(err)
		}
		won, _, _ := state()
		close(proceed)
		wg.Wait()
		var se *service.Error
		if !errors.As(slowErr, &se) || se.Code != "version_conflict" || se.Version != before.Version+1 {
			t.Errorf("the slow step: %v, want a version conflict at %d", slowErr, before.Version+1)
		}
		after, ev2, n2 := state()
		if !reflect.DeepEqual(after, won) || ev2 != ev1+1 || n2 != n1+1 {
			t.Errorf("after the race: %+v with %d events (want %d), %d notices (want %d)", after, ev2, ev1+1, n2, n1+1)
		}
	}
	if racy != "" {
		t.Run(racy, moved)
	}

	if err := st.UpdateReport(ctx, "nope", dispatch(at)); kindOf(err) != service.KindNotFound {
		t.Errorf("UpdateReport of a missing id: %v, want not found", err)
	}
}

func TestReportEventsAppendOnly(t *testing.T) {
	st := testdb.Open(t)
	r := baseReport("r1", time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC))
	mustCreate(t, st, r)
	if err := st.DB().Exec(`UPDATE report_events SET note = 'rewritten' WHERE report_id = ?`, r.ID).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("an UPDATE of report_events: %v, want the trigger's refusal", err)
	}
	if err := st.DB().Exec(`DELETE FROM report_events WHERE report_id = ?`, r.ID).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("a DELETE from report_events: %v, want the trigger's refusal", err)
	}
	evs, err := st.ReportEvents(context.Background(), r.ID)
	if err != nil || len(evs) != 1 || evs[0].Note != "" {
		t.Errorf("events after the attempts: %+v, %v", evs, err)
	}
}

// reportFixtures are eight reports across the city, registered in November
// and December 2026; ids rise with registration as UUIDv7s do. statsNow is
// the clock for overdue. See the table in each test for what they are.
var statsNow = sh(12, 5, 12, 0)

func reportFixtures() []service.Report {
	type spec struct {
		id                          string
		reg, due                    time.Time
		intake, intakeOrg           string
		grid                        string
		holder, dispatcher, handler [2]string // id, path
		status                      service.ReportStatus
		category                    string
		channel                     service.ReportChannel
		creator                     string
		responses, onTime           int
		answeredOnTime, unreachable bool
		satisfaction                int
	}
	none := [2]string{"", ""}
	v1, t1, t2, city := [2]string{"v1", pV1}, [2]string{"t1", pT1}, [2]string{"t2", pT2}, [2]string{"city", pCity}
	dept, dept2 := [2]string{"dept", pDept}, [2]string{"dept2", pDept2}
	specs := []spec{
		{"r01", sh(11, 3, 10, 0), sh(11, 10, 10, 0), pV1, "v1", pG1, v1, none, none, service.ReportRegistered, "environment", service.ReportByGrid, "u1", 0, 0, false, false, 0},
		{"r02", sh(11, 20, 9, 0), sh(12, 20, 9, 0), pCity, "city", "", dept, city, none, service.ReportDispatched, "traffic", service.ReportByHotline, "u2", 0, 0, false, false, 0},
		{"r03", sh(11, 25, 9, 0), sh(12, 1, 9, 0), pV1, "v1", pG1, dept, t1, dept, service.ReportHandling, "facility", service.ReportByGrid, "u1", 1, 1, false, false, 0},
		{"r04", sh(12, 1, 0, 0), sh(12, 4, 0, 0), pT2, "t2", "", t2, t2, dept2, service.ReportClosed, "environment", service.ReportByApp, "", 1, 1, true, false, 5},
		{"r05", sh(12, 2, 8, 0), sh(12, 3, 8, 0), pT2, "t2", "", t2, t2, dept2, service.ReportClosed, "dispute", service.ReportByWeb, "", 2, 1, false, true, 0},
		{"r06", sh(12, 3, 8, 0), sh(12, 10, 8, 0), pV1, "v1", pG1, t1, t1, t1, service.ReportClosed, "environment", service.ReportByGrid, "u1", 1, 0, true, false, 3},
		{"r07", sh(12, 4, 0, 0), sh(11, 30, 0, 0), pCity, "city", "", city, none, none, service.ReportMerged, "environment", service.ReportByHotline, "u2", 1, 1, false, false, 0},
		{"r08", sh(12, 4, 23, 30), sh(12, 5, 10, 0), pV1, "v1", pG1, t1, t1, t1, service.ReportAnswered, "order", service.ReportByGrid, "u1", 1, 1, false, false, 0},
	}
	out := make([]service.Report, len(specs))
	for i, s := range specs {
		r := baseReport(s.id, s.reg)
		r.DueAt = s.due.UTC()
		r.IntakeOrgID, r.IntakePath = s.intakeOrg, s.intake
		if s.grid != "" {
			r.GridID, r.GridPath = "g1", s.grid
		}
		r.HolderOrgID, r.HolderPath = s.holder[0], s.holder[1]
		r.DispatcherID, r.DispatcherPath = s.dispatcher[0], s.dispatcher[1]
		r.HandlerOrgID, r.HandlerPath = s.handler[0], s.handler[1]
		r.Status, r.Category, r.Channel, r.CreatedBy = s.status, s.category, s.channel, s.creator
		r.Responses, r.ResponsesOnTime, r.AnsweredOnTime, r.Unreachable, r.Satisfaction = s.responses, s.onTime, s.answeredOnTime, s.unreachable, s.satisfaction
		if s.status == service.ReportMerged {
			r.MergedInto = "Mr02"
		}
		out[i] = r
	}
	return out
}

func ids(rs []service.Report) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestReportsFilter(t *testing.T) {
	st := testdb.Open(t)
	ctx := context.Background()
	for _, r := range reportFixtures() {
		mustCreate(t, st, r)
	}
	S := func(ss ...service.ReportStatus) []service.ReportStatus { return ss }
	all := []string{"r08", "r07", "r06", "r05", "r04", "r03", "r02", "r01"}
	for _, c := range []struct {
		name string
		f    service.ReportFilter
		want []string
	}{
		{"everything, newest first", service.ReportFilter{}, all},
		{"under the city", service.ReportFilter{Under: pCity}, all},
		{"under township 1: registered, placed, dispatched or handled there", service.ReportFilter{Under: pT1}, []string{"r08", "r06", "r03", "r01"}},
		{"under the city department: held or handled there", service.ReportFilter{Under: pDept}, []string{"r03", "r02"}},
		{"under township 2 with its department", service.ReportFilter{Under: pT2}, []string{"r05", "r04"}},
		{"under township 2's department: handled there", service.ReportFilter{Under: pDept2}, []string{"r05", "r04"}},
		{"under the grid", service.ReportFilter{Under: pG1}, []string{"r08", "r06", "r03", "r01"}},
		{"under a village with none", service.ReportFilter{Under: "/350182/350182100/350182100002/"}, nil},
		{"held by township 1", service.ReportFilter{Holder: "t1"}, []string{"r08", "r06"}},
		{"held by the city department", service.ReportFilter{Holder: "dept"}, []string{"r03", "r02"}},
		{"registered by u1", service.ReportFilter{Creator: "u1"}, []string{"r08", "r06", "r03", "r01"}},
		{"registered by u2", service.ReportFilter{Creator: "u2"}, []string{"r07", "r02"}},
		{"closed", service.ReportFilter{Status: S(service.ReportClosed)}, []string{"r06", "r05", "r04"}},
		{"registered or dispatched", service.ReportFilter{Status: S(service.ReportRegistered, service.ReportDispatched)}, []string{"r02", "r01"}},
		{"environment", service.ReportFilter{Category: "environment"}, []string{"r07", "r06", "r04", "r01"}},
		{"by hotline", service.ReportFilter{Channel: service.ReportByHotline}, []string{"r07", "r02"}},
		{"registered in [1 Dec, 4 Dec) Shanghai time", service.ReportFilter{From: sh(12, 1, 0, 0), To: sh(12, 4, 0, 0)}, []string{"r06", "r05", "r04"}},
		{"registered from 4 Dec", service.ReportFilter{From: sh(12, 4, 0, 0)}, []string{"r08", "r07"}},
		{"registered before 20 Nov", service.ReportFilter{To: sh(11, 20, 9, 0)}, []string{"r01"}},
		{"overdue: open and past due", service.ReportFilter{Overdue: true, Now: statsNow}, []string{"r08", "r03", "r01"}},
		{"overdue an hour earlier", service.ReportFilter{Overdue: true, Now: sh(12, 5, 9, 0)}, []string{"r03", "r01"}},
		{"under township 1, handling", service.ReportFilter{Under: pT1, Status: S(service.ReportHandling)}, []string{"r03"}},
		{"u1's environment reports in December", service.ReportFilter{Creator: "u1", Category: "environment", From: sh(12, 1, 0, 0)}, []string{"r06"}},
		{"after r05", service.ReportFilter{After: "r05"}, []string{"r04", "r03", "r02", "r01"}},
		{"after r05, two", service.ReportFilter{After: "r05", Limit: 2}, []string{"r04", "r03"}},
		{"under township 1 after r06", service.ReportFilter{Under: pT1, After: "r06"}, []string{"r03", "r01"}},
	} {
		got, err := st.Reports(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if g := ids(got); !slices.Equal(g, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, g, c.want)
		}
	}

	for _, limit := range []int{1, 3, 8, 20} {
		for _, f := range []service.ReportFilter{{}, {Under: pT1}} {
			var seen []string
			f.Limit = limit
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatalf("limit %d: paging does not end", limit)
				}
				page, err := st.Reports(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("limit %d: a page of %d", limit, len(page))
				}
				if len(page) == 0 {
					break
				}
				seen = append(seen, ids(page)...)
				f.After = page[len(page)-1].ID
			}
			want := all
			if f.Under != "" {
				want = []string{"r08", "r06", "r03", "r01"}
			}
			if !slices.Equal(seen, want) {
				t.Errorf("limit %d under %q: the pages walk %v, want %v", limit, f.Under, seen, want)
			}
		}
	}
}

// counts builds ReportCounts from its figures in the struct's order, the
// grades as the five counts.
func counts(accepted, closed, closedOnTime, responses, responsesOnTime, followedUp, unreachable int64, grades [5]int64, gradeSum, overdueOpen int64) service.ReportCounts {
	return service.ReportCounts{Accepted: accepted, Closed: closed, ClosedOnTime: closedOnTime, Responses: responses,
		ResponsesOnTime: responsesOnTime, FollowedUp: followedUp, Unreachable: unreachable, Grades: grades,
		GradeSum: gradeSum, OverdueOpen: overdueOpen}
}

// TestReportStats checks the figures of the fixtures by hand:
//
//	id   registered(SH) status      category    channel  grid  intake handler resp/on time  answered on time  sat  unreachable  due
//	r01  11-03          registered  environment grid     g1    V1     -       0/0           -                 -    -            11-10 (overdue)
//	r02  11-20          dispatched  traffic     hotline  -     city   -       0/0           -                 -    -            12-20
//	r03  11-25          handling    facility    grid     g1    V1     dept    1/1           -                 -    -            12-01 (overdue)
//	r04  12-01 00:00    closed      environment app      -     T2     dept2   1/1           yes               5    -
//	r05  12-02          closed      dispute     web      -     T2     dept2   2/1           no                -    yes
//	r06  12-03          closed      environment grid     g1    V1     t1      1/0           yes               3    -
//	r07  12-04          merged      environment hotline  -     city   -       1/1           (never counted)
//	r08  12-04 23:30    answered    order       grid     g1    V1     t1      1/1           -                 -    -            12-05 10:00 (overdue at 12:00)
//
// r04 was registered on 30 November in UTC: its month is Shanghai's December.
func TestReportStats(t *testing.T) {
	st := testdb.Open(t)
	ctx := context.Background()
	for _, r := range reportFixtures() {
		mustCreate(t, st, r)
	}
	var g0 [5]int64
	g3, g5, g35 := [5]int64{0, 0, 1, 0, 0}, [5]int64{0, 0, 0, 0, 1}, [5]int64{0, 0, 1, 0, 1}
	row := func(key string, c service.ReportCounts) service.ReportStatsRow {
		return service.ReportStatsRow{Key: key, ReportCounts: c}
	}
	from, to := sh(11, 1, 0, 0), sh(12, 5, 0, 0)
	for _, c := range []struct {
		name string
		q    service.ReportStatsQuery
		want []service.ReportStatsRow
	}{
		{"the city", service.ReportStatsQuery{Under: pCity, From: from, To: to, Now: statsNow},
			[]service.ReportStatsRow{row("", counts(7, 3, 2, 6, 4, 2, 1, g35, 8, 3))}},
		{"township 1, by where registered", service.ReportStatsQuery{Under: pT1, From: from, To: to, Now: statsNow},
			[]service.ReportStatsRow{row("", counts(4, 1, 1, 3, 2, 1, 0, g3, 3, 3))}},
		{"the city in [1 Dec, 4 Dec)", service.ReportStatsQuery{Under: pCity, From: sh(12, 1, 0, 0), To: sh(12, 4, 0, 0), Now: statsNow},
			[]service.ReportStatsRow{row("", counts(3, 3, 2, 4, 2, 2, 1, g35, 8, 0))}},
		{"nothing registered: one row of zeros", service.ReportStatsQuery{Under: pT1, From: sh(1, 1, 0, 0).AddDate(-1, 0, 0), To: sh(1, 1, 0, 0), Now: statsNow},
			[]service.ReportStatsRow{row("", counts(0, 0, 0, 0, 0, 0, 0, g0, 0, 0))}},
		{"by category", service.ReportStatsQuery{Under: pCity, From: from, To: to, Now: statsNow, GroupBy: service.ReportGroupCategory},
			[]service.ReportStatsRow{
				row("dispute", counts(1, 1, 0, 2, 1, 0, 1, g0, 0, 0)),
				row("environment", counts(3, 2, 2, 2, 1, 2, 0, g35, 8, 1)),
				row("facility", counts(1, 0, 0, 1, 1, 0, 0, g0, 0, 1)),
				row("order", counts(1, 0, 0, 1, 1, 0, 0, g0, 0, 1)),
				row("traffic", counts(1, 0, 0, 0, 0, 0, 0, g0, 0, 0)),
			}},
		{"by channel", service.ReportStatsQuery{Under: pCity, From: from, To: to, Now: statsNow, GroupBy: service.ReportGroupChannel},
			[]service.ReportStatsRow{
				row("app", counts(1, 1, 1, 1, 1, 1, 0, g5, 5, 0)),
				row("grid", counts(4, 1, 1, 3, 2, 1, 0, g3, 3, 3)),
				row("hotline", counts(1, 0, 0, 0, 0, 0, 0, g0, 0, 0)),
				row("web", counts(1, 1, 0, 2, 1, 0, 1, g0, 0, 0)),
			}},
		{"by grid", service.ReportStatsQuery{Under: pCity, From: from, To: to, Now: statsNow, GroupBy: service.ReportGroupGrid},
			[]service.ReportStatsRow{
				row("", counts(3, 2, 1, 3, 2, 1, 1, g5, 5, 0)),
				row("g1", counts(4, 1, 1, 3, 2, 1, 0, g3, 3, 3)),
			}},
		{"by month, in Shanghai", service.ReportStatsQuery{Under: pCity, From: from, To: to, Now: statsNow, GroupBy: service.ReportGroupMonth},
			[]service.ReportStatsRow{
				row("2026-11", counts(3, 0, 0, 1, 1, 0, 0, g0, 0, 2)),
				row("2026-12", counts(4, 3, 2, 5, 3, 2, 1, g35, 8, 1)),
			}},
		{"by organisation signed for, in the city", service.ReportStatsQuery{Under: pCity, From: from, To: to, Now: statsNow, GroupBy: service.ReportGroupOrg},
			[]service.ReportStatsRow{
				row("dept", counts(1, 0, 0, 1, 1, 0, 0, g0, 0, 1)),
				row("dept2", counts(2, 2, 1, 3, 2, 1, 1, g5, 5, 0)),
				row("t1", counts(2, 1, 1, 2, 1, 1, 0, g3, 3, 1)),
			}},
		// r03 was registered in township 1 but handled by the city's
		// department: by organisation it counts there, not here.
		{"by organisation signed for, in township 1", service.ReportStatsQuery{Under: pT1, From: from, To: to, Now: statsNow, GroupBy: service.ReportGroupOrg},
			[]service.ReportStatsRow{row("t1", counts(2, 1, 1, 2, 1, 1, 0, g3, 3, 1))}},
		{"by organisation signed for, in township 2", service.ReportStatsQuery{Under: pT2, From: from, To: to, Now: statsNow, GroupBy: service.ReportGroupOrg},
			[]service.ReportStatsRow{row("dept2", counts(2, 2, 1, 3, 2, 1, 1, g5, 5, 0))}},
		{"by organisation, unscoped: never signed for is \"\"", service.ReportStatsQuery{From: from, To: to, Now: statsNow, GroupBy: service.ReportGroupOrg},
			[]service.ReportStatsRow{
				row("", counts(2, 0, 0, 0, 0, 0, 0, g0, 0, 1)),
				row("dept", counts(1, 0, 0, 1, 1, 0, 0, g0, 0, 1)),
				row("dept2", counts(2, 2, 1, 3, 2, 1, 1, g5, 5, 0)),
				row("t1", counts(2, 1, 1, 2, 1, 1, 0, g3, 3, 1)),
			}},
		{"grouped, nothing registered: no rows", service.ReportStatsQuery{Under: pCity, From: to, To: to.AddDate(0, 1, 0), Now: statsNow, GroupBy: service.ReportGroupCategory},
			nil},
	} {
		got, err := st.ReportStats(ctx, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
	if _, err := st.ReportStats(ctx, service.ReportStatsQuery{Under: pCity, GroupBy: "agent"}); err == nil {
		t.Error("an unknown grouping was accepted")
	}
}

// TestReportsMigration upgrades a database of the version before reports,
// where PostgreSQL still refuses a grid's 15-digit code, rolls back and
// migrates again. On PostgreSQL the rollback narrows orgs.code back, which
// fails while a longer code is stored.
func TestReportsMigration(t *testing.T) {
	ctx := context.Background()
	st := openAt(t, "202612050020_notifications")
	db := st.DB()
	now := time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)
	insertGrid := func() error {
		return db.Exec(`INSERT INTO orgs (id, code, name, level, path, created_at) VALUES ('g1', '350182100001001', '第一网格', 'grid', ?, ?)`, pG1, now).Error
	}
	if st.Postgres() {
		if err := insertGrid(); err == nil {
			t.Fatal("a 15-digit code fits orgs.code before the migration")
		}
	}
	const reports = "202612060001_reports"
	if err := st.MigrateTo(ctx, reports); err != nil {
		t.Fatal(err)
	}
	if err := insertGrid(); err != nil {
		t.Fatalf("a grid's code after the migration: %v", err)
	}
	r := baseReport("r1", now)
	r.GridID, r.GridPath = "g1", pG1
	ev := registration(r)
	if err := st.CreateReport(ctx, r, ev, []service.ReportPhoto{{N: 1, ContentType: "image/jpeg", Data: []byte{1, 2}}}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Report(ctx, r.ID); err != nil || got.GridName != "第一网格" {
		t.Fatalf("the report reads back as %+v, %v", got, err)
	}
	if st.Postgres() {
		if err := st.RollbackLast(ctx); err == nil {
			t.Fatal("the rollback narrowed orgs.code under a 15-digit code")
		}
		if !db.Migrator().HasTable("reports") {
			t.Fatal("the failed rollback dropped the reports")
		}
		if err := db.Exec(`DELETE FROM orgs WHERE id = 'g1'`).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RollbackLast(ctx); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"reports", "report_events", "report_photos"} {
		if db.Migrator().HasTable(table) {
			t.Errorf("%s is still there after the rollback", table)
		}
	}
	if st.Postgres() {
		var n int
		db.Raw(`SELECT character_maximum_length FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'orgs' AND column_name = 'code'`).Scan(&n)
		if n != 12 {
			t.Errorf("orgs.code is varchar(%d) after the rollback, want 12", n)
		}
		var fns int
		db.Raw(`SELECT COUNT(*) FROM pg_proc WHERE proname = 'report_events_append_only' AND pronamespace = current_schema()::regnamespace`).Scan(&fns)
		if fns != 0 {
			t.Error("the append-only function is still there after the rollback")
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if err := st.CreateReport(ctx, r, ev, nil, nil); err != nil {
		t.Fatalf("a report after migrating again: %v", err)
	}
}
