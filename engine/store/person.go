package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Person is someone whose faces are enrolled: the unit of erasure.
type Person struct {
	ID         string
	ExternalID string            // the client's username / externalId; optional, unique per organisation
	Metadata   map[string]string // small client-supplied fields; never logged
	CreatedAt  time.Time
}

type personRecord struct {
	ID         string            `json:"id"`
	ExternalID string            `json:"externalId,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	CreatedAt  time.Time         `json:"createdAt"`
}

// maxPersonRecord bounds a person's stored JSON (mostly metadata).
const maxPersonRecord = 64 << 10

func (r personRecord) person() Person {
	return Person{ID: r.ID, ExternalID: r.ExternalID, Metadata: r.Metadata, CreatedAt: r.CreatedAt}
}

// CreatePerson creates person p.ID in organisation org and returns it with CreatedAt set.
// ErrExists if the id or the ExternalID is taken. ExternalID may be any bytes up to 256.
func (s *Store) CreatePerson(org string, p Person) (Person, error) {
	if err := checkID("org", org); err != nil {
		return Person{}, err
	}
	if err := checkID("person", p.ID); err != nil {
		return Person{}, err
	}
	if len(p.ExternalID) > maxExternalIDLen {
		return Person{}, fmt.Errorf("store: external id of %d bytes (max %d): %w", len(p.ExternalID), maxExternalIDLen, ErrInvalidID)
	}
	rec := personRecord{ID: p.ID, ExternalID: p.ExternalID, Metadata: p.Metadata, CreatedAt: p.CreatedAt}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = time.Now()
	}
	rec.CreatedAt = rec.CreatedAt.UTC().Round(0)
	val, err := json.Marshal(rec)
	if err != nil {
		return Person{}, fmt.Errorf("store: encode person: %w", err)
	}
	if len(val) > maxPersonRecord {
		return Person{}, fmt.Errorf("store: person record of %d bytes (max %d): %w", len(val), maxPersonRecord, ErrBatchTooLarge)
	}
	if err := s.acquire(); err != nil {
		return Person{}, err
	}
	defer s.release()
	err = s.update(func(txn *badger.Txn) error {
		ok, err := exists(txn, personKey(org, p.ID))
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("person %q: %w", p.ID, ErrExists)
		}
		if p.ExternalID != "" {
			ok, err := exists(txn, externalKey(org, p.ExternalID))
			if err != nil {
				return err
			}
			if ok {
				return fmt.Errorf("person external id: %w", ErrExists)
			}
			if err := txn.Set(externalKey(org, p.ExternalID), []byte(p.ID)); err != nil {
				return err
			}
		}
		return txn.Set(personKey(org, p.ID), val)
	})
	if err != nil {
		return Person{}, fmt.Errorf("store: create person: %w", err)
	}
	// Round-trip through JSON so the caller holds exactly what a read returns.
	var out personRecord
	if err := json.Unmarshal(val, &out); err != nil {
		return Person{}, fmt.Errorf("store: decode person: %w", err)
	}
	return out.person(), nil
}

// GetPerson returns person pid of organisation org, or ErrNotFound.
func (s *Store) GetPerson(org, pid string) (Person, error) {
	if err := checkID("org", org); err != nil {
		return Person{}, err
	}
	if err := checkID("person", pid); err != nil {
		return Person{}, err
	}
	if err := s.acquire(); err != nil {
		return Person{}, err
	}
	defer s.release()
	var rec personRecord
	err := s.view(func(txn *badger.Txn) error { return getPerson(txn, org, pid, &rec) })
	if err != nil {
		return Person{}, fmt.Errorf("store: get person: %w", err)
	}
	return rec.person(), nil
}

func getPerson(txn *badger.Txn, org, pid string, rec *personRecord) error {
	v, err := get(txn, personKey(org, pid))
	if err != nil {
		return fmt.Errorf("person %q: %w", pid, err)
	}
	return json.Unmarshal(v, rec)
}

// GetPersonByExternalID returns the person of organisation org with that ExternalID, or ErrNotFound.
func (s *Store) GetPersonByExternalID(org, externalID string) (Person, error) {
	if err := checkID("org", org); err != nil {
		return Person{}, err
	}
	if externalID == "" || len(externalID) > maxExternalIDLen {
		return Person{}, fmt.Errorf("store: external id: %w", ErrInvalidID)
	}
	if err := s.acquire(); err != nil {
		return Person{}, err
	}
	defer s.release()
	var rec personRecord
	err := s.view(func(txn *badger.Txn) error {
		pid, err := get(txn, externalKey(org, externalID))
		if err != nil {
			return fmt.Errorf("person external id: %w", err)
		}
		return getPerson(txn, org, string(pid), &rec)
	})
	if err != nil {
		return Person{}, fmt.Errorf("store: get person: %w", err)
	}
	return rec.person(), nil
}

// testHookDeletePerson, when set by a test, runs inside DeletePerson's transaction after it
// listed the person's faces.
var testHookDeletePerson func()

// personFace is one person->face link.
type personFace struct {
	gen  uint64
	rid  int64
	coll string
}

func listPersonFaces(txn *badger.Txn, org, pid string) ([]personFace, error) {
	prefix := personFacePrefix(org, pid)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
	defer it.Close()
	var out []personFace
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if len(k) != len(prefix)+16 {
			return nil, fmt.Errorf("corrupt person face key")
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		out = append(out, personFace{
			gen:  binary.BigEndian.Uint64(k[len(prefix):]),
			rid:  int64(binary.BigEndian.Uint64(k[len(prefix)+8:])),
			coll: string(v),
		})
	}
	return out, nil
}

// PersonFaces returns the faces of person pid in organisation org's live collections.
func (s *Store) PersonFaces(org, pid string) ([]FaceRef, error) {
	if err := checkID("org", org); err != nil {
		return nil, err
	}
	if err := checkID("person", pid); err != nil {
		return nil, err
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	var out []FaceRef
	err := s.view(func(txn *badger.Txn) error {
		pfs, err := listPersonFaces(txn, org, pid)
		if err != nil {
			return err
		}
		live := map[string]uint64{}
		for _, pf := range pfs {
			gen, ok := live[pf.coll]
			if !ok {
				if rec, err := getColl(txn, org, pf.coll); err == nil {
					gen = rec.Gen
				}
				live[pf.coll] = gen
			}
			if gen == pf.gen {
				out = append(out, FaceRef{CollectionID: pf.coll, RecordID: pf.rid})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: person faces: %w", err)
	}
	return out, nil
}

// DeletePerson erases person pid of organisation org: the person record, its externalId
// lookup, and every face of theirs in every collection with its reference lookup, appending a
// delete change to each affected collection's log, all in ONE transaction. It returns the
// removed faces so the engine can tombstone them in its indexes. ErrNotFound if there is
// neither a person record nor a face of that person. A person with so many faces that the
// transaction outgrows badger's limit (tens of thousands) gets ErrBatchTooLarge and nothing is
// removed.
//
// A face of the person whose AddFaces committed before DeletePerson returns is erased: the
// erasure reads every live collection's state key and the collection generation counter, so a
// face (or collection) committed while its transaction was open makes it conflict and start
// over. To keep that from starving under ingest it holds the face-writer locks of all the
// organisation's collections for its transaction, so writes to them queue for that long.
func (s *Store) DeletePerson(org, pid string) ([]FaceRef, error) {
	if err := checkID("org", org); err != nil {
		return nil, err
	}
	if err := checkID("person", pid); err != nil {
		return nil, err
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()

	var colls []collRecord
	if err := s.view(func(txn *badger.Txn) (err error) {
		colls, err = listColls(txn, org)
		return err
	}); err != nil {
		return nil, fmt.Errorf("store: delete person: %w", err)
	}
	var locks []int
	for _, c := range colls {
		locks = append(locks, s.collLockIndex(org, c.ID))
	}
	slices.Sort(locks)
	locks = slices.Compact(locks)
	for _, i := range locks {
		s.collLocks[i].Lock()
	}
	defer func() {
		for _, i := range locks {
			s.collLocks[i].Unlock()
		}
	}()

	var removed []FaceRef
	err := s.update(func(txn *badger.Txn) error {
		removed = removed[:0]
		// The fence: a collection created, or a face added anywhere in org, after this
		// transaction's snapshot makes it conflict.
		if _, err := exists(txn, globalKey(gGen)); err != nil {
			return err
		}
		colls, err := listColls(txn, org)
		if err != nil {
			return err
		}
		live := make(map[string]uint64, len(colls))
		for _, c := range colls {
			live[c.ID] = c.Gen
			if _, err := getState(txn, org, c.Gen); err != nil {
				return err
			}
		}
		var rec personRecord
		err = getPerson(txn, org, pid, &rec)
		hasRecord := err == nil
		if err != nil && !isNotFound(err) {
			return err
		}
		pfs, err := listPersonFaces(txn, org, pid)
		if err != nil {
			return err
		}
		if testHookDeletePerson != nil {
			testHookDeletePerson()
		}
		if !hasRecord && len(pfs) == 0 {
			return fmt.Errorf("person %q: %w", pid, ErrNotFound)
		}
		// Delete changes go to each live collection's log as one group, in RecordID order.
		groups := map[uint64][]int{} // gen -> indexes into removed
		for _, pf := range pfs {
			h, err := readFaceHeader(txn, org, pf.gen, pf.rid)
			switch {
			case isNotFound(err): // a link without its face: drop the link
				if err := txn.Delete(personFaceKey(org, pid, pf.gen, pf.rid)); err != nil {
					return err
				}
				continue
			case err != nil:
				return err
			}
			if err := deleteFaceKeys(txn, org, pf.gen, pf.rid, h); err != nil {
				return err
			}
			if live[pf.coll] == pf.gen { // a dying collection's sweep needs no log entry
				groups[pf.gen] = append(groups[pf.gen], len(removed))
			}
			removed = append(removed, FaceRef{CollectionID: pf.coll, RecordID: pf.rid})
		}
		for gen, idx := range groups {
			group := make([]byte, len(idx)*changeSize)
			for i, r := range idx {
				putChange(group[i*changeSize:], OpDelete, removed[r].RecordID)
			}
			last, err := appendChanges(txn, org, gen, group, len(idx), -len(idx))
			if err != nil {
				return err
			}
			for i, r := range idx {
				removed[r].Seq = last - uint64(len(idx)-1-i)
			}
		}
		if hasRecord && rec.ExternalID != "" {
			if err := txn.Delete(externalKey(org, rec.ExternalID)); err != nil {
				return err
			}
		}
		return txn.Delete(personKey(org, pid))
	})
	if err != nil {
		return nil, fmt.Errorf("store: delete person: %w", err)
	}
	return removed, nil
}
