package usagesim

import "time"

// DailyRecords returns every record the API serves now for a group and the
// days from startDate to endDate (YYYY-MM-DD, inclusive) with
// aggregationPeriod=DAILY and no filter, in served order: the simulator's own
// truth for each day. It returns nil for an unknown group or a bad date.
func (s *Server) DailyRecords(groupID, startDate, endDate string) []WireRecord {
	gd, ok := s.groups[groupID]
	if !ok {
		return nil
	}
	if _, err := time.Parse(dateLayout, startDate); err != nil {
		return nil
	}
	if _, err := time.Parse(dateLayout, endDate); err != nil {
		return nil
	}
	q := query{startDate: startDate, endDate: endDate, aggregation: aggDaily}
	return gd.records(q.resolve(s.opts.Now()), "", byDay)
}
