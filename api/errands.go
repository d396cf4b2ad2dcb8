package api

import (
	"daiban/report"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"daiban/service"
)

type applicantRequest struct {
	Name     string `json:"name" validate:"required,max=40"`
	IDNumber string `json:"id_number" validate:"required,max=18"`
	Phone    string `json:"phone" validate:"required,max=20"`
	Address  string `json:"address" validate:"max=120"`
}

type registerRequest struct {
	ItemCode  string           `json:"item_code" validate:"required,max=20"`
	Applicant applicantRequest `json:"applicant" validate:"required"`
	Materials []string         `json:"materials" validate:"max=30,dive,max=60"`
	Channel   string           `json:"channel" validate:"required,oneof=walk_in home_visit phone app web"`
	Note      string           `json:"note" validate:"max=500"`
	NoSMS     bool             `json:"no_sms"`
}

func (s *Server) register(c echo.Context) error {
	var req registerRequest
	b, err := bindJSON(c, &req)
	if err != nil {
		return err
	}
	a := actor(c)
	idem, err := service.NewIdemKey(a, c.Request().Header.Get("Idempotency-Key"), b.hash(c))
	if err != nil {
		return err
	}
	e, replayed, err := s.svc.Register(c.Request().Context(), a, service.RegisterInput{
		ItemCode: req.ItemCode, Materials: req.Materials, Channel: service.Channel(req.Channel), Note: req.Note, NoSMS: req.NoSMS,
		Applicant: service.Applicant{Name: req.Applicant.Name, IDNumber: req.Applicant.IDNumber, Phone: req.Applicant.Phone, Address: req.Applicant.Address},
	}, idem)
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/errands/"+e.ID)
	return s.errandResponse(c, http.StatusCreated, e)
}

func (s *Server) errandResponse(c echo.Context, status int, e service.Errand) error {
	c.Response().Header().Set("ETag", strconv.Quote(strconv.Itoa(e.Version)))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, toErrandJSON(e, actor(c), s.svc.Now(), true))
}

