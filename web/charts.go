package web

import (
	"fmt"
	"html/template"
	"strings"
	"unicode"

	"daiban/service"
)

// Charts are SVG drawn on the server: no script, no library, readable on
// an old office PC and printable. Every label is escaped here.

type bar struct {
	Label string
	Value float64 // in the chart's unit
	Text  string  // what is written at the end of the bar
	Empty bool    // no figure: nothing drawn, Text explains
}

const (
	chartWidth = 720
	barRowH    = 28
	barFont    = 15 // px of a label (.chart), a CJK character's width
	valueFont  = 14 // px of a value (.chart .value)
)

func esc(s string) string { return template.HTMLEscapeString(s) }

// textWidth estimates the drawn width of s at size px: a CJK or full-width
// character is one em, anything else a little over half of one.
func textWidth(s string, px int) float64 {
	w := 0.0
	for _, r := range s {
		if r >= 0x1100 && (unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x30ff) || (r >= 0xff00 && r <= 0xff60)) {
			w += float64(px)
		} else {
			w += 0.62 * float64(px)
		}
	}
	return w
}

// scale is a bar chart's horizontal axis, from lo to hi.
type scale struct{ lo, hi float64 }

// rateScale is the axis for rates: 0–100%, unless every rate sits high
// and close together (97.7% and 98.2%), where the bars would look the
// same; then the axis starts at a round figure below the lowest, the
// narrowest of 99, 98, 95, 90, 80 or 50 that leaves it room, and the
// chart says so.
func rateScale(bars []bar) scale {
	lowest := 100.0
	seen := false
	for _, b := range bars {
		if !b.Empty {
			lowest, seen = min(lowest, b.Value), true
		}
	}
	if !seen {
		return scale{0, 100}
	}
	for _, span := range []float64{1, 2, 5, 10, 20, 50} {
		if 100-span <= lowest-span/10 {
			return scale{100 - span, 100}
		}
	}
	return scale{0, 100}
}

// ticks are the axis's round marks, as fractions of it: quarters of 0–100
// or of a span of 1, 2 or 20 points, fifths of 5, 10 or 50.
func (sc scale) ticks() []float64 {
	n := 4
	switch sc.hi - sc.lo {
	case 5, 10, 50:
		n = 5
	}
	out := make([]float64, n+1)
	for i := range out {
		out[i] = float64(i) / float64(n)
	}
	return out
}

// hbars draws labelled horizontal bars on the axis sc. Labels, bars and
// values all stay inside the drawing: the columns are as wide as their
// longest text.
func hbars(title string, bars []bar, sc scale) template.HTML {
	if sc.hi <= sc.lo {
		sc.hi = sc.lo + 1
	}
	labelW, textW := 40.0, 40.0
	for _, r := range bars {
		labelW = max(labelW, textWidth(clip(r.Label, 11), barFont))
		textW = max(textW, textWidth(r.Text, valueFont))
	}
	labelW, textW = labelW+12, textW+10
	note := ""
	if sc.lo > 0 {
		note = "注：横轴从 " + trimFloat(sc.lo) + "% 起，以显出差别"
	}
	h := len(bars)*barRowH + 28
	if note != "" {
		h += 20
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, chartWidth, h, esc(title+" "+note))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(title))
	area := chartWidth - labelW - textW
	axisY := len(bars)*barRowH + 22
	for _, x := range sc.ticks() {
		gx := labelW + area*x
		fmt.Fprintf(&b, `<line x1="%.1f" y1="4" x2="%.1f" y2="%d" class="grid"/>`, gx, gx, axisY-16)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="axis" text-anchor="middle">%s</text>`, gx, axisY, esc(trimFloat(sc.lo+(sc.hi-sc.lo)*x)))
	}
	for i, r := range bars {
		y := 4 + i*barRowH
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="label" text-anchor="end">%s</text>`, labelW-8, y+18, esc(clip(r.Label, 11)))
		w := 0.0
		if !r.Empty {
			w = area * (min(sc.hi, max(sc.lo, r.Value)) - sc.lo) / (sc.hi - sc.lo)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" class="bar"><title>%s：%s</title></rect>`, labelW, y+4, w, barRowH-9, esc(r.Label), esc(r.Text))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="value">%s</text>`, labelW+w+6, y+18, esc(r.Text))
	}
	if note != "" {
		fmt.Fprintf(&b, `<text x="4" y="%d" class="axis note">%s</text>`, h-4, esc(note))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type point struct {
	Label string
	Value *service.Hundredths
	Note  string
}

// line draws a rate over the points, with a gap where a point has no
// figure, on the axis rateScale picks for them (saying so when it does
// not start at 0).
func line(title string, pts []point) template.HTML {
	const left, right, top, bottom = 48, 24, 24, 34
	var asBars []bar
	for _, p := range pts {
		if p.Value != nil {
			asBars = append(asBars, bar{Value: p.Value.Float()})
		}
	}
	sc := rateScale(asBars)
	h := 260
	if sc.lo > 0 {
		h += 18
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, chartWidth, h, esc(title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(title))
	plotW, plotH := float64(chartWidth-left-right), float64(260-top-bottom)
	for _, x := range sc.ticks() {
		v := sc.lo + (sc.hi-sc.lo)*x
		y := float64(top) + plotH*(1-x)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>`, left, y, chartWidth-right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="axis" text-anchor="end">%s%%</text>`, left-6, y+4, trimFloat(v))
	}
	if sc.lo > 0 {
		fmt.Fprintf(&b, `<text x="4" y="%d" class="axis note">%s</text>`, h-4, esc("注：纵轴从 "+trimFloat(sc.lo)+"% 起，以显出差别"))
	}
	step := plotW
	if len(pts) > 1 {
		step = plotW / float64(len(pts)-1)
	}
	x := func(i int) float64 {
		if len(pts) == 1 {
			return float64(left) + plotW/2
		}
		return float64(left) + step*float64(i)
	}
	y := func(v service.Hundredths) float64 {
		return float64(top) + plotH*(1-(min(sc.hi, max(sc.lo, v.Float()))-sc.lo)/(sc.hi-sc.lo))
	}
	var path strings.Builder
	pen := false
	for i, p := range pts {
		if p.Value == nil {
			pen = false
			continue
		}
		cmd := "L"
		if !pen {
			cmd = "M"
		}
		fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(i), y(*p.Value))
		pen = true
	}
	if path.Len() > 0 {
		fmt.Fprintf(&b, `<path d="%s" class="trend"/>`, strings.TrimSpace(path.String()))
	}
	for i, p := range pts {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="axis" text-anchor="middle">%s</text>`, x(i), 260-12, esc(p.Label))
		if p.Value == nil {
			continue
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" class="dot"><title>%s：%s%% %s</title></circle>`, x(i), y(*p.Value), esc(p.Label), p.Value.String(), esc(p.Note))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="value" text-anchor="middle">%s</text>`, x(i), y(*p.Value)-9, esc(trimFloat(p.Value.Float())))
	}
	if path.Len() == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label" text-anchor="middle">这段时间没有受理的办件</text>`, chartWidth/2, 260/2)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// clip shortens a label to n characters.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// pct writes a rate for people: "97.96%", or "—" when nothing was counted.
func pct(h *service.Hundredths) string {
	if h == nil {
		return "—"
	}
	return h.String() + "%"
}

// hund writes a mean: "3.50", or "—".
func hund(h *service.Hundredths) string {
	if h == nil {
		return "—"
	}
	return h.String()
}
