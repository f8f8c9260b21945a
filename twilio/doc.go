// Package twilio is a client for Twilio's Billing Usage API: it fetches the
// usage records of a billing group (POST
// /v2/Usage/BillingGroups/{billingGroupId}/Records), following pagination to
// the end, and returns them decoded.
//
// # Authentication
//
// Every request carries an OAuth 2.0 bearer token obtained with the client
// credentials grant of an organization-level OAuth app (Config.ClientID and
// Config.ClientSecret, sent as form parameters to Config.TokenURL, by default
// DefaultTokenURL). The token is cached and reused until a minute before it
// expires. A 401 from the Records endpoint discards the cached token and
// retries that request once with a fresh one. A token endpoint that rejects
// the credentials yields an *AuthError naming the client ID; the secret never
// appears in an error.
//
// # What is configurable because Twilio's public docs are silent
//
//   - Config.APIURL: the host serving /v2/Usage/... is not published, so it
//     has no default and must be set. A path prefix is allowed.
//   - Config.Encoding: the docs do not say whether the POST carries its
//     parameters as a JSON object body (EncodingJSON, the default; pageSize
//     is a JSON number), in the query string (EncodingQuery, empty body) or
//     as a form body (EncodingForm). EncodingAuto learns it once per Client
//     from the API's answers to a page size of 1 in each (Client.Detect).
//   - Config.PageTokenParam: the parameter that sends meta.nextToken back is
//     not documented; it defaults to "pageToken", the name Twilio's newer
//     APIs use. Continuations repeat the query's parameters beside the
//     token, and carry the token in the query string too, where Twilio's
//     SDKs send it; a continuation the API refuses (HTTP 400) is sent again
//     the other ways (Continuations), and the first that works is how every
//     later one is sent.
//   - Whether the data can change while it is paged: page tokens are
//     offsets, so every page of a fetch must carry the first page's asOf;
//     if one does not, the fetch reads the pages again from the first, once
//     (Usage.Restarted), and fails if asOf changes again.
//   - Query.PageSize: the maximum page size is not published, so no upper
//     bound is enforced; zero leaves it to the server.
//   - Rate limits are not published: 429 (Twilio code 20429) and 5xx answers
//     and transport errors are retried with exponential backoff and jitter,
//     honouring Retry-After (in full while the context's deadline leaves
//     room for it, past MaxBackoff), within Config.MaxAttempts, Config.MinBackoff,
//     Config.MaxBackoff and the context deadline.
//
// # Safety limits
//
// A fetch returns every record of every page or an error, never a partial
// result. It fails when a page's meta.nextToken repeats an earlier one (only
// a hash of each token is kept), when more than Config.MaxPages pages would be
// needed, when the records add up to more than Config.MaxRecords (a page may
// hold more records than asked for; they count like any other), when a
// response body is larger than Config.MaxBodyBytes, and when any record is
// malformed; errors name the page (counted from 1), the record (its 0-based
// index in that page's records array) and the field.
//
// # Hostile input
//
// The credentials never travel over plain http except to a loopback address.
// Control, bidirectional-control and line-separator characters in a record's
// text fields (which become label values) are replaced by U+FFFD, the same
// way every time. Upstream text quoted in an error (Twilio's message, a body
// snippet, the token endpoint's reason) has the client secret and the bearer
// token redacted first, then is cut to one bounded line without control
// characters.
//
// # Decoding
//
// usage.amount is documented as a JSON string and price.amount as a JSON
// number; both shapes are accepted for both, and non-finite values are
// rejected. asOf, startDate and endDate are UTC dates (YYYY-MM-DD); asOf may
// also be an RFC 3339 timestamp. Unknown fields are ignored. Non-2xx answers
// are decoded from any of Twilio's three error shapes into an *APIError,
// whose Hint says what to do about the codes users meet; the
// IsRateLimited, IsNotFound and IsExportNotFound helpers classify what the
// client itself acts on (retry; a period refused), and APIError.Code the
// rest.
//
// # Observability
//
// Config.Observer is called once per HTTP attempt with EndpointToken or
// EndpointRecords, the status code (0 on a transport error) and the duration,
// so callers can export request metrics without this package depending on a
// metrics library. Usage API data is an estimate; the invoice after month-end
// is authoritative.
package twilio
