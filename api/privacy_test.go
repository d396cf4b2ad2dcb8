package api_test

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"

	"daiban/internal/apitest"
	"daiban/internal/testdb"
	"daiban/service"
)

// Two residents' ID numbers, both valid; the second differs from the first
// in one digit of the sequence and in the check character.
const (
	idA = apitest.ValidID      // 11010519491231002X
	idB = "110105194912310038" // same birth date, another person
)

// TestIDNumbersEncryptedAtRest registers errands and takes them through a
// delivery with a lost receipt (the ID is typed again there), then reads
// every row of every table as the database holds it: no ID number appears,
// neither whole nor as its first 17 digits, nor in lower case; on SQLite the
// database and WAL files are searched byte by byte too.
func TestIDNumbersEncryptedAtRest(t *testing.T) {
	dsn := testdb.DSN(t)
	env := apitest.New(t, apitest.Options{DSN: dsn})
	agent, tw := env.Login("ag1a"), env.Login("tw1")
	reg := apitest.Registration(env.F.ItemTownship)
	reg["applicant"].(map[string]any)["id_number"] = strings.ToLower(idA) // typed with a small x
	r := env.Do(apitest.Req{Method: http.MethodPost, Path: "/api/v1/errands", Token: agent, Body: reg, Header: map[string]string{"Idempotency-Key": "reg-a"}})
	apitest.Expect(t, r, http.StatusCreated)
	var e errand
	r.JSON(t, &e)
	if e.Applicant.IDNumber != idA {
		t.Fatalf("the agent reads the ID as %q", e.Applicant.IDNumber)
	}
	e = step(t, env, agent, e, "forward", nil)
	e = step(t, env, tw, e, "accept", nil)
	e = step(t, env, tw, e, "complete", map[string]any{"outcome": "approved"})
	step(t, env, agent, e, "deliver", map[string]any{"receipt_recovered": false, "id_number": idA})
	reg["applicant"].(map[string]any)["id_number"] = idB
	apitest.Expect(t, env.Post("/api/v1/errands", agent, reg), http.StatusCreated)

	tables := tableNames(t, env)
	forbidden := []string{idA, idA[:17], strings.ToLower(idA), idB, idB[:17]}
	// The phone is kept in the clear: seeing it proves the search reads the data.
	const control = "13912345678"
	cells, controlSeen := 0, 0
	eachText(t, env, tables, func(table, column string, text []byte) bool {
		cells++
		for _, f := range forbidden {
			if bytes.Contains(text, []byte(f)) {
				t.Errorf("%s.%s holds %q in the clear", table, column, f)
			}
		}
		if bytes.Contains(text, []byte(control)) {
			controlSeen++
		}
		return true
	})
	if controlSeen == 0 {
		t.Fatalf("the rows were read but the phone number was not seen in them: the search proves nothing")
	}
	var sealed struct {
		ApplicantIDEnc   []byte
		ApplicantIDIndex []byte
	}
	env.Store.DB().Table("errands").Select("applicant_id_enc, applicant_id_index").Where("id = ?", e.ID).Scan(&sealed)
	if len(sealed.ApplicantIDEnc) < 12+18+16 || len(sealed.ApplicantIDIndex) != 16 {
		t.Errorf("the sealed ID has %d bytes and its index %d; want nonce+18+tag and 16", len(sealed.ApplicantIDEnc), len(sealed.ApplicantIDIndex))
	}
	files := 0
	var all []byte
	if !testdb.IsPostgres(dsn) {
		for _, path := range []string{dsn, dsn + "-wal"} {
			raw, err := os.ReadFile(path)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			files++
			all = append(all, raw...)
			for _, f := range forbidden {
				if bytes.Contains(raw, []byte(f)) {
					t.Errorf("the file %s holds %q in the clear", path, f)
				}
			}
		}
	}
	if files > 0 && !bytes.Contains(all, []byte(control)) {
		t.Errorf("the database files do not hold the phone number: the file search proves nothing")
	}
	t.Logf("%s: %d text cells in %d tables and %d database files hold no ID number in the clear", testdb.Engine(), cells, len(tables), files)
}

