package web

import (
	"fmt"
	"html/template"
	"strings"

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
	barLabelW  = 170
	barTextW   = 120
	barRowH    = 28
)

func esc(s string) string { return template.HTMLEscapeString(s) }

// hbars draws labelled horizontal bars scaled to max.
func hbars(title string, bars []bar, max float64) template.HTML {
	if max <= 0 {
		max = 1
	}
	h := len(bars)*barRowH + 28
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, chartWidth, h, esc(title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(title))
	area := float64(chartWidth - barLabelW - barTextW)
	for _, x := range []float64{0, 0.25, 0.5, 0.75, 1} {
		gx := float64(barLabelW) + area*x
		fmt.Fprintf(&b, `<line x1="%.1f" y1="4" x2="%.1f" y2="%d" class="grid"/>`, gx, gx, h-20)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="axis" text-anchor="middle">%s</text>`, gx, h-6, esc(trimFloat(max*x)))
	}
	for i, r := range bars {
		y := 4 + i*barRowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label" text-anchor="end">%s</text>`, barLabelW-8, y+18, esc(clip(r.Label, 11)))
		w := 0.0
		if !r.Empty {
			w = area * min(max, r.Value) / max
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" class="bar"><title>%s：%s</title></rect>`, barLabelW, y+4, w, barRowH-9, esc(r.Label), esc(r.Text))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="value">%s</text>`, float64(barLabelW)+w+6, y+18, esc(r.Text))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type point struct {
	Label string
	Value *service.Hundredths
	Note  string
}

// line draws a rate from 0 to 100 over the points, with a gap where a
// point has no figure.
func line(title string, pts []point) template.HTML {
	const h, left, right, top, bottom = 260, 48, 24, 24, 34
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, chartWidth, h, esc(title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(title))
	plotW, plotH := float64(chartWidth-left-right), float64(h-top-bottom)
	for _, v := range []float64{0, 25, 50, 75, 100} {
		y := float64(top) + plotH*(1-v/100)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>`, left, y, chartWidth-right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="axis" text-anchor="end">%s%%</text>`, left-6, y+4, trimFloat(v))
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
	y := func(v service.Hundredths) float64 { return float64(top) + plotH*(1-v.Float()/100) }
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
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="axis" text-anchor="middle">%s</text>`, x(i), h-12, esc(p.Label))
		if p.Value == nil {
			continue
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" class="dot"><title>%s：%s%% %s</title></circle>`, x(i), y(*p.Value), esc(p.Label), p.Value.String(), esc(p.Note))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="value" text-anchor="middle">%s</text>`, x(i), y(*p.Value)-9, esc(trimFloat(p.Value.Float())))
	}
	if path.Len() == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label" text-anchor="middle">这段时间没有受理的办件</text>`, chartWidth/2, h/2)
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