func (s *Server) getErrand(c echo.Context) error {
	e, err := s.svc.Errand(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return s.errandResponse(c, http.StatusOK, e)
}

func (s *Server) errandEvents(c echo.Context) error {
	evs, err := s.svc.Events(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	out := make([]eventJSON, len(evs))
	for i, ev := range evs {
		out[i] = toEventJSON(ev)
	}
	return c.JSON(http.StatusOK, newPage(out, ""))
}

func errandQuery(c echo.Context) (service.ErrandQuery, error) {
	limit, err := limitParam(c)
	if err != nil {
		return service.ErrandQuery{}, err
	}
	q := service.ErrandQuery{
		OrgID: c.QueryParam("org_id"), HolderOrgID: c.QueryParam("holder_org_id"), ItemCode: c.QueryParam("item"),
		From: c.QueryParam("from"), To: c.QueryParam("to"), IDNumber: c.QueryParam("id_number"),
		ReceiptNo: c.QueryParam("receipt_no"), Name: c.QueryParam("name"), Phone: c.QueryParam("phone"),
		Cursor: c.QueryParam("cursor"), Limit: limit,
	}
	for _, v := range c.QueryParams()["status"] {
		for _, st := range strings.Split(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				q.Statuses = append(q.Statuses, service.Status(st))
			}
		}
	}
	switch c.QueryParam("overdue") {
	case "", "false":
	case "true":
		q.Overdue = true
	default:
		return q, service.BadParam("overdue", "not_a_boolean")
	}
	return q, nil
}

func (s *Server) listErrands(c echo.Context) error {
	q, err := errandQuery(c)
	if err != nil {
		return err
	}
	a := actor(c)
	list, next, err := s.svc.Errands(c.Request().Context(), a, q)
	if err != nil {
		return err
	}
	now := s.svc.Now()
	out := make([]errandJSON, len(list))
	for i, e := range list {
		out[i] = toErrandJSON(e, a, now, false)
	}
	return c.JSON(http.StatusOK, newPage(out, next))
}

type warningJSON struct {
	Level       string     `json:"level"`
	DaysOverdue int        `json:"days_overdue"`
	Errand      errandJSON `json:"errand"`
}

func (s *Server) warnings(c echo.Context) error {
	q, err := errandQuery(c)
	if err != nil {
		return err
	}
	a := actor(c)
	format, err := formatParam(c)
	if err != nil {
		return err
	}
	if format != "json" {
		all, err := s.svc.AllWarnings(c.Request().Context(), a, q)
		if err != nil {
			return err
		}
		return report.Warnings(c.Response(), format, s.svc.Now(), all)
	}
	list, next, err := s.svc.Warnings(c.Request().Context(), a, q)
	if err != nil {
		return err
	}
	now := s.svc.Now()
	out := make([]warningJSON, len(list))
	for i, w := range list {
		out[i] = warningJSON{Level: w.Level, DaysOverdue: w.DaysOverdue, Errand: toErrandJSON(w.Errand, a, now, false)}
	}
	return c.JSON(http.StatusOK, newPage(out, next))
}

// stepRequest is the body of one transition.
type stepRequest interface {
	step() (version int, in service.StepInput, err error)
}

type plainStep struct {
	Version int    `json:"version" validate:"gte=0"`
	Note    string `json:"note" validate:"max=500"`
}

func (r *plainStep) step() (int, service.StepInput, error) {
	return r.Version, service.StepInput{Note: r.Note}, nil
}

type correctStep struct {
	Version   int `json:"version" validate:"gte=0"`
	Applicant *struct {
		Name    string `json:"name" validate:"max=40"`
		Phone   string `json:"phone" validate:"max=20"`
		Address string `json:"address" validate:"max=120"`
	} `json:"applicant" validate:"required"`
	Reason string `json:"reason" validate:"required,max=500"`
	Note   string `json:"note" validate:"max=500"`
}

func (r *correctStep) step() (int, service.StepInput, error) {
	app := service.Applicant{Name: r.Applicant.Name, Phone: r.Applicant.Phone, Address: r.Applicant.Address}
	return r.Version, service.StepInput{Note: r.Note, Reason: r.Reason, Applicant: &app}, nil
}

type returnStep struct {
	Version          int      `json:"version" validate:"gte=0"`
	MissingMaterials []string `json:"missing_materials" validate:"required,min=1,max=30,dive,max=60"`
	Reason           string   `json:"reason" validate:"max=500"`
	Note             string   `json:"note" validate:"max=500"`
}

func (r *returnStep) step() (int, service.StepInput, error) {
	return r.Version, service.StepInput{Note: r.Note, MissingMaterials: r.MissingMaterials, Reason: r.Reason}, nil
}

type completeStep struct {
	Version int    `json:"version" validate:"gte=0"`
	Outcome string `json:"outcome" validate:"required,oneof=approved refused"`
	Reason  string `json:"reason" validate:"max=500"`
	Note    string `json:"note" validate:"max=500"`
}

func (r *completeStep) step() (int, service.StepInput, error) {
	return r.Version, service.StepInput{Note: r.Note, Outcome: service.Outcome(r.Outcome), Reason: r.Reason}, nil
}

type deliverStep struct {
	Version          int    `json:"version" validate:"gte=0"`
	ReceiptRecovered *bool  `json:"receipt_recovered" validate:"required"`
	IDNumber         string `json:"id_number" validate:"max=18"`
	Satisfaction     int    `json:"satisfaction" validate:"gte=0,lte=5"`
	Note             string `json:"note" validate:"max=500"`
}

func (r *deliverStep) step() (int, service.StepInput, error) {
	return r.Version, service.StepInput{Note: r.Note, ReceiptRecovered: r.ReceiptRecovered, IDNumber: r.IDNumber, Satisfaction: r.Satisfaction}, nil
}

type withdrawStep struct {
	Version int    `json:"version" validate:"gte=0"`
	Reason  string `json:"reason" validate:"required,max=500"`
	Note    string `json:"note" validate:"max=500"`
}

func (r *withdrawStep) step() (int, service.StepInput, error) {
	return r.Version, service.StepInput{Note: r.Note, Reason: r.Reason}, nil
}

type extendStep struct {
	Version int    `json:"version" validate:"gte=0"`
	DueDate string `json:"due_date" validate:"required,len=10"`
	Reason  string `json:"reason" validate:"required,max=500"`
	Note    string `json:"note" validate:"max=500"`
}

func (r *extendStep) step() (int, service.StepInput, error) {
	d, err := service.ParseDate(r.DueDate)
	if err != nil {
		return 0, service.StepInput{}, service.InvalidField("due_date", "not_a_date")
	}
	return r.Version, service.StepInput{Note: r.Note, Reason: r.Reason, DueDate: d}, nil
}

func newStepRequest(act service.Action) stepRequest {
	switch act {
	case service.ActionReturn:
		return &returnStep{}
	case service.ActionComplete:
		return &completeStep{}
	case service.ActionDeliver:
		return &deliverStep{}
	case service.ActionWithdraw:
		return &withdrawStep{}
	case service.ActionExtend:
		return &extendStep{}
	case service.ActionCorrect:
		return &correctStep{}
	}
	return &plainStep{}
}

// transition handles POST /errands/{id}/{action}.
func (s *Server) transition(act service.Action) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := newStepRequest(act)
		b, err := bindJSON(c, req)
		if err != nil {
			return err
		}
		version, in, err := req.step()
		if err != nil {
			return err
		}
		if version, err = withIfMatch(c, version); err != nil {
			return err
		}
		a := actor(c)
		idem, err := service.NewIdemKey(a, c.Request().Header.Get("Idempotency-Key"), b.hash(c))
		if err != nil {
			return err
		}
		e, replayed, err := s.svc.Transition(c.Request().Context(), a, c.Param("id"), act, version, in, idem)
		if err != nil {
			return err
		}
		if replayed {
			c.Response().Header().Set("Idempotent-Replayed", "true")
		}
		return s.errandResponse(c, http.StatusOK, e)
	}
}

