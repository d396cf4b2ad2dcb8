// Package notify delivers what the outbox holds: text messages through an
// SMS gateway and signed CloudEvents to webhook endpoints. The service
// decides what to tell whom and writes it with the step that causes it;
// this package only carries it, at least once.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"daiban/service"
)

// Queue is the outbox as the dispatcher uses it (store.Store).
type Queue interface {
	ClaimDeliveries(ctx context.Context, now, lease time.Time, limit int) ([]service.Delivery, error)
	RecordDeliveries(ctx context.Context, at time.Time, sent []string, failed []service.FailedDelivery) error
	Webhooks(ctx context.Context) ([]service.Webhook, error)
	OutboxDepth(ctx context.Context, now time.Time) (int64, time.Duration, error)
}

// Gateway sends one text message. id is the message's stable id, for a
// gateway that drops duplicates.
type Gateway interface {
	Send(ctx context.Context, id, phone, text string) error
}

// Options configure a Dispatcher; zero values take the defaults.
type Options struct {
	Interval    time.Duration // between rounds when idle; 1 s
	Batch       int           // deliveries claimed per round; 200
	Workers     int           // deliveries in flight at once; 16
	Lease       time.Duration // how long a claimed delivery is kept from others; 1 min
	MaxAttempts int           // tries before a delivery is dead; 8
	Backoff     time.Duration // the wait after the first failed try, doubling after each; 10 s
	MaxBackoff  time.Duration // the longest wait; 1 h
	Timeout     time.Duration // a webhook receiver's time to answer; 10 s
	// LoopbackHTTP lets deliveries reach loopback addresses (a receiver on
	// this machine); private and link-local ones are refused always.
	LoopbackHTTP bool
	Now          func() time.Time
	Logger       *slog.Logger
	// Wake starts a round before Interval is up (nil: rounds by the clock only).
	Wake Signal
	// Digest, when set, is run once a working day at 08:30 Shanghai time.
	Digest func(ctx context.Context, day service.Date) (int, error)
}

// Dispatcher delivers the outbox. Several dispatchers (one per instance)
// may run on one database: each claims different deliveries.
type Dispatcher struct {
	q    Queue
	sms  Gateway
	http *http.Client
	o    Options

	digested service.Date // the last day whose digest was written

	hooksMu sync.Mutex
	hooks   map[string]*hook

	sent    *prometheus.CounterVec
	failed  *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

type hook struct {
	url    string
	signer *standardwebhooks.Webhook
}

// New returns a dispatcher over q sending texts through sms.
func New(q Queue, sms Gateway, o Options) *Dispatcher {
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.Batch == 0 {
		o.Batch = 200
	}
	if o.Workers == 0 {
		o.Workers = 16
	}
	if o.Lease == 0 {
		o.Lease = time.Minute
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 8
	}
	if o.Backoff == 0 {
		o.Backoff = 10 * time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = time.Hour
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Dispatcher{
		q: q, sms: sms, o: o,
		http: NewClient(o.Timeout, o.LoopbackHTTP),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "daiban_deliveries_total", Help: "Deliveries accepted by their receiver, by channel.",
		}, []string{"channel"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "daiban_delivery_failures_total", Help: "Failed delivery tries, by channel and whether the delivery is now dead.",
		}, []string{"channel", "dead"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "daiban_delivery_latency_seconds", Help: "From the step that caused a delivery to its receiver's acceptance.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300, 3600},
		}, []string{"channel"}),
	}
}

// NewClient is an HTTP client for receivers outside: it follows no
// redirect, gives up after timeout, and connects to no private, link-local
// or (unless allowed) loopback address, whatever the name resolves to.
func NewClient(timeout time.Duration, loopback bool) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip := net.ParseIP(host)
		if ip == nil {
			return fmt.Errorf("notify: %s is not an address", host)
		}
		if loopback && ip.IsLoopback() {
			return nil
		}
		if service.PrivateIP(ip) {
			return fmt.Errorf("notify: %s is a private address", ip)
		}
		return nil
	}}
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: timeout, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Collectors are the dispatcher's metrics, and the queue's depth and age.
func (d *Dispatcher) Collectors() []prometheus.Collector {
	depth := func() (int64, time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, age, err := d.q.OutboxDepth(ctx, d.o.Now())
		if err != nil {
			return -1, -1
		}
		return n, age
	}
	return []prometheus.Collector{d.sent, d.failed, d.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "daiban_outbox_pending", Help: "Deliveries waiting in the outbox."},
			func() float64 { n, _ := depth(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "daiban_outbox_oldest_seconds", Help: "Age of the oldest delivery waiting in the outbox."},
			func() float64 { _, a := depth(); return a.Seconds() }),
	}
}

// A Signal wakes a dispatcher: the service sends on it after a step that
// queued deliveries commits.
type Signal chan struct{}

// NewSignal returns a signal that keeps one wake-up.
func NewSignal() Signal { return make(Signal, 1) }

// Notify asks for a round soon; it never blocks.
func (s Signal) Notify() {
	select {
	case s <- struct{}{}:
	default:
	}
}

// minGap is the least time between rounds that Wake starts, so a burst of
// steps shares a round (and its claim, a write) instead of one each.
const minGap = 50 * time.Millisecond

