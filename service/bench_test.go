package service_test

// Benchmarks of the hot service paths, for benchstat:
//
//	go test -run '^$' -bench . -count 10 ./service > new.txt
//	benchstat old.txt new.txt
//
// The pure ones need no database. The store-backed ones (Stats, Register,
// LookupReceipt) share one SQLite file per run filled by demo.Load with a
// fixed seed and clock, so runs compare like with like; their figures
// include the disk and swing with it. Nothing here asserts a speed.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"daiban/demo"
	"daiban/internal/testdb"
	"daiban/service"
	"daiban/store"
)

// benchNow is the fixed clock of the store-backed benchmarks.
var benchNow = time.Date(2026, 6, 30, 10, 0, 0, 0, service.Shanghai)

// benchErrands is the demo history the statistics run over.
const benchErrands = 10000

var sink any

func BenchmarkFormatReceiptNo(b *testing.B) {
	b.ReportAllocs()
	seq := int64(1)
	for b.Loop() {
		sink = service.FormatReceiptNo(benchNow, seq)
		seq += 7919
	}
}

func BenchmarkParseReceiptNo(b *testing.B) {
	for _, tc := range []struct{ name, in string }{
		{"clean", service.FormatReceiptNo(benchNow, 123456)},
		{"typed", "26-0003r i0" + service.FormatReceiptNo(benchNow, 123456)[9:]}, // lower case, spaces, hyphens, look-alikes
		{"wrong", "2600000009"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink, _ = service.ParseReceiptNo(tc.in)
			}
		})
	}
}

func BenchmarkNewVerifyCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink = service.NewVerifyCode()
	}
}

func BenchmarkCheckIDNumber(b *testing.B) {
	today := benchNow
	for _, tc := range []struct{ name, id string }{
		{"valid", "11010519491231002X"},
		{"bad-check", "110105194912310021"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = service.CheckIDNumber(tc.id, today)
			}
		})
	}
}

func BenchmarkDueAt(b *testing.B) {
	cal := service.NewCalendar(service.ShippedCalendars())
	// Registered on a Friday before a holiday, so the count crosses one.
	start := time.Date(2026, 9, 25, 15, 0, 0, 0, service.Shanghai)
	for _, days := range []int{1, 5, 20, 60} {
		b.Run(fmt.Sprintf("days=%d", days), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = cal.DueAt(start, days)
			}
		})
	}
}

func BenchmarkWorkingDaysBetween(b *testing.B) {
	cal := service.NewCalendar(service.ShippedCalendars())
	a, z := service.MakeDate(2026, 1, 5), service.MakeDate(2026, 3, 31)
	b.ReportAllocs()
	for b.Loop() {
		sink = cal.WorkingDaysBetween(a, z)
	}
}

// BenchmarkApply is the transition check and step of the lifecycle table.
func BenchmarkApply(b *testing.B) {
	cal := service.NewCalendar(service.ShippedCalendars())
	reg := time.Date(2026, 6, 22, 9, 0, 0, 0, service.Shanghai)
	e := service.Errand{
		ID: "e1", ItemLevel: service.LevelTownship, IntakeOrgID: "village", HolderOrgID: "township",
		HolderLevel: service.LevelTownship, Status: service.StatusForwarded, RegisteredAt: reg,
		DueAt: cal.DueAt(reg, 10), Version: 3,
	}
	officer := service.Actor{UserID: "u1", Role: service.RoleTownshipOfficer, OrgID: "township", OrgLevel: service.LevelTownship}
	agent := service.Actor{UserID: "u2", Role: service.RoleAgent, OrgID: "village", OrgLevel: service.LevelVillage}
	processing := e
	processing.Status = service.StatusProcessing
	completed := processing
	completed.Status, completed.HolderOrgID, completed.HolderLevel = service.StatusCompleted, "village", service.LevelVillage
	yes := true
	sc := service.StepContext{Now: benchNow, Calendar: cal}
	for _, tc := range []struct {
		name    string
		e       service.Errand
		a       service.Actor
		act     service.Action
		in      service.StepInput
		wantErr bool
	}{
		{"accept", e, officer, service.ActionAccept, service.StepInput{}, false},
		{"complete", processing, officer, service.ActionComplete, service.StepInput{Outcome: service.OutcomeApproved}, false},
		{"deliver", completed, agent, service.ActionDeliver, service.StepInput{ReceiptRecovered: &yes, Satisfaction: 5}, false},
		{"refused-invalid-transition", completed, officer, service.ActionAccept, service.StepInput{}, true},
		{"refused-wrong-role", e, agent, service.ActionAccept, service.StepInput{}, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if _, _, err := service.Apply(tc.e, tc.a, tc.act, tc.in, sc); (err != nil) != tc.wantErr {
				b.Fatalf("Apply: err = %v, want an error: %v", err, tc.wantErr)
			}
			b.ReportAllocs()
			for b.Loop() {
				sink, _, _ = service.Apply(tc.e, tc.a, tc.act, tc.in, sc)
			}
		})
	}
}

func BenchmarkFiguresOf(b *testing.B) {
	c := service.Counts{Accepted: 75620, Completed: 74077, Refused: 812, OnTime: 73950, WorkingDays: 301234,
		Delivered: 73800, Recovered: 73500, Grades: [6]int64{0, 12, 40, 900, 20000, 50000}, OverdueOpen: 31}
	b.ReportAllocs()
	for b.Loop() {
		sink = service.FiguresOf(c)
	}
}

