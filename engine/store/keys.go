package store

import (
	"encoding/binary"
	"fmt"
)

// MaxIDLen is the longest id (organisation, collection, person, model, scope) in bytes.
const MaxIDLen = 128

// maxExternalIDLen bounds a person's externalId (a username: any bytes, it is the last part of its key).
const maxExternalIDLen = 256

// Key tags. See doc.go for the layout.
const (
	gVersion   = 'v'
	gFaceSeq   = 's'
	gGen       = 'g'
	gOrgDir    = 'o'
	gKey       = 'k'
	gSweep     = 'd'
	tOrg       = 'm'
	tOrgKey    = 'a'
	tColl      = 'c'
	tState     = 's'
	tFace      = 'f'
	tLog       = 'l'
	tRef       = 'r'
	tPerson    = 'p'
	tExternal  = 'x'
	tPersonFce = 'P'
)

func validID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_', c == '.', c == ':', c == '@', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkID returns ErrInvalidID, naming what was wrong, unless s is a valid id.
func checkID(what, s string) error {
	if validID(s) {
		return nil
	}
	if len(s) > 48 {
		s = s[:48] + "..."
	}
	return fmt.Errorf("store: %s %q: %w", what, s, ErrInvalidID)
}

func checkIDs(org, coll string) error {
	if err := checkID("org", org); err != nil {
		return err
	}
	return checkID("collection", coll)
}

// orgPrefix returns "O" org 00 tag with room for extra more bytes.
func orgPrefix(org string, tag byte, extra int) []byte {
	return appendOrgPrefix(make([]byte, 0, len(org)+3+extra), org, tag)
}

func appendOrgPrefix(b []byte, org string, tag byte) []byte {
	b = append(b, 'O')
	b = append(b, org...)
	return append(b, 0, tag)
}

func globalKey(tag byte, rest ...[]byte) []byte {
	b := []byte{'G', tag}
	for _, r := range rest {
		b = append(b, r...)
	}
	return b
}

func be64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func orgKey(org string) []byte { return orgPrefix(org, tOrg, 0) }

func collKey(org, coll string) []byte { return append(orgPrefix(org, tColl, len(coll)), coll...) }

func stateKey(org string, gen uint64) []byte { return be64(orgPrefix(org, tState, 8), gen) }

func faceKey(org string, gen uint64, rid int64) []byte {
	return be64(be64(orgPrefix(org, tFace, 16), gen), uint64(rid))
}

func facePrefix(org string, gen uint64) []byte { return be64(orgPrefix(org, tFace, 16), gen) }

func logKey(org string, gen, seq uint64) []byte {
	return be64(be64(orgPrefix(org, tLog, 16), gen), seq)
}

func logPrefix(org string, gen uint64) []byte { return be64(orgPrefix(org, tLog, 16), gen) }

func refKey(org string, ref [16]byte) []byte { return append(orgPrefix(org, tRef, 16), ref[:]...) }

func personKey(org, pid string) []byte { return append(orgPrefix(org, tPerson, len(pid)), pid...) }

func externalKey(org, ext string) []byte {
	return append(orgPrefix(org, tExternal, len(ext)), ext...)
}

// personFacePrefix is "O" org 00 "P" pid 00; the face keys follow it with gen and rid.
func personFacePrefix(org, pid string) []byte {
	return append(append(orgPrefix(org, tPersonFce, len(pid)+17), pid...), 0)
}

func personFaceKey(org, pid string, gen uint64, rid int64) []byte {
	return be64(be64(personFacePrefix(org, pid), gen), uint64(rid))
}

func orgKeyKey(org string, hash [32]byte) []byte {
	return append(orgPrefix(org, tOrgKey, 32), hash[:]...)
}

func apiKeyKey(hash [32]byte) []byte { return globalKey(gKey, hash[:]) }

func orgDirKey(org string) []byte { return globalKey(gOrgDir, []byte(org)) }

func sweepKey(org string, gen uint64) []byte {
	return be64(append(globalKey(gSweep, []byte(org)), 0), gen)
}

// collState is the per-collection counter record, rewritten by every face add or delete.
type collState struct {
	lastSeq uint64 // seq of the newest change
	count   uint64 // live faces
	trimmed uint64 // changes with seq <= trimmed were dropped by TrimChanges
}

func (s collState) encode() []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint64(b, s.lastSeq)
	binary.LittleEndian.PutUint64(b[8:], s.count)
	binary.LittleEndian.PutUint64(b[16:], s.trimmed)
	return b
}

func decodeState(b []byte) (collState, error) {
	if len(b) != 24 {
		return collState{}, fmt.Errorf("store: corrupt collection state (%d bytes)", len(b))
	}
	return collState{
		lastSeq: binary.LittleEndian.Uint64(b),
		count:   binary.LittleEndian.Uint64(b[8:]),
		trimmed: binary.LittleEndian.Uint64(b[16:]),
	}, nil
}
