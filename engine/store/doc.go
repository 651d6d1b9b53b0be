// Package store is Vigil's durable source of truth: a badger database under the data directory
// holding organisations, API keys, collections, persons and faces (with embeddings), plus a
// per-collection change log that the vector indexes (derived state) catch up from. KYC sessions,
// request records and jobs will live here too (their key tags are reserved below). It imports
// nothing of Vigil's. A Store is safe for concurrent use.
//
// # Isolation
//
// Every record of an organisation lives under the key prefix "O" + org + 0x00, and every method
// that reads or writes such records takes the organisation as its first argument and builds keys
// only from it, so one organisation can never name another's records: a foreign id simply is not
// found (ErrNotFound). Ids are validated (non-empty, at most MaxIDLen bytes of [A-Za-z0-9_.:@-]),
// so no separator byte can be smuggled into a key.
//
// # Key layout
//
// Integers in keys are big-endian so that byte order is numeric order. gen is a collection's
// Generation (8 bytes), rid a face RecordID (8 bytes), seq a change sequence number (8 bytes),
// ref a face ReferenceID as 16 raw UUID bytes, hash a SHA-256 API key hash (32 bytes).
//
//	G v                         schema version (uint32 LE)
//	G s                         badger Sequence for face RecordIDs (database-wide, never reused)
//	G g                         last collection Generation (uint64 LE)
//	G o {org}                   organisation directory (empty value), for ListOrgs
//	G k {hash}                  API key -> JSON {org, scopes, createdAt}
//	G d {org} 00 {gen}          pending collection sweep -> collection id
//	O {org} 00 m                organisation JSON {id, name, settings, createdAt}
//	O {org} 00 a {hash}         the organisation's API keys (empty value)
//	O {org} 00 c {coll}         collection JSON (with its gen)
//	O {org} 00 s {gen}          collection state: lastSeq, count, trimmedSeq (3 x uint64 LE)
//	O {org} 00 f {gen} {rid}    face, binary (see below)
//	O {org} 00 l {gen} {seq}    group of changes ending at seq: n x (op byte, rid int64 LE)
//	O {org} 00 r {ref}          referenceID lookup: gen (uint64 LE) + rid (int64 LE) + collection id
//	O {org} 00 p {person}       person JSON {id, externalId, metadata, createdAt}
//	O {org} 00 x {externalId}   externalId -> person id
//	O {org} 00 P {person} 00 {gen} {rid}  person -> face (value: collection id), for erasure
//
// Reserved org-scoped tags for later: k (KYC entities and sessions), q (request records),
// j (jobs), i (face images). Global tags are single letters after "G"; new ones must not clash.
//
// Faces, change log and state are keyed by the collection's Generation, not its id: deleting a
// collection removes its record and leaves a sweep marker in one transaction, so a collection of
// the same id can be created again at once under a new generation while the old one's keys are
// swept (resumed on Open after a crash).
//
// # Face encoding (version 1)
//
//	0      version (1)
//	1:17   ReferenceID, 16 raw bytes
//	17:25  CreatedAt, Unix nanoseconds, int64 LE
//	25:29  DetScore, float32 LE
//	29:33  Quality, float32 LE
//	33:35  dimension, uint16 LE
//	35     len(PersonID), uint8 (0: no person)
//	36:    PersonID bytes, then dimension float32 LE (the L2-normalised embedding)
//
// RecordID and the collection come from the key. A 128-d face is 548 bytes plus its person id.
//
// # Change log and sequence numbers
//
// Each face add or delete appends a Change to its collection's log in the same transaction as
// the record write. The transaction reads and rewrites the collection's state key, so badger's
// conflict detection serialises writers of one collection and commit order equals Seq order;
// within the process a per-collection lock keeps them from conflicting at all. Seqs are dense
// per collection (1, 2, 3, ...). A transaction's changes are stored as one log entry keyed by
// its last seq (an AddFaces batch of 1000 is one 9000-byte value, not 1000 keys); Changes
// unpacks them.
//
// An AddFaces batch writes three keys per face (face, reference, person link) plus one log
// entry and the state key. With the default Options.ValueThreshold the face records go to
// badger's value log and everything else stays in the LSM tree. An index snapshot records its collection's Generation and the
// last Seq it applied; on start it replays Changes after that Seq, or rebuilds with ScanFaces
// (which returns the Seq its snapshot is consistent with) when the log was trimmed past it
// (ErrTrimmed) or the generation differs.
package store