// fixture is one demo deployment on a SQLite file, shared by every
// store-backed benchmark of the run.
type fixture struct {
	st       *store.Store
	svc      *service.Service
	d        demo.Deployment
	super    service.Actor
	receipts [][2]string // receipt number, code
}

var (
	fixtures   = map[int]*fixture{}
	fixturesMu sync.Mutex
	fixtureDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	fixturesMu.Lock()
	for _, f := range fixtures {
		f.st.Close()
	}
	fixturesMu.Unlock()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// demoFixture returns the deployment with n generated errands, made once.
func demoFixture(b *testing.B, n int) *fixture {
	b.Helper()
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f, ok := fixtures[n]; ok {
		return f
	}
	if testdb.PostgresURL() != "" {
		b.Skip("the shared benchmark fixture is SQLite only")
	}
	var err error
	if fixtureDir == "" {
		if fixtureDir, err = os.MkdirTemp("", "daiban-bench-"); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(fixtureDir, fmt.Sprintf("demo-%d.db", n)), store.Options{SecretKey: testdb.SecretKey})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	_, d, err := demo.Load(ctx, st, demo.Options{Errands: n, Seed: 1, Now: benchNow, PasswordCost: bcrypt.MinCost})
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{st: st, d: d, svc: service.New(st.Stores(), service.Options{Now: func() time.Time { return benchNow }, PasswordCost: bcrypt.MinCost})}
	for _, u := range d.Users {
		if u.Role == service.RoleSupervisor {
			f.super = service.Actor{UserID: u.ID, Username: u.Username, Role: u.Role, OrgID: d.City.ID, OrgPath: d.City.Path, OrgLevel: d.City.Level, OrgName: d.City.Name}
		}
	}
	if n > 0 {
		rows, err := st.DB().Raw("SELECT receipt_no, verify_code FROM errands ORDER BY receipt_no LIMIT 1000").Rows()
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var r [2]string
			if err := rows.Scan(&r[0], &r[1]); err != nil {
				b.Fatal(err)
			}
			f.receipts = append(f.receipts, r)
		}
		rows.Close()
		if len(f.receipts) == 0 {
			b.Fatal("the demo wrote no errand")
		}
	}
	fixtures[n] = f
	return f
}

// BenchmarkStats is the completion statistics of two years for the whole
// city, through the rollups (Stats) and straight from the errands
// (StatsDirect, the reference), per grouping.
func BenchmarkStats(b *testing.B) {
	f := demoFixture(b, benchErrands)
	ctx := context.Background()
	req := service.StatsRequest{From: (service.DateOf(benchNow) - 730).String(), To: service.DateOf(benchNow).String()}
	for _, path := range []struct {
		name string
		fn   func(context.Context, service.Actor, service.StatsRequest) (service.StatsReport, error)
	}{{"rollup", f.svc.Stats}, {"direct", testdb.Reference(f.st, func() time.Time { return benchNow }).Stats}} {
		for _, g := range []string{"none", "township", "village", "category", "item", "agent", "month"} {
			r := req
			if g != "none" {
				r.GroupBy = g
			}
			b.Run(path.name+"/group="+g, func(b *testing.B) {
				rep, err := path.fn(ctx, f.super, r)
				if err != nil {
					b.Fatal(err)
				}
				if rep.Totals.Accepted == 0 {
					b.Fatal("the statistics counted nothing")
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := path.fn(ctx, f.super, r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkLookupReceipt is the public status query with the right code.
func BenchmarkLookupReceipt(b *testing.B) {
	f := demoFixture(b, benchErrands)
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		r := f.receipts[i%len(f.receipts)]
		i++
		if _, err := f.svc.LookupReceipt(ctx, r[0], r[1], "192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegister is a registration through the service and the store:
// serial (one durable commit each) and parallel (the group commit shares
// commits between concurrent registrations). Its figure is mostly the disk.
func BenchmarkRegister(b *testing.B) {
	f := demoFixture(b, 0)
	ctx := context.Background()
	var agents []service.Actor
	orgs := map[string]service.Org{}
	for _, v := range f.d.Villages {
		orgs[v.ID] = v
	}
	for _, u := range f.d.Agents {
		o := orgs[u.OrgID]
		agents = append(agents, service.Actor{UserID: u.ID, Username: u.Username, Name: u.DisplayName, Phone: u.Phone,
			Role: u.Role, OrgID: o.ID, OrgPath: o.Path, OrgLevel: o.Level, OrgName: o.Name})
	}
	item := f.d.Items[0]
	var worker atomic.Uint64
	input := func(r *rand.Rand) service.RegisterInput {
		day := 1 + r.IntN(28)
		id := fmt.Sprintf("35018219%02d01%02d%03d", 50+r.IntN(50), day, r.IntN(1000))
		return service.RegisterInput{ItemCode: item.Code, Materials: item.Materials, Channel: service.Channels[0],
			Applicant: service.Applicant{Name: "陈秀丽", IDNumber: id + checkChar(id), Phone: "13800000000", Address: "1号"}}
	}
	b.Run("serial", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 1))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := f.svc.Register(ctx, agents[r.IntN(len(agents))], input(r), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16) // 16 × GOMAXPROCS concurrent registrations
		b.RunParallel(func(pb *testing.PB) {
			w := worker.Add(1)
			r := rand.New(rand.NewPCG(2, w))
			a := agents[int(w)%len(agents)]
			for pb.Next() {
				if _, _, err := f.svc.Register(ctx, a, input(r), nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

func checkChar(first17 string) string {
	sum := 0
	for i := range 17 {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return string("10X98765432"[sum%11])
}
