package twilio

import (
	"crypto/sha256"
	"fmt"
)

// What bounds one fetch, whatever the API sends: the records it may hold,
// and what loop detection keeps of each page token.

// DefaultMaxRecords bounds the records of one fetch when Config.MaxRecords is
// zero: far above any real billing group's month (records are per product,
// or per product and day), far below what would exhaust memory.
const DefaultMaxRecords = 100_000

// tokenKey is what loop detection keeps of a page token: a token may be up to
// MaxBodyBytes long, and a hostile API could send a new one on every page.
type tokenKey [sha256.Size]byte

func keyOf(token string) tokenKey { return sha256.Sum256([]byte(token)) }

// checkRecordBudget fails a fetch whose records would exceed most once page n,
// holding got records where pageSize were asked for, is added to have. The
// API may send more records per page than asked; they are kept, and counted.
func checkRecordBudget(have, got, pageSize, most, n int) error {
	if have+got <= most {
		return nil
	}
	more := ""
	if pageSize > 0 && got > pageSize {
		more = fmt.Sprintf("; the page held %d records where %d were asked for", got, pageSize)
	}
	return fmt.Errorf("page %d: more than %d records (MaxRecords, twilio.max_records)%s", n, most, more)
}
