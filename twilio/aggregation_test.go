package twilio

import (
	"encoding/json"
	"testing"
)

// TestAggregationPeriodIsAlwaysSent: the docs do not say what the API
// assumes without aggregationPeriod, so the client always asks.
func TestAggregationPeriodIsAlwaysSent(t *testing.T) {
	for _, tc := range []struct {
		q    Query
		want AggregationPeriod
	}{
		{Query{TimePeriod: ThisMonth}, Monthly},
		{Query{TimePeriod: LastMonth}, Monthly},
		{Query{TimePeriod: ThisYear}, Monthly},
		{Query{TimePeriod: Yesterday}, Daily},
		{Query{StartDate: "2025-01-05", EndDate: "2025-01-05"}, Daily},
		{Query{StartDate: "2025-01-05", EndDate: "2025-01-06"}, Monthly},
		{Query{TimePeriod: Yesterday, AggregationPeriod: Monthly}, Monthly},
		{Query{TimePeriod: ThisMonth, AggregationPeriod: Daily}, Daily},
	} {
		f := newFakeAPI(t)
		c, _ := newTestClient(t, f, nil)
		if _, err := c.FetchRecords(t.Context(), testID, tc.q); err != nil {
			t.Fatal(err)
		}
		var body struct {
			AggregationPeriod AggregationPeriod `json:"aggregationPeriod"`
		}
		if err := json.Unmarshal([]byte(f.recordReqs[0].Body), &body); err != nil || body.AggregationPeriod != tc.want {
			t.Errorf("%+v: sent %s (%v), want aggregationPeriod %s", tc.q, f.recordReqs[0].Body, err, tc.want)
		}
	}
}
