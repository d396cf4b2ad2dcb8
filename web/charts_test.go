package web_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"daiban/web"
)

// TestBrowserChartLabelsInside draws the township chart of the issue's
// figures (97.70%（2968/3038）…) and measures it in Chromium, at a desktop
// and on a phone: every text ends inside the drawing, and on the rate
// axis a 0.5-point difference is a difference you can see.
func TestBrowserChartLabelsInside(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	labels := []string{"潭头镇", "金峰镇", "航城街道", "古槐镇", "文武砂镇", "梅花镇"}
	values := []float64{97.70, 97.84, 97.96, 98.01, 98.10, 98.20}
	texts := make([]string, len(values))
	for i, v := range values {
		texts[i] = strconv.FormatFloat(v, 'f', 2, 64) + "%（12,968/13,274）"
	}
	svg := web.RateBars("各乡镇(街道)办结率（从低到高）", labels, texts, values)
	if !strings.Contains(svg, "横轴从 95% 起") {
		t.Errorf("the chart does not say where its axis starts: %.300s", svg)
	}
	css, err := os.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "chart.html")
	html := `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><style>` + string(css) + `</style><body><main>` + svg + `</main>`
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int64{{desktopW, desktopH}, {360, 740}, {phoneW, phoneH}} {
		p := newPerson(t, root, env, "supervisor", size[0], size[1])
		p.do(chromedp.Navigate("file://" + page))
		// Every text's box, in the drawing's own units, against the viewBox.
		out := p.eval(`(() => { const s = document.querySelector("svg.chart"), vb = s.viewBox.baseVal, bad = [];
			for (const t of s.querySelectorAll("text")) { const b = t.getBBox();
				if (b.x < 0 || b.y < 0 || b.x + b.width > vb.width + 0.5 || b.y + b.height > vb.height + 0.5) bad.push(t.textContent + " " + Math.round(b.x) + "+" + Math.round(b.width)); }
			return bad.join("; ") })()`)
		if out != "" {
			t.Errorf("at %dpx, texts outside the chart: %s", size[0], out)
		}
		widths := p.eval(`Array.from(document.querySelectorAll("svg.chart rect.bar")).map(r => r.width.baseVal.value.toFixed(0)).join(",")`)
		ws := strings.Split(widths, ",")
		lo, _ := strconv.Atoi(ws[0])
		hi, _ := strconv.Atoi(ws[len(ws)-1])
		if len(ws) != len(values) || hi-lo < 40 {
			t.Errorf("at %dpx, bars of 97.70%% and 98.20%% are %d and %d units wide: the difference does not show", size[0], lo, hi)
		}
		p.shot("40-chart-township-rates-" + strconv.FormatInt(size[0], 10) + "px")
	}
}

// TestBrowserDashboardDefaultPeriod: the supervisor's first screen covers
// the twelve months up to today (this month alone says little on its 5th),
// says so, and offers the other periods; at 1366 and on a phone.
func TestBrowserDashboardDefaultPeriod(t *testing.T) {
	root := startBrowser(t)
	env := newEnv(t)
	today := env.Clock.Now() // 2026-03-02 in the fixture
	want := time.Date(today.Year(), today.Month()-11, 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	for _, size := range [][2]int64{{desktopW, desktopH}, {phoneW, phoneH}} {
		super := newPerson(t, root, env, "supervisor", size[0], size[1])
		super.login("super")
		super.open("/dashboard")
		if got := super.text(`nav.quick a[aria-current="true"]`); got != "近12个月" {
			t.Errorf("the first screen's period is %q, want 近12个月", got)
		}
		if got := super.value("#from"); got != want {
			t.Errorf("the first screen starts on %s, want %s", got, want)
		}
		super.expectText(".hint", "默认显示近12个月")
		for _, label := range []string{"本月", "上月", "本季度", "今年"} {
			if n := super.eval(`String(Array.from(document.querySelectorAll("nav.quick a")).filter(a => a.textContent === "` + label + `").length)`); n != "1" {
				t.Errorf("no quick link %s", label)
			}
		}
		super.shot("41-supervisor-dashboard-default-" + strconv.FormatInt(size[0], 10) + "px")
	}
}