// Run delivers until ctx ends: a round after another while there is work,
// then one every Interval or soon after a Wake.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.o.Interval)
	defer t.Stop()
	for {
		d.digest(ctx)
		for {
			n, err := d.Round(ctx)
			if err != nil && ctx.Err() == nil {
				d.o.Logger.Error("outbox round", "err", err)
			}
			if n < d.o.Batch || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.o.Wake:
			select {
			case <-ctx.Done():
				return
			case <-time.After(minGap):
			}
		}
	}
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// digest writes the day's digest once the clock passes 08:30 in Shanghai.
func (d *Dispatcher) digest(ctx context.Context) {
	if d.o.Digest == nil {
		return
	}
	now := d.o.Now().In(shanghai)
	day := service.DateOf(now)
	if day == d.digested || now.Hour()*60+now.Minute() < 8*60+30 {
		return
	}
	n, err := d.o.Digest(ctx, day)
	if err != nil {
		d.o.Logger.Error("daily digest", "day", day.String(), "err", err)
		return
	}
	d.digested = day
	d.o.Logger.Info("daily digest", "day", day.String(), "messages", n)
}

// Round claims a batch of due deliveries, tries each once, and records the
// results in one write; it returns how many it claimed.
func (d *Dispatcher) Round(ctx context.Context) (int, error) {
	now := d.o.Now()
	batch, err := d.q.ClaimDeliveries(ctx, now, now.Add(d.o.Lease), d.o.Batch)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, d.o.Workers)
	var wg sync.WaitGroup
	errs := make([]error, len(batch))
	for i, del := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = d.try(ctx, del)
		}()
	}
	wg.Wait()
	at := d.o.Now()
	var sent []string
	var failed []service.FailedDelivery
	for i, del := range batch {
		ch := string(del.Channel)
		if errs[i] == nil {
			sent = append(sent, del.ID)
			d.sent.WithLabelValues(ch).Inc()
			d.latency.WithLabelValues(ch).Observe(at.Sub(del.CreatedAt).Seconds())
			continue
		}
		dead := del.Attempts >= d.o.MaxAttempts
		d.failed.WithLabelValues(ch, strconv.FormatBool(dead)).Inc()
		d.o.Logger.Warn("delivery failed", "id", del.ID, "channel", ch, "attempt", del.Attempts, "dead", dead, "err", errs[i])
		failed = append(failed, service.FailedDelivery{ID: del.ID, Next: at.Add(d.backoff(del.Attempts)), Dead: dead, Why: errs[i].Error()})
	}
	// Recorded even if ctx ended meanwhile: what was sent is not sent again.
	return len(batch), d.q.RecordDeliveries(context.WithoutCancel(ctx), at, sent, failed)
}

// try sends one delivery once.
func (d *Dispatcher) try(ctx context.Context, del service.Delivery) error {
	switch del.Channel {
	case service.NoticeSMS:
		return d.sms.Send(ctx, del.MsgID, del.Target, del.Body)
	case service.NoticeWebhook:
		return d.post(ctx, del)
	}
	return fmt.Errorf("no channel %q", del.Channel)
}

// backoff is the wait after the n-th failed try: Backoff doubling, at most
// MaxBackoff, less up to a fifth at random so retries spread out.
func (d *Dispatcher) backoff(n int) time.Duration {
	w := d.o.Backoff
	for i := 1; i < n && w < d.o.MaxBackoff; i++ {
		w *= 2
	}
	w = min(w, d.o.MaxBackoff)
	return w - time.Duration(rand.Int64N(int64(w)/5+1))
}

// post sends a CloudEvent to its endpoint, signed as Standard Webhooks say.
func (d *Dispatcher) post(ctx context.Context, del service.Delivery) error {
	h, err := d.hook(ctx, del.Target)
	if err != nil {
		return err
	}
	now := d.o.Now()
	body := []byte(del.Body)
	sig, err := h.signer.Sign(del.MsgID, now, body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	req.Header.Set(standardwebhooks.HeaderWebhookID, del.MsgID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	req.Header.Set("User-Agent", "daiban-webhooks/1")
	resp, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}

// hook finds an endpoint by id, reading the list again on a miss (an
// endpoint added since).
func (d *Dispatcher) hook(ctx context.Context, id string) (*hook, error) {
	d.hooksMu.Lock()
	defer d.hooksMu.Unlock()
	if h, ok := d.hooks[id]; ok {
		return h, nil
	}
	ws, err := d.q.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	d.hooks = map[string]*hook{}
	for _, w := range ws {
		s, err := standardwebhooks.NewWebhook(w.Secret)
		if err != nil {
			return nil, fmt.Errorf("webhook %s: %w", w.ID, err)
		}
		d.hooks[w.ID] = &hook{url: w.URL, signer: s}
	}
	if h, ok := d.hooks[id]; ok {
		return h, nil
	}
	return nil, fmt.Errorf("webhook %s is gone", id)
}

// LogGateway writes each text to the log instead of sending it: the demo's
// and a development machine's gateway.
type LogGateway struct{ Logger *slog.Logger }

// Send logs the text.
func (g LogGateway) Send(_ context.Context, id, phone, text string) error {
	g.Logger.Info("SMS (log only)", "id", id, "phone", service.MaskPhone(phone), "text", text)
	return nil
}

// HTTPGateway posts each text as JSON to an SMS provider's endpoint:
// {"id", "phone", "template_id", "text"}, with a bearer token; any 2xx
// answer is acceptance. Providers that want another shape sit behind a
// small adapter of their own.
type HTTPGateway struct {
	URL        string
	Token      string
	TemplateID string
	Client     *http.Client
}

// Send posts one text.
func (g HTTPGateway) Send(ctx context.Context, id, phone, text string) error {
	body, err := json.Marshal(map[string]string{"id": id, "phone": phone, "template_id": g.TemplateID, "text": text})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	resp, err := g.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the SMS gateway answered %s", resp.Status)
	}
	return nil
}