// withIfMatch reads the version from If-Match when the body has none.
func withIfMatch(c echo.Context, version int) (int, error) {
	h := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if h == "" {
		return version, nil
	}
	v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(h, "W/"), `"`))
	if err != nil || v < 1 {
		return 0, service.BadParam("If-Match", "invalid_if_match")
	}
	if version != 0 && version != v {
		return 0, service.InvalidField("version", "version_differs_from_if_match")
	}
	return v, nil
}

type publicStepJSON struct {
	At          string   `json:"at"`
	Action      string   `json:"action"`
	ActionLabel string   `json:"action_label"`
	Status      string   `json:"status"`
	StatusLabel string   `json:"status_label"`
	OrgName     string   `json:"org_name"`
	OrgLevel    string   `json:"org_level"`
	Outcome     *string  `json:"outcome"`
	Detail      string   `json:"detail"`
	Missing     []string `json:"missing_materials"`
}

type publicReceiptJSON struct {
	ReceiptNo     string           `json:"receipt_no"`
	Status        string           `json:"status"`
	StatusLabel   string           `json:"status_label"`
	ItemName      string           `json:"item_name"`
	ApplicantName string           `json:"applicant_name"`
	IntakeName    string           `json:"intake_name"`
	AgentName     string           `json:"agent_name"`
	AgentPhone    string           `json:"agent_phone"`
	RegisteredAt  string           `json:"registered_at"`
	DueDate       string           `json:"due_date"`
	CompletedAt   *string          `json:"completed_at"`
	DeliveredAt   *string          `json:"delivered_at"`
	Outcome       *string          `json:"outcome"`
	OutcomeReason string           `json:"outcome_reason"`
	Overdue       bool             `json:"overdue"`
	Timeline      []publicStepJSON `json:"timeline"`
}

const publicTime = "2006-01-02 15:04"

func (s *Server) publicReceipt(c echo.Context) error {
	p, err := s.svc.LookupReceipt(c.Request().Context(), c.Param("receipt_no"), c.QueryParam("code"), c.RealIP())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, toPublicJSON(p))
}

func toPublicJSON(p service.PublicReceipt) publicReceiptJSON {
	j := publicReceiptJSON{
		ReceiptNo: p.ReceiptNo, Status: string(p.Status), StatusLabel: p.StatusWords(), ItemName: p.ItemName,
		ApplicantName: p.ApplicantName, IntakeName: p.IntakeName, AgentName: p.AgentName, AgentPhone: p.AgentPhone,
		RegisteredAt: shanghai(p.RegisteredAt).Format(publicTime), DueDate: service.DateOf(p.DueAt).String(),
		Outcome: optString(string(p.Outcome)), OutcomeReason: p.OutcomeReason, Overdue: p.Overdue,
		Timeline: make([]publicStepJSON, len(p.Timeline)),
	}
	if !p.CompletedAt.IsZero() {
		v := shanghai(p.CompletedAt).Format(publicTime)
		j.CompletedAt = &v
	}
	if !p.DeliveredAt.IsZero() {
		v := shanghai(p.DeliveredAt).Format(publicTime)
		j.DeliveredAt = &v
	}
	for i, st := range p.Timeline {
		missing := st.Missing
		if missing == nil {
			missing = []string{}
		}
		j.Timeline[i] = publicStepJSON{
			At: shanghai(st.At).Format(publicTime), Action: string(st.Action), ActionLabel: st.Action.Label(),
			Status: string(st.Status), StatusLabel: st.Status.Label(), OrgName: st.OrgName, OrgLevel: string(st.OrgLevel),
			Outcome: optString(string(st.Outcome)), Detail: st.Detail, Missing: missing,
		}
	}
	return j
}
