package web

// RateBars draws the dashboard's rate chart for the given rows, as the
// dashboard does, for the browser tests to measure.
func RateBars(title string, labels, texts []string, values []float64) string {
	bars := make([]bar, len(labels))
	for i := range labels {
		bars[i] = bar{Label: labels[i], Text: texts[i], Value: values[i]}
	}
	return string(hbars(title, bars, rateScale(bars)))
}
