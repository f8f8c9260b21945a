package collector

import "fmt"

// checkSeries fails a snapshot that would export more series than g allows:
// an API sending a new product category, currency or unit on every record
// would otherwise grow the exposition, and Prometheus' memory, without
// bound. The group then reports up 0 and keeps its last good snapshot.
func checkSeries(g Group, s *Snapshot) error {
	n := len(s.Costs) + len(s.Usages) + len(s.Products)
	if g.MaxSeries <= 0 || n <= g.MaxSeries {
		return nil
	}
	return fmt.Errorf("collector: the records make %d series (%d cost, %d usage, %d product_info), more than twilio.max_series (%d); raise it if that many product categories, currencies and units are real",
		n, len(s.Costs), len(s.Usages), len(s.Products), g.MaxSeries)
}
