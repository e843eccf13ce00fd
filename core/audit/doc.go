// Package audit is the tamper-evident audit log: canonical JSON records
// (RFC 8785) hash-chained by "prev", the leaves of an RFC 6962 Merkle tree
// whose head is signed as a C2SP checkpoint (Ed25519 signed note). The format
// is specified in docs/audit-format.md so a third party can verify a log.
package audit