// TestIDNumberSearchUsesBlindIndex: exact search by ID number finds the
// resident's errands through the keyed index, however the ID is typed, and
// nothing for another resident or a malformed number.
func TestIDNumberSearchUsesBlindIndex(t *testing.T) {
	env := apitest.New(t)
	agent, tw, other := env.Login("ag1a"), env.Login("tw1"), env.Login("tw2")
	reg := apitest.Registration(env.F.ItemTownship)
	var want []string
	for i, id := range []string{idA, idB, idA} {
		reg["applicant"].(map[string]any)["id_number"] = id
		reg["note"] = string(rune('a' + i))
		var e errand
		r := env.Post("/api/v1/errands", agent, reg)
		apitest.Expect(t, r, http.StatusCreated)
		r.JSON(t, &e)
		if id == idA {
			want = append(want, e.ID)
		}
	}
	search := func(token, id string) []string {
		t.Helper()
		var page struct {
			Items []errand `json:"items"`
		}
		env.Get("/api/v1/errands?id_number="+id, token).JSON(t, &page)
		var ids []string
		for _, e := range page.Items {
			ids = append(ids, e.ID)
			if e.Applicant.IDNumber != service.MaskIDNumber(idA) {
				t.Errorf("search by %s found an errand of %s", id, e.Applicant.IDNumber)
			}
		}
		return ids
	}
	for _, typed := range []string{idA, strings.ToLower(idA), " " + idA + " "} {
		got := search(tw, strings.ReplaceAll(typed, " ", "%20"))
		if len(got) != 2 || !contains(got, want[0]) || !contains(got, want[1]) {
			t.Errorf("search by %q found %v, want %v", typed, got, want)
		}
	}
	if got := search(other, idA); len(got) != 0 {
		t.Errorf("another township's officer found %v", got)
	}
	apitest.Expect(t, env.Do(apitest.Req{Method: http.MethodGet, Path: "/api/v1/errands?id_number=110105194912310020", Token: tw, Raw: true}), http.StatusBadRequest)
	var index [][]byte
	env.Store.DB().Table("errands").Order("id").Pluck("applicant_id_index", &index)
	if len(index) != 3 || !bytes.Equal(index[0], index[2]) || bytes.Equal(index[0], index[1]) {
		t.Errorf("the blind index is not one value per ID number: %x", index)
	}
}

// TestIDNumbersMaskedByRole: an errand's detail shows the ID number and
// phone to those who handle it (the intake agent, the officers) and masks
// them for the supervisor and the admin; every list masks them for everyone.
func TestIDNumbersMaskedByRole(t *testing.T) {
	env := apitest.New(t)
	e := register(t, env, env.Login("ag1a"), env.F.ItemTownship)
	maskedID, maskedPhone := service.MaskIDNumber(idA), service.MaskPhone("13912345678")
	for _, c := range []struct {
		user string
		full bool
	}{{"ag1a", true}, {"ag1a2", true}, {"tw1", true}, {"city", true}, {"super", false}, {"admin", false}} {
		token := env.Login(c.user)
		var d errand
		env.Get("/api/v1/errands/"+e.ID, token).JSON(t, &d)
		wantID, wantPhone := maskedID, maskedPhone
		if c.full {
			wantID, wantPhone = idA, "13912345678"
		}
		if d.Applicant.IDNumber != wantID || d.Applicant.Phone != wantPhone {
			t.Errorf("%s reads the detail as %s / %s, want %s / %s", c.user, d.Applicant.IDNumber, d.Applicant.Phone, wantID, wantPhone)
		}
		r := env.Get("/api/v1/errands", token)
		if strings.Contains(string(r.Body), idA) || strings.Contains(string(r.Body), "13912345678") || !strings.Contains(string(r.Body), maskedID) {
			t.Errorf("%s's list does not mask the applicant: %.300s", c.user, r.Body)
		}
	}
}
